namespace OnDemandExecution.Diagnostics;

/// <summary>
/// The stable names of this library's meter, activity source and instruments, for listeners and dashboards.
/// </summary>
public static class OnDemandExecutionDiagnostics
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> and of the <see cref="System.Diagnostics.ActivitySource"/>.</summary>
    public const string Name = "OnDemandExecution";

    /// <summary>Counter of finished invocations; tags <c>function.name</c>, <c>start.kind</c>, <c>outcome</c>.</summary>
    public const string Invocations = "ondemand.invocations";

    /// <summary>Histogram of invocation durations in seconds (call to result); tags <c>function.name</c>, <c>start.kind</c>, <c>outcome</c>.</summary>
    public const string InvocationDuration = "ondemand.invocation.duration";

    /// <summary>Histogram of instance start latencies in seconds (provision and code load); tag <c>start.kind</c>.</summary>
    public const string StartDuration = "ondemand.instance.start.duration";

    /// <summary>Counter of instances created; tag <c>provider.name</c>.</summary>
    public const string InstancesCreated = "ondemand.instances.created";

    /// <summary>Counter of instances destroyed; tags <c>provider.name</c>, <c>reason</c>.</summary>
    public const string InstancesDestroyed = "ondemand.instances.destroyed";

    /// <summary>Counter: instances loaded ahead of demand by a policy (<see cref="IInstancePoolManager.PreloadAsync"/>).</summary>
    public const string InstancesPreloaded = "ondemand.instances.preloaded";

    /// <summary>Counter of instances recycled back to the warming pool; tag <c>provider.name</c>.</summary>
    public const string InstancesRecycled = "ondemand.instances.recycled";

    /// <summary>Gauge of instances per pool state; tags <c>provider.name</c> and <c>state</c> (provisioning, warm, assigned, idle, busy, recycling): the values add up to the live instances.</summary>
    public const string PoolSize = "ondemand.pool.size";

    /// <summary>
    /// Gauge of the instances that make up the functions' provisioned floors (idle or busy); tag <c>provider.name</c>.
    /// The on-demand instances are the rest of <see cref="PoolSize"/>'s idle and busy ones.
    /// </summary>
    public const string PoolProvisioned = "ondemand.pool.provisioned";

    /// <summary>Up-down counter of requests waiting for a function's concurrency limit; tag <c>function.name</c>.</summary>
    public const string QueueLength = "ondemand.queue.length";

    /// <summary>Counter of pre-trigger predictions acted on (one per pre-trigger and follower function); tag <c>function.name</c> (the follower).</summary>
    public const string PreTriggerPredictions = "ondemand.pretrigger.predictions";

    /// <summary>Counter of instances pre-initialized for pre-trigger predictions; tag <c>function.name</c>.</summary>
    public const string PreTriggerInstancesPrewarmed = "ondemand.pretrigger.instances.prewarmed";

    /// <summary>Counter of pre-initialized instances a follower request used within the prediction's window; tag <c>function.name</c>.</summary>
    public const string PreTriggerInstancesUsed = "ondemand.pretrigger.instances.used";

    /// <summary>Counter of pre-initialized instances no follower request used within the prediction's window; tag <c>function.name</c>.</summary>
    public const string PreTriggerInstancesWasted = "ondemand.pretrigger.instances.wasted";

    /// <summary>Counter of sidecars started; tags <c>sidecar.scope</c> (task, user, request).</summary>
    public const string SidecarsStarted = "ondemand.sidecars.started";

    /// <summary>Counter of sidecars stopped (their last primary instance was destroyed, or their request ended); tag <c>sidecar.scope</c>.</summary>
    public const string SidecarsStopped = "ondemand.sidecars.stopped";

    /// <summary>Counter of sidecar calls refused because the caller does not own the sidecar.</summary>
    public const string SidecarAccessDenied = "ondemand.sidecar.access.denied";

    /// <summary>Counter of calls by capability; tags <c>capability</c>, <c>function.name</c> (the function chosen), <c>start.kind</c> (the start expected).</summary>
    public const string CapabilitySelections = "ondemand.capability.selections";

    /// <summary>Counter of requests to idempotent functions; tag <c>idempotency.result</c> (hit, miss, coalesced, uncacheable).</summary>
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
    public const string CapabilityTag = "capability";

    /// <summary>Tag: a sidecar's scope (<c>task</c>, <c>user</c>, <c>request</c>).</summary>
    public const string SidecarScopeTag = "sidecar.scope";

    /// <summary>Tag: a sidecar's name (on spans only).</summary>
    public const string SidecarNameTag = "sidecar.name";

    /// <summary>Tag of <see cref="IdempotencyRequests"/>: <c>hit</c> (stored result), <c>miss</c> (executed), <c>coalesced</c> (shared a concurrent execution), <c>uncacheable</c> (a dependency state was unknown).</summary>
    public const string IdempotencyResultTag = "idempotency.result";

    /// <summary>Span around one invocation.</summary>
    public const string InvokeActivity = "ondemand.invoke";

    /// <summary>Span around creating one instance.</summary>
    public const string CreateInstanceActivity = "ondemand.instance.create";

    /// <summary>Span around loading a function's code into an instance.</summary>
    public const string LoadActivity = "ondemand.instance.load";

    /// <summary>Tag: the function's name.</summary>
    public const string FunctionNameTag = "function.name";

    /// <summary>Tag: how the instance was obtained (<c>warm</c>, <c>pool</c>, <c>cold</c>; <c>none</c> when the call failed before it had one).</summary>
    public const string StartKindTag = "start.kind";

    /// <summary>Tag: how an invocation ended (<c>success</c>, <c>function_error</c>, <c>timeout</c>, <c>cancelled</c>, <c>queue_full</c>, <c>instance_died</c>, <c>provider_error</c>, <c>capacity</c>, <c>error</c> for anything else).</summary>
    /// <remarks>Requests rejected before they start (unknown function, payload too large, token already cancelled) are not counted.</remarks>
    public const string OutcomeTag = "outcome";

    /// <summary>Tag: the tenant (on spans only; never on metrics, to bound cardinality).</summary>
    public const string TenantTag = "tenant.id";

    /// <summary>Tag: the provider's name.</summary>
    public const string ProviderTag = "provider.name";

    /// <summary>Tag: the instance id (on spans only).</summary>
    public const string InstanceTag = "instance.id";

    /// <summary>Tag: the invocation id (on spans only).</summary>
    public const string InvocationIdTag = "invocation.id";

    /// <summary>Tag of <see cref="InstancesDestroyed"/>: why (<c>expired</c>, <c>evicted</c>, <c>died</c>, <c>abandoned</c>, <c>provider fault</c>, <c>load failed</c>, <c>unhealthy</c>, <c>trimmed</c>, <c>shutdown</c>).</summary>
    public const string ReasonTag = "reason";

    /// <summary>Tag of <see cref="PoolSize"/>: the pool state.</summary>
    public const string StateTag = "state";

    /// <summary>Tag of <see cref="InstancesPreloaded"/>: <c>provisioned</c> for instances loaded to keep a provisioned floor.</summary>
    public const string CapacityTag = "capacity";

    /// <summary>Counter: acquires placed by channel quality, by <see cref="PlacementKindTag"/>.</summary>
    public const string Placements = "ondemand.placement.decisions";

    /// <summary>Counter: channel-quality probes run, by <see cref="OutcomeTag"/> (<c>success</c>, <c>failure</c>).</summary>
    public const string ChannelProbes = "ondemand.placement.probes";

    /// <summary>Tag of <see cref="Placements"/>: <c>warm_best</c>, <c>warm_other</c>, <c>pool</c>, <c>cold_at_best</c>, <c>fallback</c>.</summary>
    public const string PlacementKindTag = "placement.kind";
}
