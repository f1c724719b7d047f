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

/// <summary>
/// Runs requests: checks them, waits for the function's concurrency limit, acquires an instance from the pools,
/// invokes it under the function's timeout and returns the instance, recording metrics and a span.
/// </summary>
/// <remarks>
/// Around that path: requests to idempotent functions go through the <see cref="IdempotencyCoordinator"/> (stored
/// results, single flight), functions with sidecars get them started beside the instance and bound to it
/// (<see cref="SidecarManager"/>), and calls by capability are ranked by the <see cref="CapabilityRouter"/>, whose cost
/// model learns from every successful call here.
/// </remarks>
internal sealed class FunctionExecutor : IFunctionExecutor, ICapabilityInvoker
{
    private readonly IFunctionCatalog _catalog;
    private readonly PoolManager _pool;
    private readonly OnDemandExecutionOptions _options;
    private readonly TimeProvider _time;
    private readonly OnDemandMetrics _metrics;
    private readonly IKeepAlivePolicy _keepAlive;
    private readonly IInvocationObserver[] _observers;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, FunctionGate> _gates = new(StringComparer.Ordinal);
    private readonly Func<string, FunctionDefinition, FunctionGate> _createGate;
    private readonly SidecarManager _sidecars;
    private readonly CapabilityRouter _router;
    private readonly IdempotencyCoordinator _idempotency;
    private readonly Func<FunctionDefinition, InvocationRequest, CancellationToken, ValueTask<InvocationResult>> _invokeCore;

    public FunctionExecutor(
        IFunctionCatalog catalog,
        PoolManager pool,
        IOptions<OnDemandExecutionOptions> options,
        TimeProvider timeProvider,
        OnDemandMetrics metrics,
        IKeepAlivePolicy keepAlivePolicy,
        IEnumerable<IInvocationObserver> observers,
        ILoggerFactory? loggerFactory = null,
        SidecarManager? sidecars = null,
        CapabilityRouter? router = null,
        IdempotencyCoordinator? idempotency = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(keepAlivePolicy);
        _keepAlive = keepAlivePolicy;
        ArgumentNullException.ThrowIfNull(observers);
        _observers = observers.ToArray();
        _catalog = catalog;
        _pool = pool;
        _options = options.Value;
        _time = timeProvider;
        _metrics = metrics;
        _logger = (ILogger?)loggerFactory?.CreateLogger<FunctionExecutor>() ?? NullLogger.Instance;
        _createGate = (name, f) =>
        {
            var tag = new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.FunctionNameTag, name);
            return new FunctionGate(
                name,
                f.MaxConcurrency ?? _options.DefaultMaxConcurrency,
                f.MaxQueueLength ?? _options.DefaultMaxQueueLength,
                delta => _metrics.QueueLength.Add(delta, tag));
        };
        _sidecars = sidecars ?? new SidecarManager(pool, options, metrics, loggerFactory);
        _router = router ?? new CapabilityRouter(catalog, pool, new ExecutionCostModel(Options.Create(new CapabilityOptions())), options);
        _idempotency = idempotency ?? new IdempotencyCoordinator(
            new MemoryIdempotencyCache(Options.Create(new IdempotencyOptions()), timeProvider), new InMemoryDependencyStateProvider(), timeProvider, metrics, loggerFactory);
        _invokeCore = InvokeCoreAsync;
    }

    /// <summary>The sidecars of the running functions (for tests and diagnostics).</summary>
    internal SidecarManager Sidecars => _sidecars;

    /// <summary>The ranking of calls by capability (for tests and diagnostics).</summary>
    internal CapabilityRouter Router => _router;

    /// <summary>The idempotent-request path (for tests and diagnostics).</summary>
    internal IdempotencyCoordinator Idempotency => _idempotency;

    /// <summary>The gate of a function, for tests and diagnostics.</summary>
    internal FunctionGate GetGate(FunctionDefinition function) => _gates.GetOrAdd(function.Name, _createGate, function);

    public async ValueTask<InvocationResult> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_catalog.TryGetFunction(request.FunctionName, out var function))
        {
            throw new FunctionNotFoundException($"No function named '{request.FunctionName}' is registered. Register it with AddFunction(...) or IFunctionCatalog.Register(...).")
            {
                FunctionName = request.FunctionName,
            };
        }

        var maxPayload = function.MaxPayloadBytes ?? _options.DefaultMaxPayloadBytes;
        if (request.Payload.Length > maxPayload)
        {
            throw new PayloadTooLargeException($"The payload of {request.Payload.Length} bytes exceeds the {maxPayload}-byte limit of function '{function.Name}' (MaxPayloadBytes).")
            {
                FunctionName = function.Name,
                PayloadBytes = request.Payload.Length,
                LimitBytes = maxPayload,
            };
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (function.Idempotency is not null)
        {
            return await _idempotency.InvokeAsync(function, request, _invokeCore, cancellationToken).ConfigureAwait(false);
        }

        return await InvokeCoreAsync(function, request, cancellationToken).ConfigureAwait(false);
    }

    public IReadOnlyList<CapabilityCandidate> Rank(string capability, TenantId tenant = default) => _router.Rank(capability, tenant);

    public async ValueTask<CapabilityInvocationResult> InvokeAsync(string capability, ReadOnlyMemory<byte> payload, TenantId tenant = default, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(capability);
        tenant = tenant.IsEmpty ? TenantId.Default : tenant;
        var ranked = _router.Rank(capability, tenant);
        if (ranked.Count == 0)
        {
            throw new CapabilityNotFoundException($"No registered function provides capability '{capability}'. Declare it in FunctionDefinition.Capabilities of a function.")
            {
                Capability = capability,
            };
        }

        var chosen = ranked[0];
        using var activity = OnDemandMetrics.ActivitySource.StartActivity(OnDemandExecutionDiagnostics.CapabilityInvokeActivity);
        if (activity is not null)
        {
            activity.SetTag(OnDemandExecutionDiagnostics.CapabilityTag, capability);
            activity.SetTag(OnDemandExecutionDiagnostics.FunctionNameTag, chosen.FunctionName);
            activity.SetTag(OnDemandExecutionDiagnostics.TenantTag, tenant.Value);
            activity.SetTag(OnDemandExecutionDiagnostics.StartKindTag, OnDemandMetrics.StartKindName(chosen.ExpectedStart));
        }

        _metrics.CapabilitySelections.Add(
            1,
            new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.CapabilityTag, capability),
            new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.FunctionNameTag, chosen.FunctionName),
            new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.StartKindTag, OnDemandMetrics.StartKindName(chosen.ExpectedStart)));
        Log.CapabilitySelected(_logger, capability, tenant.Value, chosen.FunctionName, OnDemandMetrics.StartKindName(chosen.ExpectedStart), chosen.TotalCost.TotalMilliseconds, ranked.Count);
        try
        {
            var result = await InvokeAsync(new InvocationRequest(chosen.FunctionName, payload, tenant), cancellationToken).ConfigureAwait(false);
            return new CapabilityInvocationResult(chosen.FunctionName, chosen, result);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
    }

    /// <summary>Steps 4 to 10 of the data path (docs/executor.md) for an accepted request.</summary>
    private async ValueTask<InvocationResult> InvokeCoreAsync(FunctionDefinition function, InvocationRequest request, CancellationToken cancellationToken)
    {
        _keepAlive.OnInvocation(function, request.Tenant);
        Notify(function, request, result: null, error: null, starting: true);
        var started = _time.GetTimestamp();
        using var activity = OnDemandMetrics.ActivitySource.StartActivity(OnDemandExecutionDiagnostics.InvokeActivity);
        if (activity is not null)
        {
            activity.SetTag(OnDemandExecutionDiagnostics.FunctionNameTag, function.Name);
            activity.SetTag(OnDemandExecutionDiagnostics.TenantTag, request.Tenant.Value);
            activity.SetTag(OnDemandExecutionDiagnostics.InvocationIdTag, request.InvocationId);
        }

        var outcome = "success";
        StartKind? kind = null;
        InvocationResult? result = null;
        Exception? error = null;
        SidecarAttachment? sidecars = null;
        try
        {
            var gate = GetGate(function);
            await gate.EnterAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var queueWait = _time.GetElapsedTime(started);

                // Sidecars start beside the primary instance (from the pools too), and must be ready before it runs.
                sidecars = _sidecars.Attach(function, request.Tenant);
                var lease = await _pool.AcquireAsync(function, request.Tenant, cancellationToken).ConfigureAwait(false);
                if (sidecars is not null)
                {
                    try
                    {
                        await sidecars.WaitReadyAsync(cancellationToken).ConfigureAwait(false);
                        sidecars.Bind(lease.Instance.Id);
                    }
                    catch
                    {
                        _pool.Release(lease.Slot, keep: true, "released", _keepAlive.OnCompleted(function, request.Tenant));
                        throw;
                    }
                }

                kind = lease.Kind;
                activity?.SetTag(OnDemandExecutionDiagnostics.StartKindTag, OnDemandMetrics.StartKindName(lease.Kind));
                activity?.SetTag(OnDemandExecutionDiagnostics.InstanceTag, lease.Instance.Id);
                var executionStarted = _time.GetTimestamp();
                var output = await RunAsync(function, request, lease, sidecars, cancellationToken).ConfigureAwait(false);
                var now = _time.GetTimestamp();
                var timings = new InvocationTimings(
                    queueWait,
                    lease.Provisioning,
                    lease.CodeLoad,
                    _time.GetElapsedTime(executionStarted, now),
                    _time.GetElapsedTime(started, now));
                result = new InvocationResult(output, lease.Kind, timings, lease.Instance.Id, request.InvocationId);
                _router.Costs.Record(function.Name, lease.Kind, timings);
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

            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
        finally
        {
            sidecars?.Detach();
            activity?.SetTag(OnDemandExecutionDiagnostics.OutcomeTag, outcome);
            var tags = new TagList
            {
                { OnDemandExecutionDiagnostics.FunctionNameTag, function.Name },
                { OnDemandExecutionDiagnostics.StartKindTag, kind is { } k ? OnDemandMetrics.StartKindName(k) : "none" },
                { OnDemandExecutionDiagnostics.OutcomeTag, outcome },
            };
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
        InstanceProviderException => "provider_error",
        _ => "error",
    };

    /// <summary>Invokes the leased instance under the function's timeout and returns it to the pool exactly once.</summary>
    private async ValueTask<ReadOnlyMemory<byte>> RunAsync(FunctionDefinition function, InvocationRequest request, PoolLease lease, SidecarAttachment? sidecars, CancellationToken cancellationToken)
    {
        // What the handler-facing API (FunctionContextExtensions) trusts; restored when this method returns, and marked
        // ended so that work the handler leaves behind cannot act for this invocation any more.
        var frame = new InvocationFrame(request, this, sidecars);
        InvocationFrame.Current = frame;
        var timeout = function.Timeout ?? _options.DefaultTimeout;
        using var timeoutSource = new CancellationTokenSource(timeout, _time);
        using var callerRegistration = cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), timeoutSource);
        var token = timeoutSource.Token;

        var keep = true;
        var reason = "released";
        Task<ReadOnlyMemory<byte>>? pending = null;
        try
        {
            var call = lease.Instance.InvokeAsync(request, token);
            if (call.IsCompletedSuccessfully)
            {
                return call.Result;
            }

            pending = call.AsTask();

            // WaitAsync returns when the token fires even if the function ignores it; the instance is then abandoned
            // (kept if the call later ends by honouring the token, destroyed otherwise: see ReleaseWhenDone).
            var output = await pending.WaitAsync(token).ConfigureAwait(false);
            pending = null;
            return output;
        }
        catch (OperationCanceledException ex) when (token.IsCancellationRequested)
        {
            if (pending is { IsCompleted: false })
            {
                _pool.ReleaseWhenDone(lease.Slot, pending, _keepAlive.OnCompleted(function, request.Tenant));
                pending = null;
                keep = false;
                reason = "abandoned";
            }
            else
            {
                // The call ended while we gave up on it: its outcome decides the instance's fate.
                keep = pending is null || PoolManager.CallLeftInstanceUsable(pending);
                reason = keep ? "released" : "died";
                pending = null;
            }

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
        catch (Exception ex)
        {
            pending = null;
            keep = false;
            reason = "provider fault";
            if (ex is OperationCanceledException)
            {
                // Cancelled by something other than our token: the function's own fault.
                keep = true;
                Log.FunctionFailed(_logger, function.Name, request.InvocationId, ex);
                throw new FunctionExecutionException($"Function '{function.Name}' was cancelled by its own code: {ex.Message}", ex) { FunctionName = function.Name };
            }

            Log.ProviderFault(_logger, function.Name, lease.Instance.Id, request.InvocationId, ex);
            throw new InstanceProviderException($"Provider '{_pool.Provider.Name}' failed while running function '{function.Name}' on instance {lease.Instance.Id}: {ex.Message}", ex)
            {
                FunctionName = function.Name,
                ProviderName = _pool.Provider.Name,
            };
        }
        finally
        {
            frame.End();
            if (reason != "abandoned")
            {
                _pool.Release(lease.Slot, keep, reason, _keepAlive.OnCompleted(function, request.Tenant));
            }
        }
    }
}
