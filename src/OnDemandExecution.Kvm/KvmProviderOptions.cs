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
    /// Whether new instances are clones of a template (VM templating): the first guest of each memory/vCPU shape boots
    /// with its RAM in a file, its device state is saved and it is stopped; every instance then maps that RAM file
    /// copy-on-write and loads the device state. Default true: a clone costs a small fraction of a boot in time and
    /// in memory (untouched pages are shared by all clones).
    /// </summary>
    public bool UseSnapshots { get; set; } = true;

    /// <summary>
    /// How many clones of each template are kept launched ahead (a standby): QEMU started, QMP connected, RAM mapped
    /// and listening for the device state, but with no state, RNG or identity yet. A restore takes a standby when one
    /// is ready, so starting QEMU (a third of a clone's time here, see docs/providers/kvm.md) is off the caller's path,
    /// and launches the next in the background. Each standby is one idle QEMU process (a few MiB of its own; the guest
    /// RAM it maps is the template's, untouched). 0 disables. Default 1; only with <see cref="UseSnapshots"/>.
    /// </summary>
    public int StandbyClones { get; set; } = 1;

    /// <summary>
    /// Whether <see cref="IInstance.RecycleAsync"/> scrubs a guest in place with the agent's RESET (kill the function's
    /// processes, delete its files, /work and /tmp) so it can rejoin the warming pool. Default true. RESET removes what
    /// a function leaves behind by accident, but the function runs as root in the guest and could alter the guest
    /// itself; set false for mutually untrusted tenants: recycling then fails, the pool destroys the guest and
    /// refills with a fresh one (a snapshot restore, ~0.5 s under TCG).
    /// </summary>
    public bool RecycleByReset { get; set; } = true;

    /// <summary>
    /// Where templates (RAM file, device state, manifest of their SHA-256) are kept. Null (the default): inside the
    /// provider's state directory, deleted when the provider is disposed. When set, templates persist and are reused
    /// by later processes as long as QEMU, the kernel, the initramfs and the command line are unchanged (the file
    /// name is a hash of them) and their content still matches the manifest. Prefer a tmpfs (<c>/dev/shm/...</c>):
    /// clones map the RAM file.
    /// </summary>
    public string? SnapshotDirectory { get; set; }

    /// <summary>
    /// The state directory shared by every host process on the machine: each provider instance creates
    /// <c>h-PID-RANDOM/</c> in it with a <c>host.pid</c> file and one directory per QEMU (sockets, console log,
    /// <c>qemu.pid</c>), and at start reclaims (kills and deletes) what host processes that died left in it. Null: the
    /// system temp directory's <c>odx-kvm</c>. Keep it short: Unix socket paths are limited to 107 bytes.
    /// </summary>
    public string? WorkingDirectory { get; set; }

    /// <summary>Whether QEMU runs with its seccomp sandbox (<c>-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny</c>). Default true.</summary>
    public bool SandboxQemu { get; set; } = true;

    /// <summary>
    /// The uid QEMU runs as (set by <c>setpriv</c> before QEMU starts). Null (the default): 65534 (<c>nobody</c>) when
    /// the host runs as root; when the host is not root QEMU runs as the host user (logged). 0 keeps root. Per-VM
    /// directories and the template's RAM file are owned by it (mode 0700 / 0600).
    /// </summary>
    public int? QemuUserId { get; set; }

    /// <summary>The gid QEMU runs as; null: 65534 (<c>nogroup</c>) when the host runs as root. With KVM, /dev/kvm must be open to this uid or gid.</summary>
    public int? QemuGroupId { get; set; }

    /// <summary>Whether each QEMU gets new IPC, UTS, network and mount namespaces (<c>unshare</c>; needs root). Default true; skipped with a logged reason where unavailable.</summary>
    public bool IsolateNamespaces { get; set; } = true;

    /// <summary>How long a cold boot may take until the agent is ready. Default 60 s (TCG on a busy host is slow).</summary>
    public TimeSpan BootTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a snapshot restore may take until the agent answers. Default 30 s.</summary>
    public TimeSpan RestoreTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the agent may take to answer a control request (load, health, recycle) before the instance counts as dead. Default 10 s.</summary>
    public TimeSpan AgentTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The largest frame the host accepts from an agent (the function's output and error), in bytes. Default 64 MiB.</summary>
    public int MaxFrameBytes { get; set; } = 64 * 1024 * 1024;
}
