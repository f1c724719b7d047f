namespace OnDemandExecution.Kvm.Diagnostics;

/// <summary>
/// The KVM provider's instrument and span names. They are published on the library's one meter and activity source
/// (both named <c>OnDemandExecution</c>, see <see cref="OnDemandExecution.Diagnostics.OnDemandExecutionDiagnostics"/>).
/// </summary>
public static class KvmDiagnostics
{
    /// <summary>Histogram of the time from starting QEMU to the guest agent's first answer, in seconds; tags <c>ondemand.kvm.start.kind</c> (<c>boot</c> or <c>restore</c>) and <c>ondemand.kvm.accel</c> (<c>kvm</c> or <c>tcg</c>).</summary>
    public const string StartDuration = "ondemand.kvm.start.duration";

    /// <summary>Histogram of the time to save a snapshot (stop and migrate to a file), in seconds.</summary>
    public const string SnapshotDuration = "ondemand.kvm.snapshot.duration";

    /// <summary>Counter of QEMU processes that died or whose agent stopped answering while in use; tag <c>ondemand.kvm.accel</c>.</summary>
    public const string InstancesDied = "ondemand.kvm.instances.died";

    /// <summary>Span around starting one guest (boot or restore).</summary>
    public const string StartActivity = "ondemand.kvm.start";

    /// <summary>Span around saving a snapshot.</summary>
    public const string SnapshotActivity = "ondemand.kvm.snapshot";

    /// <summary>Tag: how a guest was started (<c>boot</c> or <c>restore</c>).</summary>
    public const string StartKindTag = "ondemand.kvm.start.kind";

    /// <summary>Tag: the accelerator (<c>kvm</c> or <c>tcg</c>).</summary>
    public const string AccelTag = "ondemand.kvm.accel";
}
