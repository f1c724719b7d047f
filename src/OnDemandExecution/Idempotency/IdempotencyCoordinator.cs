using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OnDemandExecution.Diagnostics;

namespace OnDemandExecution.Idempotency;

/// <summary>
/// Serves requests to idempotent functions: reads their dependencies' states, returns a stored result when the same
/// input met the same states at a prior success, else executes once for all identical requests in flight (single
/// flight) and stores the result if the states did not change meanwhile.
/// </summary>
internal sealed class IdempotencyCoordinator
{
    private readonly ConcurrentDictionary<string, Task<InvocationResult>> _flights = new(StringComparer.Ordinal);
    private readonly IIdempotencyCache _cache;
    private readonly IDependencyStateProvider _states;
    private readonly TimeProvider _time;
    private readonly OnDemandMetrics _metrics;
    private readonly ILogger _logger;
    private long _executions;
    private long _coalesced;

    public IdempotencyCoordinator(IIdempotencyCache cache, IDependencyStateProvider states, TimeProvider timeProvider, OnDemandMetrics metrics, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(states);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(metrics);
        _cache = cache;
        _states = states;
        _time = timeProvider;
        _metrics = metrics;
        _logger = (ILogger?)loggerFactory?.CreateLogger<IdempotencyCoordinator>() ?? NullLogger.Instance;
    }

    /// <summary>Executions started for cacheable requests (misses), for tests and the sample.</summary>
    public long Executions => Interlocked.Read(ref _executions);

    /// <summary>Requests that joined an identical request's execution, for tests and the sample.</summary>
    public long Coalesced => Interlocked.Read(ref _coalesced);

    public async ValueTask<InvocationResult> InvokeAsync(
        FunctionDefinition definition,
        InvocationRequest request,
        Func<FunctionDefinition, InvocationRequest, CancellationToken, ValueTask<InvocationResult>> execute,
        CancellationToken cancellationToken)
    {
        var idempotency = definition.Idempotency!;
        var started = _time.GetTimestamp();
        using var activity = OnDemandMetrics.ActivitySource.StartActivity(OnDemandExecutionDiagnostics.IdempotentInvokeActivity);
        activity?.SetTag(OnDemandExecutionDiagnostics.FunctionNameTag, definition.Name);
        activity?.SetTag(OnDemandExecutionDiagnostics.TenantTag, request.Tenant.Value);
        activity?.SetTag(OnDemandExecutionDiagnostics.InvocationIdTag, request.InvocationId);
        while (true)
        {
            var states = await ReadStatesAsync(definition, idempotency, request.Tenant, cancellationToken).ConfigureAwait(false);
            if (states is null)
            {
                Count(activity, "uncacheable");
                return await execute(definition, request, cancellationToken).ConfigureAwait(false);
            }

            var key = ComputeKey(definition, request, idempotency, states);
            if (await GetAsync(definition, key, cancellationToken).ConfigureAwait(false) is { } stored)
            {
                Count(activity, "hit");
                return Replay(definition, stored, request, ResultOrigin.Cached, started);
            }

            var flight = new TaskCompletionSource<InvocationResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            var current = _flights.GetOrAdd(key, flight.Task);
            if (current != flight.Task)
            {
                Interlocked.Increment(ref _coalesced);
                InvocationResult shared;
                try
                {
                    shared = await current.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    continue; // the request we joined was cancelled by its own caller: not our outcome, try again
                }

                Count(activity, "coalesced");
                return Replay(definition, new StoredResult(shared.Output, shared.StartKind, shared.InstanceId, null), request, ResultOrigin.Coalesced, started);
            }

            return await LeadAsync(definition, request, idempotency, key, states, flight, execute, activity, started, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<InvocationResult> LeadAsync(
        FunctionDefinition definition,
        InvocationRequest request,
        IdempotencyDefinition idempotency,
        string key,
        string[] states,
        TaskCompletionSource<InvocationResult> flight,
        Func<FunctionDefinition, InvocationRequest, CancellationToken, ValueTask<InvocationResult>> execute,
        Activity? activity,
        long started,
        CancellationToken cancellationToken)
    {
        try
        {
            InvocationResult result;

            // An identical flight may have stored its result between our lookup and our GetOrAdd.
            if (await GetAsync(definition, key, cancellationToken).ConfigureAwait(false) is { } stored)
            {
                Count(activity, "hit");
                result = Replay(definition, stored, request, ResultOrigin.Cached, started);
            }
            else
            {
                Count(activity, "miss");
                Interlocked.Increment(ref _executions);
                result = await execute(definition, request, cancellationToken).ConfigureAwait(false);

                // Store only if no dependency changed while it ran: the result may have read either state.
                var after = await ReadStatesAsync(definition, idempotency, request.Tenant, cancellationToken).ConfigureAwait(false);
                if (after is not null && after.AsSpan().SequenceEqual(states))
                {
                    DateTimeOffset? expires = idempotency.ResultTimeToLive is { } ttl && ttl != Timeout.InfiniteTimeSpan ? _time.GetUtcNow() + ttl : null;
                    await SetAsync(definition, key, new StoredResult(result.Output.ToArray(), result.StartKind, result.InstanceId, expires), cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    Log.IdempotentStoreSkipped(_logger, definition.Name, request.InvocationId);
                }
            }

            // Stored first, then the flight ends: a request arriving now finds one or the other.
            _flights.TryRemove(new KeyValuePair<string, Task<InvocationResult>>(key, flight.Task));
            flight.TrySetResult(result);
            return result;
        }
        catch (Exception ex)
        {
            _flights.TryRemove(new KeyValuePair<string, Task<InvocationResult>>(key, flight.Task));
            flight.TrySetException(ex);
            _ = flight.Task.Exception; // observed even when nobody joined
            throw;
        }
    }

    private void Count(Activity? activity, string result)
    {
        activity?.SetTag(OnDemandExecutionDiagnostics.IdempotencyResultTag, result);
        _metrics.IdempotencyRequests.Add(1, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.IdempotencyResultTag, result));
    }

    private InvocationResult Replay(FunctionDefinition definition, StoredResult stored, InvocationRequest request, ResultOrigin origin, long started)
    {
        Log.IdempotentReplay(_logger, definition.Name, request.InvocationId, origin == ResultOrigin.Cached ? "the result cache" : "a concurrent identical request");
        var total = _time.GetElapsedTime(started);
        return new InvocationResult(stored.Output, stored.StartKind, new InvocationTimings(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, total), stored.InstanceId, request.InvocationId)
        {
            Origin = origin,
        };
    }

    /// <summary>The states of every dependency, in declared order; null when one is unknown or could not be read.</summary>
    private async ValueTask<string[]?> ReadStatesAsync(FunctionDefinition definition, IdempotencyDefinition idempotency, TenantId tenant, CancellationToken cancellationToken)
    {
        var dependencies = idempotency.Dependencies;
        var states = new string[dependencies.Count];
        for (var i = 0; i < states.Length; i++)
        {
            try
            {
                var state = await _states.GetStateAsync(dependencies[i], tenant, cancellationToken).ConfigureAwait(false);
                if (state is null)
                {
                    return null;
                }

                states[i] = state;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.DependencyStateFailed(_logger, definition.Name, dependencies[i], ex);
                return null;
            }
        }

        return states;
    }

    private async ValueTask<StoredResult?> GetAsync(FunctionDefinition definition, string key, CancellationToken cancellationToken)
    {
        try
        {
            return await _cache.GetAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.IdempotencyCacheFailed(_logger, definition.Name, ex);
            return null;
        }
    }

    private async ValueTask SetAsync(FunctionDefinition definition, string key, StoredResult result, CancellationToken cancellationToken)
    {
        try
        {
            await _cache.SetAsync(key, result, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.IdempotencyCacheFailed(_logger, definition.Name, ex);
        }
    }

    /// <summary>SHA-256 over length-prefixed fields: function, tenant, input, then each dependency's name and state.</summary>
    internal static string ComputeKey(FunctionDefinition definition, InvocationRequest request, IdempotencyDefinition idempotency, string[] states)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(hash, definition.Name);
        Append(hash, request.Tenant.Value);
        AppendBytes(hash, request.Payload.Span);
        hash.AppendData(BitConverter.GetBytes(states.Length));
        for (var i = 0; i < states.Length; i++)
        {
            Append(hash, idempotency.Dependencies[i]);
            Append(hash, states[i]);
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static void Append(IncrementalHash hash, string value) => AppendBytes(hash, Encoding.UTF8.GetBytes(value));

    private static void AppendBytes(IncrementalHash hash, ReadOnlySpan<byte> value)
    {
        Span<byte> length = stackalloc byte[4];
        BitConverter.TryWriteBytes(length, value.Length);
        hash.AppendData(length);
        hash.AppendData(value);
    }
}
