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

    /// <summary>Gauge of instances per pool state; tag <c>state</c> (provisioning, warm, assigned, idle, busy, recycling): the values add up to the live instances.</summary>
    public const string PoolSize = "ondemand.pool.size";

    /// <summary>Up-down counter of requests waiting for a function's concurrency limit; tag <c>function.name</c>.</summary>
    public const string QueueLength = "ondemand.queue.length";

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
}
