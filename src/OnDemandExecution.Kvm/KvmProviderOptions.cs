namespace OnDemandExecution.Kvm;

/// <summary>Options of the KVM provider (<c>builder.AddKvmProvider(o =&gt; ...)</c>), validated when the host starts.</summary>
public sealed class KvmProviderOptions
{
    /// <summary>The QEMU binary: a path, or a name looked up on <c>PATH</c>. Default <c>qemu-system-x86_64</c> (Debian package <c>qemu-system-x86</c>).</summary>
    public string QemuPath { get; set; } = "qemu-system-x86_64";

    /// <summary>The guest kernel (<c>vmlinuz</c>); <c>tools/build-guest-image.sh</c> builds one. Required.</summary>
    public string KernelPath { get; set; } = string.Empty;

    /// <summary>The guest initramfs (<c>initrd.cpio.gz</c>) whose init runs an ODX1 guest agent; <c>tools/build-guest-image.sh</c> builds one. Required.</summary>
    public string InitrdPath { get; set; } = string.Empty;

    /// <summary>Extra kernel command-line arguments, appended to the provider's own (<c>console=hvc0 quiet panic=-1 init_on_free=1</c> and, under TCG, <c>tsc_early_khz</c>).</summary>
    public string? KernelArguments { get; set; }

    /// <summary>KVM, TCG, or KVM when usable (the default).</summary>
    public KvmAccelerator Accelerator { get; set; } = KvmAccelerator.Auto;

    /// <summary>The largest guest memory an <see cref="InstanceSpec"/> may ask for, in MiB. Default 4096.</summary>
    public int MaxMemoryMb { get; set; } = 4096;

    /// <summary>The most vCPUs an <see cref="InstanceSpec"/> may ask for. Default 8.</summary>
    public int MaxVCpuCount { get; set; } = 8;

    /// <summary>
    /// Whether new instances are restored from a snapshot of a booted guest (one per memory/vCPU shape) instead of
    /// booting. Default true: under TCG a restore takes about a fifth of a boot.
    /// </summary>
    public bool UseSnapshots { get; set; } = true;

    /// <summary>
    /// Whether <see cref="IInstance.RecycleAsync"/> scrubs a guest in place with the agent's RESET (kill the function's
    /// processes, delete its files, /work and /tmp) so it can rejoin the warming pool. Default true. RESET removes what
    /// a function leaves behind by accident, but the function runs as root in the guest and could alter the guest
    /// itself; set false for mutually untrusted tenants: recycling then fails, the pool destroys the guest and
    /// refills with a fresh one (a snapshot restore, ~0.5 s under TCG).
    /// </summary>
    public bool RecycleByReset { get; set; } = true;

    /// <summary>
    /// Where snapshots are kept. Null (the default): inside <see cref="WorkingDirectory"/>, deleted when the provider is
    /// disposed. When set, snapshots persist and are reused by later processes as long as QEMU, the kernel, the
    /// initramfs and the command line are unchanged (the file name is a hash of them).
    /// </summary>
    public string? SnapshotDirectory { get; set; }

    /// <summary>Where per-instance directories (sockets, console log) are created. Null: a new directory under the system temp directory. Keep it short: Unix socket paths are limited to 107 bytes.</summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>How long a cold boot may take until the agent is ready. Default 60 s (TCG on a busy host is slow).</summary>
    public TimeSpan BootTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a snapshot restore may take until the agent answers. Default 30 s.</summary>
    public TimeSpan RestoreTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the agent may take to answer a control request (load, health, recycle) before the instance counts as dead. Default 10 s.</summary>
    public TimeSpan AgentTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The largest frame the host accepts from an agent (the function's output and error), in bytes. Default 64 MiB.</summary>
    public int MaxFrameBytes { get; set; } = 64 * 1024 * 1024;
}
