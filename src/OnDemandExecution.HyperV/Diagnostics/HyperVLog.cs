using Microsoft.Extensions.Logging;

namespace OnDemandExecution.HyperV.Diagnostics;

/// <summary>The Hyper-V provider's log messages; event ids 1100-1199 (the core uses 1-99, KVM 1000-1099).</summary>
internal static partial class HyperVLog
{
    [LoggerMessage(1100, LogLevel.Information, "Hyper-V provider: {BootMode} boot, agent on vsock port {AgentPort}, owner {Owner}.")]
    public static partial void ProviderStarted(ILogger logger, string bootMode, int agentPort, string owner);

    [LoggerMessage(1101, LogLevel.Debug, "Compute system {InstanceId} started in {ElapsedMs:F0} ms (VM {VmId}, agent {AgentVersion}).")]
    public static partial void GuestStarted(ILogger logger, string instanceId, double elapsedMs, Guid vmId, string agentVersion);

    [LoggerMessage(1102, LogLevel.Warning, "Compute system {InstanceId} died: {Reason}")]
    public static partial void GuestDied(ILogger logger, string instanceId, string reason);

    [LoggerMessage(1103, LogLevel.Debug, "Compute system {InstanceId} destroyed.")]
    public static partial void GuestDestroyed(ILogger logger, string instanceId);

    [LoggerMessage(1104, LogLevel.Warning, "Cleaning up compute system {InstanceId} failed.")]
    public static partial void CleanupFailed(ILogger logger, string instanceId, Exception exception);

    [LoggerMessage(1105, LogLevel.Debug, "Compute system {InstanceId}: HCS event {EventType}.")]
    public static partial void EventReceived(ILogger logger, string instanceId, string eventType);

    [LoggerMessage(1106, LogLevel.Information, "Compute system {InstanceId} saved to {Path} in {ElapsedMs:F0} ms.")]
    public static partial void StateSaved(ILogger logger, string instanceId, string path, double elapsedMs);
}
