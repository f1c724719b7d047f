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
internal sealed partial class FunctionExecutor : IFunctionExecutor, ICapabilityInvoker
{
    private readonly IFunctionCatalog _catalog;
    private readonly ProviderPools _pools;
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
    private readonly TenantCallLimiter _tenantCalls;

    public FunctionExecutor(
        IFunctionCatalog catalog,
        ProviderPools pools,
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
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(keepAlivePolicy);
        _keepAlive = keepAlivePolicy;
        ArgumentNullException.ThrowIfNull(observers);
        _observers = observers.ToArray();
        _catalog = catalog;
        if (catalog is FunctionCatalog changing)
        {
            // A replaced or removed function gets fresh limits and pool on its next call (calls holding the old gate finish on it).
            changing.FunctionChanged += name => _gates.TryRemove(name, out _);
        }

        _pools = pools;
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
                delta => _metrics.QueueLength.Add(delta, tag))
            {
                Pool = _pools.For(f),
            };
        };
        _sidecars = sidecars ?? new SidecarManager(pools, options, metrics, loggerFactory);
        _router = router ?? new CapabilityRouter(catalog, pools, new ExecutionCostModel(Options.Create(new CapabilityOptions())), options);
        _idempotency = idempotency ?? new IdempotencyCoordinator(
            new MemoryIdempotencyCache(Options.Create(new IdempotencyOptions()), timeProvider), new InMemoryDependencyStateProvider(), timeProvider, metrics, loggerFactory);
        _invokeCore = InvokeCoreAsync;
        _tenantCalls = new TenantCallLimiter(_options.CallsPerTenantLimit);
    }

    /// <summary>The sidecars of the running functions (for tests and diagnostics).</summary>
    internal SidecarManager Sidecars => _sidecars;

    /// <summary>The ranking of calls by capability (for tests and diagnostics).</summary>
    internal CapabilityRouter Router => _router;

    /// <summary>The idempotent-request path (for tests and diagnostics).</summary>
    internal IdempotencyCoordinator Idempotency => _idempotency;

    /// <summary>The per-tenant call counts (for tests and diagnostics).</summary>
    internal TenantCallLimiter TenantCalls => _tenantCalls;

    /// <summary>The gate of a function, for tests and diagnostics.</summary>
    internal FunctionGate GetGate(FunctionDefinition function) => _gates.GetOrAdd(function.Name, _createGate, function);

    public async ValueTask<InvocationResult> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_catalog.TryGetFunction(request.FunctionName, out var function))
        {
            CountRejection(null, request, "not_found");
            throw new FunctionNotFoundException($"No function named '{request.FunctionName}' is registered. Register it with AddFunction(...) or IFunctionCatalog.Register(...).")
            {
                FunctionName = request.FunctionName,
            };
        }

        var maxPayload = function.MaxPayloadBytes ?? _options.DefaultMaxPayloadBytes;
        if (request.Payload.Length > maxPayload)
        {
            CountRejection(function.Name, request, "payload_too_large");
            throw new PayloadTooLargeException($"The payload of {request.Payload.Length} bytes exceeds the {maxPayload}-byte limit of function '{function.Name}' (MaxPayloadBytes).")
            {
                FunctionName = function.Name,
                PayloadBytes = request.Payload.Length,
                LimitBytes = maxPayload,
            };
        }

        if (cancellationToken.IsCancellationRequested)
        {
            CountRejection(function.Name, request, "cancelled");
            cancellationToken.ThrowIfCancellationRequested();
        }

        if (function.Idempotency is not null)
        {
            return await _idempotency.InvokeAsync(function, request, _invokeCore, cancellationToken).ConfigureAwait(false);
        }

        return await InvokeCoreAsync(function, request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Counts a request refused before it started in <c>ondemand.invocations</c> under its outcome, so error rates include
    /// it. An unknown function's name comes from the caller, so it is tagged <see cref="UnknownFunctionTag"/> (bounded
    /// cardinality) and only logged in full.
    /// </summary>
    private void CountRejection(string? functionName, InvocationRequest request, string outcome)
    {
        _metrics.Invocations.Add(
            1,
            new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.FunctionNameTag, functionName ?? UnknownFunctionTag),
            new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.StartKindTag, "none"),
            new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.OutcomeTag, outcome));
        Log.Rejected(_logger, functionName ?? request.FunctionName, request.InvocationId, outcome);
    }

    /// <summary>The <c>function.name</c> tag of requests for a function that is not registered.</summary>
    internal const string UnknownFunctionTag = "(unknown)";

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
            activity.Fail(ex);
            throw;
        }
    }
}
