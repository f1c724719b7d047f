namespace OnDemandExecution.Diagnostics;

/// <summary>
/// The stable names of this library's meter, activity source and instruments, for listeners and dashboards.
/// </summary>
public static class OnDemandExecutionDiagnostics
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> and of the <see cref="System.Diagnostics.ActivitySource"/>.</summary>
    public const string Name = "OnDemandExecution";

    /// <summary>Counter of finished invocations; tags <c>faas.invoked_name</c>, <c>ondemand.start.kind</c>, <c>ondemand.outcome</c>.</summary>
    public const string Invocations = "ondemand.invocations";

    /// <summary>Histogram of invocation durations in seconds (call to result); tags <c>faas.invoked_name</c>, <c>ondemand.start.kind</c>, <c>ondemand.outcome</c>.</summary>
    public const string InvocationDuration = "ondemand.invocation.duration";

    /// <summary>Histogram of instance start latencies in seconds (provision and code load); tag <c>ondemand.start.kind</c>.</summary>
    public const string StartDuration = "ondemand.instance.start.duration";

    /// <summary>Counter of instances created; tag <c>ondemand.provider.name</c>.</summary>
    public const string InstancesCreated = "ondemand.instances.created";

    /// <summary>Counter of instances destroyed; tags <c>ondemand.provider.name</c>, <c>ondemand.destroy.reason</c>.</summary>
    public const string InstancesDestroyed = "ondemand.instances.destroyed";

    /// <summary>Counter: instances loaded ahead of demand by a policy (<see cref="IInstancePoolManager.PreloadAsync"/>).</summary>
    public const string InstancesPreloaded = "ondemand.instances.preloaded";

    /// <summary>Counter of instances recycled back to the warming pool; tag <c>ondemand.provider.name</c>.</summary>
    public const string InstancesRecycled = "ondemand.instances.recycled";

    /// <summary>Counter: work and instances the pools' stop abandoned when its bound passed (tag <c>ondemand.destroy.reason</c>: the instance's state, or <c>operation</c>).</summary>
    public const string StopAbandoned = "ondemand.stop.abandoned";

    /// <summary>Observable up-down counter of instances per pool state; tags <c>ondemand.provider.name</c> and <c>ondemand.pool.state</c> (provisioning, warm, assigned, idle, busy, recycling): the values add up to the live instances.</summary>
    public const string PoolSize = "ondemand.pool.size";

    /// <summary>
    /// Gauge of the instances that make up the functions' provisioned floors (idle or busy); tag <c>ondemand.provider.name</c>.
    /// The on-demand instances are the rest of <see cref="PoolSize"/>'s idle and busy ones.
    /// </summary>
    public const string PoolProvisioned = "ondemand.pool.provisioned";

    /// <summary>Up-down counter of requests waiting for a function's concurrency limit; tag <c>faas.invoked_name</c>.</summary>
    public const string QueueLength = "ondemand.queue.length";

    /// <summary>Counter of pre-trigger predictions acted on (one per pre-trigger and follower function); tag <c>faas.invoked_name</c> (the follower).</summary>
    public const string PreTriggerPredictions = "ondemand.pretrigger.predictions";

    /// <summary>Counter of instances pre-initialized for pre-trigger predictions; tag <c>faas.invoked_name</c>.</summary>
    public const string PreTriggerInstancesPrewarmed = "ondemand.pretrigger.instances.prewarmed";

    /// <summary>Counter of pre-initialized instances a follower request used within the prediction's window; tag <c>faas.invoked_name</c>.</summary>
    public const string PreTriggerInstancesUsed = "ondemand.pretrigger.instances.used";

    /// <summary>Counter of pre-initialized instances no follower request used within the prediction's window; tag <c>faas.invoked_name</c>.</summary>
    public const string PreTriggerInstancesWasted = "ondemand.pretrigger.instances.wasted";

    /// <summary>Counter of sidecars started; tags <c>ondemand.sidecar.scope</c> (task, user, request).</summary>
    public const string SidecarsStarted = "ondemand.sidecars.started";

    /// <summary>Counter of sidecars stopped (their last primary instance was destroyed, or their request ended); tag <c>ondemand.sidecar.scope</c>.</summary>
    public const string SidecarsStopped = "ondemand.sidecars.stopped";

    /// <summary>Counter of sidecar calls refused because the caller does not own the sidecar.</summary>
    public const string SidecarAccessDenied = "ondemand.sidecar.access.denied";

    /// <summary>Counter of calls by capability; tags <c>ondemand.capability</c>, <c>faas.invoked_name</c> (the function chosen), <c>ondemand.start.kind</c> (the start expected).</summary>
    public const string CapabilitySelections = "ondemand.capability.selections";

    /// <summary>Counter of requests to idempotent functions; tag <c>ondemand.idempotency.result</c> (hit, miss, coalesced, uncacheable).</summary>
    public const string IdempotencyRequests = "ondemand.idempotency.requests";

    /// <summary>Span around starting one sidecar.</summary>
    public const string SidecarStartActivity = "ondemand.sidecar.start";

    /// <summary>Span around one call to a sidecar.</summary>
    public const string SidecarInvokeActivity = "ondemand.sidecar.invoke";

    /// <summary>Span around one call by capability (selection and the chosen function's invocation).</summary>
    public const string CapabilityInvokeActivity = "ondemand.capability.invoke";

    /// <summary>Span around one request to an idempotent function (lookup, and the execution when there is one).</summary>
    public const string IdempotentInvokeActivity = "ondemand.idempotent.invoke";

    /// <summary>Tag: a capability's name.</summary>
    public const string CapabilityTag = "ondemand.capability";

    /// <summary>Tag: a sidecar's scope (<c>task</c>, <c>user</c>, <c>request</c>).</summary>
    public const string SidecarScopeTag = "ondemand.sidecar.scope";

    /// <summary>Tag: a sidecar's name (on spans only).</summary>
    public const string SidecarNameTag = "ondemand.sidecar.name";

    /// <summary>Tag of <see cref="IdempotencyRequests"/>: <c>hit</c> (stored result), <c>miss</c> (executed), <c>coalesced</c> (shared a concurrent execution), <c>uncacheable</c> (a dependency state was unknown).</summary>
    public const string IdempotencyResultTag = "ondemand.idempotency.result";

    /// <summary>Span around one invocation (its display name is the function's name, as the FaaS conventions ask; this is its operation name).</summary>
    public const string InvokeActivity = "ondemand.invoke";

    /// <summary>Span around creating one instance.</summary>
    public const string CreateInstanceActivity = "ondemand.instance.create";

    /// <summary>Span around loading a function's code into an instance.</summary>
    public const string LoadActivity = "ondemand.instance.load";

    /// <summary>Tag: the function's name (OpenTelemetry FaaS convention <c>faas.invoked_name</c>).</summary>
    public const string FunctionNameTag = "faas.invoked_name";

    /// <summary>Tag: how the instance was obtained (<c>warm</c>, <c>pool</c>, <c>cold</c>; <c>none</c> when the call failed before it had one).</summary>
    public const string StartKindTag = "ondemand.start.kind";

    /// <summary>Tag: how an invocation ended (<c>success</c>, <c>function_error</c>, <c>timeout</c>, <c>cancelled</c>, <c>queue_full</c>, <c>instance_died</c>, <c>provider_error</c>, <c>capacity</c>, <c>error</c> for anything else).</summary>
    /// <remarks>Requests rejected before they start (unknown function, payload too large, token already cancelled) are not counted.</remarks>
    public const string OutcomeTag = "ondemand.outcome";

    /// <summary>Tag: the tenant (on spans only; never on metrics, to bound cardinality).</summary>
    public const string TenantTag = "ondemand.tenant.id";

    /// <summary>Tag: the provider's name.</summary>
    public const string ProviderTag = "ondemand.provider.name";

    /// <summary>Tag: the instance id (FaaS convention <c>faas.instance</c>; on spans only).</summary>
    public const string InstanceTag = "faas.instance";

    /// <summary>Tag: the invocation id (FaaS convention <c>faas.invocation_id</c>; on spans only).</summary>
    public const string InvocationIdTag = "faas.invocation_id";

    /// <summary>Tag of <see cref="InstancesDestroyed"/>: why (<c>expired</c>, <c>evicted</c>, <c>died</c>, <c>abandoned</c>, <c>provider_fault</c>, <c>load_failed</c>, <c>unhealthy</c>, <c>trimmed</c>, <c>shutdown</c>, <c>no_keep_alive</c>, <c>sidecar_stopped</c>; values never contain spaces).</summary>
    public const string ReasonTag = "ondemand.destroy.reason";

    /// <summary>Tag of <see cref="PoolSize"/>: the pool state.</summary>
    public const string StateTag = "ondemand.pool.state";

    /// <summary>Tag of <see cref="InstancesPreloaded"/>: <c>provisioned</c> for instances loaded to keep a provisioned floor.</summary>
    public const string CapacityTag = "ondemand.capacity";

    /// <summary>Counter: acquires placed by channel quality, by <see cref="PlacementKindTag"/>.</summary>
    public const string Placements = "ondemand.placement.decisions";

    /// <summary>Counter: channel-quality probes run, by <see cref="OutcomeTag"/> (<c>success</c>, <c>failure</c>).</summary>
    public const string ChannelProbes = "ondemand.placement.probes";

    /// <summary>Tag of <see cref="Placements"/>: <c>warm_best</c>, <c>warm_other</c>, <c>pool</c>, <c>cold_at_best</c>, <c>fallback</c>.</summary>
    public const string PlacementKindTag = "ondemand.placement.kind";

    /// <summary>Span tag (FaaS convention <c>faas.coldstart</c>): true when the call's instance was not a warm hit (its code was loaded for this call, <c>pool</c> or <c>cold</c> start).</summary>
    public const string ColdStartTag = "faas.coldstart";

    /// <summary>Span tag (FaaS convention <c>faas.trigger</c>): what triggered the call; always <c>other</c> (the library does not know its caller's trigger).</summary>
    public const string TriggerTag = "faas.trigger";

    /// <summary>Tag (OpenTelemetry convention <c>error.type</c>) on failed calls' spans and on <see cref="Invocations"/> and <see cref="InvocationDuration"/>: the exception's full type name.</summary>
    public const string ErrorTypeTag = "error.type";

    /// <summary>Span of one warming-pool refill, the root of its own trace (linked to the span that triggered it).</summary>
    public const string RefillActivity = "ondemand.pool.refill";

    /// <summary>Span of one maintenance pass (expiry, health checks, trim, refill), the root of its own trace.</summary>
    public const string MaintenanceActivity = "ondemand.pool.maintenance";

    /// <summary>Span of one preload (<see cref="IInstancePoolManager.PreloadAsync"/>), the root of its own trace (linked to the span that triggered it).</summary>
    public const string PreloadActivity = "ondemand.pool.preload";

    /// <summary>
    /// The explicit bucket boundaries, in seconds, advised for every duration histogram of the library (0.1 ms to 10 s,
    /// so warm hits and cold starts both resolve). They are attached as <c>InstrumentAdvice</c>; use them for a view
    /// where a listener ignores advice.
    /// </summary>
    public static IReadOnlyList<double> DurationBucketBoundaries { get; } =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
}
