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
}
