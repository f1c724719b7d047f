namespace OnDemandExecution.HyperV;

/// <summary>Options of the Hyper-V provider (<c>builder.AddHyperVProvider(o =&gt; ...)</c>), validated when the host starts.</summary>
public sealed class HyperVProviderOptions
{
    /// <summary>How guests boot. Default <see cref="HyperVBootMode.LinuxKernelDirect"/>.</summary>
    public HyperVBootMode BootMode { get; set; } = HyperVBootMode.LinuxKernelDirect;

    /// <summary>The guest kernel (an uncompressed <c>vmlinux</c> or a <c>bzImage</c> Hyper-V can load directly). Required for <see cref="HyperVBootMode.LinuxKernelDirect"/>.</summary>
    public string KernelPath { get; set; } = string.Empty;

    /// <summary>The guest initramfs whose init starts an ODX1 guest agent listening on AF_VSOCK port <see cref="AgentPort"/>. Required for <see cref="HyperVBootMode.LinuxKernelDirect"/>.</summary>
    public string InitrdPath { get; set; } = string.Empty;

    /// <summary>Extra kernel command-line arguments, appended to the provider's own (<c>console=ttyS0 quiet panic=-1</c>). Only for <see cref="HyperVBootMode.LinuxKernelDirect"/>.</summary>
    public string? KernelArguments { get; set; }

    /// <summary>
    /// A virtual disk attached to every guest at SCSI controller 0, LUN 0: the boot disk for <see cref="HyperVBootMode.Uefi"/>
    /// (required there), an optional root or data disk for <see cref="HyperVBootMode.LinuxKernelDirect"/>.
    /// </summary>
    public string? VhdxPath { get; set; }

    /// <summary>
    /// Whether <see cref="VhdxPath"/> is attached read-only. Default true, and it must stay true while more than one
    /// guest runs: every guest attaches the same file, and Hyper-V lets only one VM open a disk for writing. Guests
    /// then need a read-only root (or an initramfs that overlays it with tmpfs).
    /// </summary>
    public bool VhdxReadOnly { get; set; } = true;

    /// <summary>The AF_VSOCK port the guest agent listens on; the host connects to the matching Hyper-V socket service id. Default 5100.</summary>
    public int AgentPort { get; set; } = 5100;

    /// <summary>The <c>Owner</c> of every compute system this provider creates (shown by <c>hcsdiag list</c>). Default <c>OnDemandExecution</c>.</summary>
    public string Owner { get; set; } = "OnDemandExecution";

    /// <summary>The largest guest memory an <see cref="InstanceSpec"/> may ask for, in MiB. Default 4096.</summary>
    public int MaxMemoryMb { get; set; } = 4096;

    /// <summary>The most vCPUs an <see cref="InstanceSpec"/> may ask for. Default 8.</summary>
    public int MaxVCpuCount { get; set; } = 8;

    /// <summary>Whether guest memory is backed by the host pagefile (<c>AllowOvercommit</c>), so idle warm guests can overcommit. Default true.</summary>
    public bool AllowMemoryOvercommit { get; set; } = true;

    /// <summary>
    /// Whether <see cref="IInstance.RecycleAsync"/> scrubs a guest in place with the agent's RESET so it can rejoin the
    /// warming pool. Default true; set false for mutually untrusted tenants (recycling then fails and the pool replaces
    /// the guest), as for the KVM provider.
    /// </summary>
    public bool RecycleByReset { get; set; } = true;

    /// <summary>How long creating and starting a compute system until the agent answers HELLO may take. Default 60 s.</summary>
    public TimeSpan BootTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long one HCS operation (pause, resume, save, terminate, properties) may take. Default 30 s.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the agent may take to answer a control request (load, health, recycle) before the instance counts as dead. Default 10 s.</summary>
    public TimeSpan AgentTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The largest frame the host accepts from an agent, in bytes. Default 64 MiB.</summary>
    public int MaxFrameBytes { get; set; } = 64 * 1024 * 1024;
}
