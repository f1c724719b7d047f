namespace OnDemandExecution.HyperV.Diagnostics;

/// <summary>
/// The Hyper-V provider's instrument and span names, published on the library's one meter and activity source (both
/// named <c>OnDemandExecution</c>, see <see cref="OnDemandExecution.Diagnostics.OnDemandExecutionDiagnostics"/>).
/// </summary>
public static class HyperVDiagnostics
{
    /// <summary>Histogram of the time from HcsCreateComputeSystem to the guest agent's READY, in seconds; tag <c>ondemand.hyperv.boot</c>.</summary>
    public const string StartDuration = "ondemand.hyperv.start.duration";

    /// <summary>Counter of compute systems that exited or whose agent stopped answering while in use; tag <c>ondemand.hyperv.boot</c>.</summary>
    public const string InstancesDied = "ondemand.hyperv.instances.died";

    /// <summary>Span around creating and starting one compute system.</summary>
    public const string StartActivity = "ondemand.hyperv.start";

    /// <summary>Span around saving a compute system's state.</summary>
    public const string SaveActivity = "ondemand.hyperv.save";

    /// <summary>Tag: the boot mode (<c>linux-kernel-direct</c> or <c>uefi</c>).</summary>
    public const string BootTag = "ondemand.hyperv.boot";
}
