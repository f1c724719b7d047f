using Microsoft.Extensions.Logging;

namespace OnDemandExecution.Kvm.Diagnostics;

/// <summary>The KVM provider's log messages; event ids 1000-1099 (the core uses 1-99).</summary>
internal static partial class KvmLog
{
    [LoggerMessage(1000, LogLevel.Information, "KVM provider: QEMU {QemuPath}, accelerator {Accel}, snapshots {Snapshots}.")]
    public static partial void ProviderStarted(ILogger logger, string qemuPath, string accel, bool snapshots);

    [LoggerMessage(1001, LogLevel.Debug, "Guest {InstanceId} {StartKind} in {ElapsedMs:F0} ms (pid {Pid}, agent {AgentVersion}).")]
    public static partial void GuestStarted(ILogger logger, string instanceId, string startKind, double elapsedMs, int pid, string agentVersion);

    [LoggerMessage(1002, LogLevel.Information, "Snapshot of a {MemoryMb} MiB / {VCpus} vCPU guest saved to {Path} in {ElapsedMs:F0} ms.")]
    public static partial void SnapshotSaved(ILogger logger, int memoryMb, int vCpus, string path, double elapsedMs);

    [LoggerMessage(1003, LogLevel.Warning, "Restoring a guest from snapshot {Path} failed; the snapshot is discarded and guests boot instead until a new one is saved.")]
    public static partial void RestoreFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(1004, LogLevel.Warning, "Saving a snapshot failed; guests of this shape boot instead.")]
    public static partial void SnapshotFailed(ILogger logger, Exception exception);

    [LoggerMessage(1005, LogLevel.Warning, "QEMU could not start a guest on KVM; the provider falls back to TCG (software emulation).")]
    public static partial void KvmFallback(ILogger logger, Exception exception);

    [LoggerMessage(1006, LogLevel.Warning, "Guest {InstanceId} died: {Reason}")]
    public static partial void GuestDied(ILogger logger, string instanceId, string reason);

    [LoggerMessage(1007, LogLevel.Debug, "Guest {InstanceId} destroyed (QEMU pid {Pid}).")]
    public static partial void GuestDestroyed(ILogger logger, string instanceId, int pid);

    [LoggerMessage(1008, LogLevel.Warning, "Cleaning up guest {InstanceId} failed.")]
    public static partial void CleanupFailed(ILogger logger, string instanceId, Exception exception);

    [LoggerMessage(1009, LogLevel.Warning, "Guest {InstanceId}: agent {AgentVersion} cannot reseed its RNG (no SEED); restored clones share the snapshot's random state.")]
    public static partial void SeedUnsupported(ILogger logger, string instanceId, string agentVersion);

    [LoggerMessage(1010, LogLevel.Warning, "KVM sandbox: {Protection} does not apply: {Reason}.")]
    public static partial void ProtectionSkipped(ILogger logger, string protection, string reason);

    [LoggerMessage(1011, LogLevel.Information, "KVM sandbox: {Protections}.")]
    public static partial void SandboxApplied(ILogger logger, string protections);

    [LoggerMessage(1012, LogLevel.Warning, "Reclaimed what dead host processes left under {Root}: {Killed} QEMU processes killed, {Deleted} directories deleted.")]
    public static partial void OrphansReclaimed(ILogger logger, int killed, int deleted, string root);

    [LoggerMessage(1013, LogLevel.Information, "Template {Path} verified (SHA-256 of its RAM and device state) in {ElapsedMs:F0} ms.")]
    public static partial void TemplateVerified(ILogger logger, string path, double elapsedMs);

    [LoggerMessage(1014, LogLevel.Warning, "Template {Path} failed verification ({Reason}); it is discarded and made again.")]
    public static partial void TemplateRejected(ILogger logger, string path, string reason);

    [LoggerMessage(1015, LogLevel.Warning, "A standby clone of template {Path} failed ({Reason}); the clone starts a QEMU of its own instead.")]
    public static partial void StandbyFailed(ILogger logger, string path, string reason, Exception? exception);
}
