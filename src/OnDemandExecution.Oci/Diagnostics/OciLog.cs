using Microsoft.Extensions.Logging;

namespace OnDemandExecution.Oci.Diagnostics;

/// <summary>The OCI provider's log messages; event ids 1200-1299 (the core uses 1-99, KVM 1000-1099).</summary>
internal static partial class OciLog
{
    [LoggerMessage(1200, LogLevel.Information, "OCI provider: runtime {RuntimePath} ({RuntimeVersion}), root {StateDirectory}, image {RootFs}, user namespace {UserNamespace}, seccomp {Seccomp}, network {Network}.")]
    public static partial void ProviderStarted(ILogger logger, string runtimePath, string runtimeVersion, string stateDirectory, string rootFs, bool userNamespace, bool seccomp, string network);

    [LoggerMessage(1201, LogLevel.Debug, "Container {InstanceId} ready in {ElapsedMs:F0} ms (pid {Pid}, agent {AgentVersion}).")]
    public static partial void ContainerStarted(ILogger logger, string instanceId, double elapsedMs, int pid, string agentVersion);

    [LoggerMessage(1202, LogLevel.Warning, "Container {InstanceId} died: {Reason}")]
    public static partial void ContainerDied(ILogger logger, string instanceId, string reason);

    [LoggerMessage(1203, LogLevel.Debug, "Container {InstanceId} removed.")]
    public static partial void ContainerRemoved(ILogger logger, string instanceId);

    [LoggerMessage(1204, LogLevel.Warning, "Removing container {InstanceId} failed.")]
    public static partial void CleanupFailed(ILogger logger, string instanceId, Exception exception);

    [LoggerMessage(1205, LogLevel.Warning, "cgroup limits are not applied to containers: {Reason}. Memory, CPU and process-count limits are skipped; the other isolation still applies.")]
    public static partial void CgroupLimitsSkipped(ILogger logger, string reason);

    [LoggerMessage(1206, LogLevel.Information, "cgroup limits apply to containers ({Layout}).")]
    public static partial void CgroupLimitsApplied(ILogger logger, string layout);

    [LoggerMessage(1207, LogLevel.Warning, "Reclaimed {Count} container(s) and {Directories} directory(ies) left by host processes that are gone (under {StateDirectory}).")]
    public static partial void OrphansReclaimed(ILogger logger, int count, int directories, string stateDirectory);

    [LoggerMessage(1208, LogLevel.Warning, "User namespaces are not available on this host ({Reason}); containers run as host uid {HostUid} without one.")]
    public static partial void UserNamespaceUnavailable(ILogger logger, string reason, int hostUid);

    [LoggerMessage(1209, LogLevel.Information, "Unpacked OCI image layout {Layout} ({Layers} layer(s)) into {RootFs}.")]
    public static partial void ImageUnpacked(ILogger logger, string layout, int layers, string rootFs);
}
