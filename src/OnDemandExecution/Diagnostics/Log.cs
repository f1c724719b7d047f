using Microsoft.Extensions.Logging;

namespace OnDemandExecution.Diagnostics;

/// <summary>Every log message of the library, with stable event ids.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Instance {InstanceId} created by provider {Provider} in {ElapsedMs:F1} ms ({Purpose}).")]
    public static partial void InstanceCreated(ILogger logger, string instanceId, string provider, double elapsedMs, string purpose);

    [LoggerMessage(2, LogLevel.Warning, "Provider {Provider} failed to create an instance.")]
    public static partial void InstanceCreateFailed(ILogger logger, string provider, Exception exception);

    [LoggerMessage(3, LogLevel.Debug, "Instance {InstanceId} destroyed ({Reason}).")]
    public static partial void InstanceDestroyed(ILogger logger, string instanceId, string reason);

    [LoggerMessage(4, LogLevel.Debug, "Instance {InstanceId} recycled into the warming pool.")]
    public static partial void InstanceRecycled(ILogger logger, string instanceId);

    [LoggerMessage(5, LogLevel.Debug, "Instance {InstanceId} of function {Function} expired after {IdleSeconds:F1} s idle.")]
    public static partial void InstanceExpired(ILogger logger, string instanceId, string function, double idleSeconds);

    [LoggerMessage(6, LogLevel.Warning, "Disposing instance {InstanceId} failed.")]
    public static partial void InstanceDisposeFailed(ILogger logger, string instanceId, Exception exception);

    [LoggerMessage(7, LogLevel.Warning, "Loading function {Function} into instance {InstanceId} failed.")]
    public static partial void LoadFailed(ILogger logger, string function, string instanceId, Exception exception);

    [LoggerMessage(8, LogLevel.Warning, "Recycling instance {InstanceId} failed; it is destroyed instead.")]
    public static partial void RecycleFailed(ILogger logger, string instanceId, Exception exception);

    [LoggerMessage(9, LogLevel.Error, "Pool maintenance failed; it runs again at the next interval.")]
    public static partial void MaintenanceFailed(ILogger logger, Exception exception);

    [LoggerMessage(10, LogLevel.Information, "Warming pool started with target size {Target} on provider {Provider}.")]
    public static partial void PoolStarted(ILogger logger, int target, string provider);

    [LoggerMessage(11, LogLevel.Information, "Pools shut down: {Destroyed} instances destroyed.")]
    public static partial void PoolStopped(ILogger logger, long destroyed);

    [LoggerMessage(20, LogLevel.Warning, "Function {Function} timed out after {TimeoutMs} ms on instance {InstanceId} (invocation {InvocationId}).")]
    public static partial void InvocationTimedOut(ILogger logger, string function, double timeoutMs, string instanceId, string invocationId);

    [LoggerMessage(21, LogLevel.Warning, "Instance {InstanceId} died while running function {Function} (invocation {InvocationId}).")]
    public static partial void InstanceDied(ILogger logger, string instanceId, string function, string invocationId, Exception exception);

    [LoggerMessage(22, LogLevel.Debug, "Request for function {Function} rejected: {QueueLength} requests already wait.")]
    public static partial void QueueFull(ILogger logger, string function, int queueLength);

    [LoggerMessage(23, LogLevel.Debug, "Function {Function} failed (invocation {InvocationId}).")]
    public static partial void FunctionFailed(ILogger logger, string function, string invocationId, Exception exception);

    [LoggerMessage(24, LogLevel.Warning, "Provider fault while running function {Function} on instance {InstanceId} (invocation {InvocationId}); the instance is destroyed.")]
    public static partial void ProviderFault(ILogger logger, string function, string instanceId, string invocationId, Exception exception);

    [LoggerMessage(25, LogLevel.Debug, "Instance {InstanceId} abandoned by a timed-out or cancelled invocation; it is destroyed when the call returns, unless it returns by honouring the cancellation.")]
    public static partial void InstanceAbandoned(ILogger logger, string instanceId);

    [LoggerMessage(26, LogLevel.Warning, "Invocation observer {Observer} threw; it is skipped for this event.")]
    public static partial void ObserverFailed(ILogger logger, string observer, Exception exception);

    [LoggerMessage(50, LogLevel.Debug, "Placed function {Function} by channel quality ({Kind}): instance {InstanceId} at {Location}, expected cost {CostMs:F1} ms; best location {Best} (penalty {BestPenaltyMs:F1} ms), best alternative {AlternativeMs:F1} ms; endpoints {Endpoints}.")]
    public static partial void PlacementDecided(ILogger logger, string function, string kind, string instanceId, string location, double costMs, string best, double bestPenaltyMs, double alternativeMs, string endpoints);

    [LoggerMessage(51, LogLevel.Debug, "Channel probe of {Endpoint} from {Location} ({Address}) failed: {Error}.")]
    public static partial void ChannelProbeFailed(ILogger logger, string endpoint, string location, string address, string error);

    [LoggerMessage(52, LogLevel.Warning, "A channel probe round failed; it runs again at the next interval.")]
    public static partial void ChannelProbeRoundFailed(ILogger logger, Exception exception);

    [LoggerMessage(53, LogLevel.Information, "Channel-quality placement started: threshold {Threshold}, probes every {IntervalSeconds:F1} s.")]
    public static partial void PlacementStarted(ILogger logger, double threshold, double intervalSeconds);

    [LoggerMessage(60, LogLevel.Debug, "Sidecar {Sidecar} ({Scope}) of tenant {Tenant} started on instance {InstanceId}.")]
    public static partial void SidecarStarted(ILogger logger, string sidecar, string scope, string tenant, string instanceId);

    [LoggerMessage(61, LogLevel.Debug, "Sidecar {Sidecar} ({Scope}) of tenant {Tenant} on instance {InstanceId} stopped: it serves no primary instance any more.")]
    public static partial void SidecarStopped(ILogger logger, string sidecar, string scope, string tenant, string instanceId);

    [LoggerMessage(62, LogLevel.Warning, "Starting sidecar {Sidecar} ({Scope}) for function {Function} of tenant {Tenant} failed.")]
    public static partial void SidecarStartFailed(ILogger logger, string sidecar, string scope, string function, string tenant, Exception exception);

    [LoggerMessage(63, LogLevel.Warning, "Sidecar call refused: tenant {Caller} (invocation {InvocationId}) tried to reach sidecar {Sidecar} of tenant {Owner}.")]
    public static partial void SidecarAccessDenied(ILogger logger, string caller, string invocationId, string sidecar, string owner);

    [LoggerMessage(64, LogLevel.Warning, "Stopping sidecar instance {InstanceId} failed.")]
    public static partial void SidecarStopFailed(ILogger logger, string instanceId, Exception exception);

    [LoggerMessage(65, LogLevel.Debug, "Capability {Capability} for tenant {Tenant}: chose {Function} (expected {StartKind} start, cost {CostMs:F2} ms) among {Candidates}.")]
    public static partial void CapabilitySelected(ILogger logger, string capability, string tenant, string function, string startKind, double costMs, int candidates);

    [LoggerMessage(66, LogLevel.Debug, "Idempotent function {Function}: request {InvocationId} served from {Origin}.")]
    public static partial void IdempotentReplay(ILogger logger, string function, string invocationId, string origin);

    [LoggerMessage(67, LogLevel.Debug, "Idempotent function {Function}: a dependency changed while request {InvocationId} ran; its result is not stored.")]
    public static partial void IdempotentStoreSkipped(ILogger logger, string function, string invocationId);

    [LoggerMessage(68, LogLevel.Warning, "Idempotent function {Function}: reading the state of dependency {Dependency} failed; the request runs without the result cache.")]
    public static partial void DependencyStateFailed(ILogger logger, string function, string dependency, Exception exception);

    [LoggerMessage(90, LogLevel.Warning, "Provider {Provider} created instance {InstanceId} after its start was given up (InstanceStartTimeout, caller or stop); it is disposed.")]
    public static partial void LateInstanceDisposed(ILogger logger, string instanceId, string provider);

    [LoggerMessage(91, LogLevel.Warning, "Stop: instance {InstanceId} was still {State} when the stop's bound passed; it is disposed and its work abandoned.")]
    public static partial void InstanceAbandonedAtStop(ILogger logger, string instanceId, string state);

    [LoggerMessage(92, LogLevel.Warning, "Stop: the bound passed with {Operations} operations still in flight (abandoned); {Instances} instances still in use were disposed.")]
    public static partial void StopAbandoned(ILogger logger, int operations, int instances);

    [LoggerMessage(93, LogLevel.Debug, "Instance {InstanceId}: the provider did not confirm that the interrupted call's work stopped; the instance is not reused.")]
    public static partial void WorkNotStopped(ILogger logger, string instanceId, Exception? exception);

    [LoggerMessage(94, LogLevel.Debug, "Instance {InstanceId} died while idle; the call takes another instance.")]
    public static partial void IdleInstanceDead(ILogger logger, string instanceId);

    [LoggerMessage(95, LogLevel.Warning, "Health check of instance {InstanceId} failed or took longer than {TimeoutMs} ms; the instance is destroyed.")]
    public static partial void HealthCheckFailed(ILogger logger, string instanceId, double timeoutMs, Exception? exception);

    [LoggerMessage(96, LogLevel.Debug, "Request {InvocationId} for function {Function} rejected before it started: {Outcome}.")]
    public static partial void Rejected(ILogger logger, string function, string invocationId, string outcome);

    [LoggerMessage(69, LogLevel.Warning, "Idempotent function {Function}: the result cache failed; the request runs without it.")]
    public static partial void IdempotencyCacheFailed(ILogger logger, string function, Exception exception);

    // 180-199: several providers, provisioned concurrency, the function catalog at run time.
    [LoggerMessage(180, LogLevel.Warning, "Provisioned concurrency of {Function} for tenant {Tenant}: {Missing} instances could not be loaded; the next maintenance pass retries.")]
    public static partial void ProvisioningFailed(ILogger logger, string function, string tenant, int missing, Exception exception);

    [LoggerMessage(181, LogLevel.Information, "Function {Function} was {Change} at run time.")]
    public static partial void FunctionChanged(ILogger logger, string function, string change);

    [LoggerMessage(182, LogLevel.Warning, "Reloaded configuration of OnDemandExecution was not applied: {Reason}")]
    public static partial void ReloadRejected(ILogger logger, string reason, Exception? exception);
}
