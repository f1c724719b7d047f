using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OnDemandExecution.Capabilities;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Idempotency;
using OnDemandExecution.Pooling;
using OnDemandExecution.Sidecars;

namespace OnDemandExecution.Execution;

/// <summary>The accepted-request path: acquire, invoke under the timeout, release exactly once, report.</summary>
internal sealed partial class FunctionExecutor
{
    /// <summary>Steps 4 to 10 of the data path (docs/executor.md) for an accepted request.</summary>
    private async ValueTask<InvocationResult> InvokeCoreAsync(FunctionDefinition function, InvocationRequest request, CancellationToken cancellationToken)
    {
        _keepAlive.OnInvocation(function, request.Tenant);
        Notify(function, request, result: null, error: null, starting: true);
        var started = _time.GetTimestamp();
        using var activity = OnDemandMetrics.ActivitySource.StartActivity(OnDemandExecutionDiagnostics.InvokeActivity);
        if (activity is not null)
        {
            activity.DisplayName = function.Name; // FaaS conventions: the span is named after the function
            activity.SetTag(OnDemandExecutionDiagnostics.TriggerTag, "other");
            activity.SetTag(OnDemandExecutionDiagnostics.FunctionNameTag, function.Name);
            activity.SetTag(OnDemandExecutionDiagnostics.TenantTag, request.Tenant.Value);
            activity.SetTag(OnDemandExecutionDiagnostics.InvocationIdTag, request.InvocationId);
        }

        var outcome = "success";
        StartKind? kind = null;
        InvocationResult? result = null;
        Exception? error = null;
        SidecarAttachment? sidecars = null;
        TenantCallLimiter.Counter? tenantCalls = null;
        try
        {
            tenantCalls = _tenantCalls.Enter(request.Tenant, function.Name);
            var gate = GetGate(function);
            await gate.EnterAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var queueWait = _time.GetElapsedTime(started);

                // Sidecars start beside the primary instance (from the pools too), and must be ready before it runs.
                sidecars = _sidecars.Attach(function, request.Tenant);
                var pool = gate.Pool!;
                var lease = await pool.AcquireAsync(function, request.Tenant, cancellationToken).ConfigureAwait(false);
                if (sidecars is not null)
                {
                    try
                    {
                        await sidecars.WaitReadyAsync(cancellationToken).ConfigureAwait(false);
                        sidecars.Bind(lease.Instance.Id);
                    }
                    catch
                    {
                        pool.Release(lease.Slot, keep: true, "released", _keepAlive.OnCompleted(function, request.Tenant));
                        throw;
                    }
                }

                kind = lease.Kind;
                activity?.SetTag(OnDemandExecutionDiagnostics.StartKindTag, OnDemandMetrics.StartKindName(lease.Kind));
                activity?.SetTag(OnDemandExecutionDiagnostics.InstanceTag, lease.Instance.Id);
                activity?.SetTag(OnDemandExecutionDiagnostics.ColdStartTag, lease.Kind != StartKind.Warm);
                var executionStarted = _time.GetTimestamp();
                var output = await RunAsync(pool, function, request, lease, sidecars, cancellationToken).ConfigureAwait(false);
                var now = _time.GetTimestamp();
                var timings = new InvocationTimings(
                    queueWait,
                    lease.Provisioning,
                    lease.CodeLoad,
                    _time.GetElapsedTime(executionStarted, now),
                    _time.GetElapsedTime(started, now));
                result = new InvocationResult(output, lease.Kind, timings, lease.Instance.Id, request.InvocationId);
                if (function.Capabilities.Count > 0)
                {
                    _router.Costs.Record(function.Name, lease.Kind, timings); // ranks calls by capability: only those functions are ranked
                }
                return result;
            }
            finally
            {
                gate.Exit();
            }
        }
        catch (Exception ex)
        {
            error = ex;
            outcome = OutcomeOf(ex, cancellationToken);
            if (ex is QueueFullException q)
            {
                Log.QueueFull(_logger, function.Name, q.QueueLength);
            }

            activity.Fail(ex);
            throw;
        }
        finally
        {
            if (tenantCalls is not null)
            {
                TenantCallLimiter.Exit(tenantCalls);
            }

            sidecars?.Detach();
            activity?.SetTag(OnDemandExecutionDiagnostics.OutcomeTag, outcome);
            var tags = new TagList
            {
                { OnDemandExecutionDiagnostics.FunctionNameTag, function.Name },
                { OnDemandExecutionDiagnostics.StartKindTag, kind is { } k ? OnDemandMetrics.StartKindName(k) : "none" },
                { OnDemandExecutionDiagnostics.OutcomeTag, outcome },
            };
            if (error is not null)
            {
                tags.Add(OnDemandExecutionDiagnostics.ErrorTypeTag, error.GetType().FullName);
            }

            _metrics.Invocations.Add(1, tags);
            _metrics.InvocationDuration.Record(_time.GetElapsedTime(started).TotalSeconds, tags);
            Notify(function, request, result, error, starting: false);
        }
    }

    private void Notify(FunctionDefinition function, InvocationRequest request, InvocationResult? result, Exception? error, bool starting)
    {
        foreach (var observer in _observers)
        {
            try
            {
                if (starting)
                {
                    observer.OnInvocationStarting(function, request);
                }
                else
                {
                    observer.OnInvocationCompleted(function, request, result, error);
                }
            }
            catch (Exception ex)
            {
                Log.ObserverFailed(_logger, observer.GetType().Name, ex);
            }
        }
    }

    private static string OutcomeOf(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        OperationCanceledException when cancellationToken.IsCancellationRequested => "cancelled",
        InvocationTimeoutException => "timeout",
        QueueFullException => "queue_full",
        FunctionExecutionException => "function_error",
        InstanceDiedException => "instance_died",
        InstanceCapacityExceededException => "capacity",
        TenantLimitExceededException => "tenant_limit",
        InstanceProviderException => "provider_error",
        _ => "error",
    };

    /// <summary>Invokes the leased instance under the function's timeout and returns it to the pool exactly once.</summary>
    private async ValueTask<ReadOnlyMemory<byte>> RunAsync(PoolManager pool, FunctionDefinition function, InvocationRequest request, PoolLease lease, SidecarAttachment? sidecars, CancellationToken cancellationToken)
    {
        // What the handler-facing API (FunctionContextExtensions) trusts; restored when this method returns, and marked
        // ended so that work the handler leaves behind cannot act for this invocation any more. Only a handler that runs
        // in this process (or a function with sidecars) can reach it: providers that isolate their instances get none.
        var frame = pool.HandlersRunInProcess || sidecars is not null ? new InvocationFrame(request, this, sidecars) : null;

        // The built-in in-process instance takes the frame into the context it creates (InvocationFrame.Offer/Take);
        // the ambient AsyncLocal, which copies the ExecutionContext on every call, is set only where something reads it
        // without a context: sidecar handles, and handlers of other providers that run in this process.
        if (frame is not null && (sidecars is not null || pool.Provider is not InProcess.InProcessInstanceProvider))
        {
            InvocationFrame.Current = frame;
        }

        var timeout = function.Timeout ?? _options.DefaultTimeout;
        CancellationTokenSource? timeoutSource = null;
        CancellationTokenRegistration callerRegistration = default;
        var token = CancellationToken.None;

        var keep = true;
        var reason = "released";
        Task<ReadOnlyMemory<byte>>? pending = null;
        try
        {
            // Inside the try: whatever fails from here on, the finally below still returns the instance.
            timeoutSource = TimeoutSources.Rent(_time, timeout);
            callerRegistration = cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), timeoutSource);
            token = timeoutSource.Token;
            InvocationFrame.Offer(frame);
            ValueTask<ReadOnlyMemory<byte>> call;
            try
            {
                call = lease.Instance.InvokeAsync(request, token);
            }
            finally
            {
                InvocationFrame.Offer(null); // never left for another instance's call on this thread
            }

            if (call.IsCompletedSuccessfully)
            {
                return call.Result;
            }

            pending = call.AsTask();

            // WaitAsync returns when the token fires even if the function ignores it; the instance is then returned in
            // the background (see PoolManager.ReleaseAfterInterrupt).
            var output = await pending.WaitAsync(token).ConfigureAwait(false);
            pending = null;
            return output;
        }
        catch (OperationCanceledException ex) when (token.IsCancellationRequested)
        {
            // Timed out or cancelled: the instance is reused only if its provider confirms the work stopped (in the
            // background; this caller does not wait for it). A call that already ended passes on its outcome.
            var running = pending is { IsCompleted: false } ? pending : null;
            var endedUsable = running is null && (pending is null || PoolManager.CallLeftInstanceUsable(pending));
            pool.ReleaseAfterInterrupt(lease.Slot, running, endedUsable, _keepAlive.OnCompleted(function, request.Tenant));
            pending = null;
            reason = "abandoned";

            if (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The invocation was cancelled by the caller.", ex, cancellationToken);
            }

            Log.InvocationTimedOut(_logger, function.Name, timeout.TotalMilliseconds, lease.Instance.Id, request.InvocationId);
            throw new InvocationTimeoutException($"Function '{function.Name}' did not finish within its timeout of {timeout}.", ex)
            {
                FunctionName = function.Name,
                Timeout = timeout,
            };
        }
        catch (FunctionExecutionException ex)
        {
            pending = null;
            Log.FunctionFailed(_logger, function.Name, request.InvocationId, ex);
            throw;
        }
        catch (InstanceDiedException ex)
        {
            pending = null;
            keep = false;
            reason = "died";
            Log.InstanceDied(_logger, lease.Instance.Id, function.Name, request.InvocationId, ex);
            throw;
        }
        catch (Exception) when (timeoutSource is null)
        {
            throw; // the timeout could not be armed: the instance never ran anything and goes back as it was
        }
        catch (Exception ex)
        {
            pending = null;
            keep = false;
            reason = "provider_fault";
            if (ex is OperationCanceledException)
            {
                // Cancelled by something other than our token: the function's own fault.
                keep = true;
                Log.FunctionFailed(_logger, function.Name, request.InvocationId, ex);
                throw new FunctionExecutionException($"Function '{function.Name}' was cancelled by its own code: {ex.Message}", ex) { FunctionName = function.Name };
            }

            Log.ProviderFault(_logger, function.Name, lease.Instance.Id, request.InvocationId, ex);
            throw new InstanceProviderException($"Provider '{pool.Provider.Name}' failed while running function '{function.Name}' on instance {lease.Instance.Id}: {ex.Message}", ex)
            {
                FunctionName = function.Name,
                ProviderName = pool.Provider.Name,
            };
        }
        finally
        {
            frame?.End();
            callerRegistration.Dispose(); // before the source is reset: a late cancellation by the caller cannot reach a reused one
            if (timeoutSource is not null)
            {
                TimeoutSources.Return(timeoutSource, reusable: reason != "abandoned", _time);
            }
            if (reason != "abandoned")
            {
                pool.Release(lease.Slot, keep, reason, _keepAlive.OnCompleted(function, request.Tenant));
            }
        }
    }
}
