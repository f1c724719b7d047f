using System.Globalization;

namespace OnDemandExecution.Kvm.Qemu;

/// <summary>Builds QEMU microvm command lines (see docs/providers/kvm.md for why each flag is there).</summary>
internal static class QemuCommandLine
{
    /// <summary>The name of the guest agent's virtio-serial port; the agent finds its device by it.</summary>
    public const string AgentPortName = "org.ondemandexecution.agent.0";

    /// <summary>The full path of a QEMU binary given as a path or as a name on PATH; null when not found.</summary>
    public static string? ResolveExecutable(string? pathOrName)
    {
        if (string.IsNullOrWhiteSpace(pathOrName))
        {
            return null;
        }

        if (pathOrName.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(pathOrName) ? Path.GetFullPath(pathOrName) : null;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, pathOrName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Whether /dev/kvm exists and this process can open it for reading and writing.</summary>
    public static bool KvmDeviceUsable()
    {
        try
        {
            using var f = new FileStream("/dev/kvm", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1, FileOptions.None);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>
    /// The host TSC rate in kHz from /proc/cpuinfo's first "cpu MHz" line. Under TCG the microvm guest cannot
    /// calibrate its TSC (no HPET or PM timer, PIT off) and hangs at boot without <c>tsc_early_khz</c>; the emulated
    /// TSC runs at the host's rate.
    /// </summary>
    public static long? HostTscKhz()
    {
        try
        {
            double? bogoMips = null;
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                var value = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
                if (line.StartsWith("cpu MHz", StringComparison.Ordinal)
                    && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var mhz) && mhz > 0)
                {
                    return (long)(mhz * 1000);
                }

                if (bogoMips is null && line.StartsWith("bogomips", StringComparison.Ordinal)
                    && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var mips) && mips > 0)
                {
                    bogoMips = mips;
                }
            }

            // some hypervisors hide "cpu MHz"; on x86 the kernel's BogoMIPS is twice the TSC rate in MHz
            return bogoMips is { } b ? (long)(b / 2 * 1000) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The kernel command line.</summary>
    public static string KernelCommandLine(bool kvm, long? tscKhz, string? extra)
    {
        // init_on_free=1: freed guest pages are zeroed, so a snapshot (zero pages are skipped) is ~40% smaller and saves
        // and restores faster, and memory a function freed holds no tenant data.
        var s = "console=hvc0 quiet panic=-1 init_on_free=1";
        if (!kvm && tscKhz is { } khz)
        {
            s += " tsc_early_khz=" + khz.ToString(CultureInfo.InvariantCulture);
        }

        return string.IsNullOrWhiteSpace(extra) ? s : s + " " + extra.Trim();
    }

    /// <summary>
    /// The seccomp filter QEMU installs on itself: obsolete system calls, set*uid/set*gid, fork/exec (so no
    /// <c>exec:</c> migration) and scheduler/CPU-affinity changes are denied.
    /// </summary>
    public const string SandboxOption = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

    /// <summary>
    /// The arguments of one QEMU process. The device list is identical for a template boot and a clone (a saved state
    /// restores only into the same devices); only socket and log paths, the memory backend's sharing and
    /// <c>-incoming</c> differ.
    /// </summary>
    public static List<string> Build(QemuLaunch launch)
    {
        var machine = "microvm,x-option-roms=off,pit=off,pic=off";
        if (launch.MemoryPath is not null)
        {
            machine += ",memory-backend=mem0";
        }

        var args = new List<string>
        {
            // x-option-roms/pit/pic off: nothing a virtio-mmio guest needs; keep the RTC (rtc=off costs ~2 s) and ACPI
            // (acpi=off hides the virtio-mmio devices from the Debian kernel).
            "-M", machine,
        };
        args.AddRange(launch.Kvm ? ["-accel", "kvm", "-cpu", "host"] : ["-accel", "tcg", "-cpu", "max"]);
        args.AddRange(
        [
            "-m", launch.MemoryMb.ToString(CultureInfo.InvariantCulture),
            "-smp", launch.VCpuCount.ToString(CultureInfo.InvariantCulture),
        ]);
        if (launch.MemoryPath is { } memory)
        {
            // VM templating: the template's RAM is this file (share=on: its writes land in the file); a clone maps it
            // privately (share=off: copy-on-write, untouched pages stay shared with every other clone)
            args.AddRange(["-object", $"memory-backend-file,id=mem0,size={launch.MemoryMb.ToString(CultureInfo.InvariantCulture)}M,mem-path={Opt(memory)},share={(launch.MemoryShared ? "on" : "off")}"]);
        }

        args.AddRange(
        [
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-kernel", launch.KernelPath,
            "-initrd", launch.InitrdPath,
            "-append", launch.KernelCommandLine,
            "-device", "virtio-serial-device",
            "-chardev", $"file,id=con0,path={Opt(launch.ConsoleLogPath)}",
            "-device", "virtconsole,chardev=con0",
            "-chardev", $"socket,id=agent,path={Opt(launch.AgentSocketPath)},server=on,wait=off",
            "-device", $"virtserialport,chardev=agent,name={AgentPortName}",
            // entropy for the guest kernel from the host (QEMU's getrandom); the agent's SEED reseeds at once
            "-device", "virtio-rng-device",
            "-qmp", $"unix:{Opt(launch.QmpSocketPath)},server=on,wait=off",
        ]);
        if (launch.Sandbox)
        {
            args.AddRange(["-sandbox", SandboxOption]);
        }

        if (launch.Incoming)
        {
            // the host sets x-ignore-shared over QMP, then migrate-incoming on a Unix socket and streams the state in
            args.AddRange(["-incoming", "defer"]);
        }

        return args;
    }

    /// <summary>Escapes a value inside a QEMU option list (a comma is written twice).</summary>
    private static string Opt(string value) => value.Replace(",", ",,", StringComparison.Ordinal);
}

/// <summary>What one QEMU process is started with.</summary>
/// <param name="Kvm">KVM (true) or TCG.</param>
/// <param name="MemoryMb">Guest RAM.</param>
/// <param name="VCpuCount">Guest vCPUs.</param>
/// <param name="KernelPath">The kernel.</param>
/// <param name="InitrdPath">The initramfs.</param>
/// <param name="KernelCommandLine">The kernel command line.</param>
/// <param name="ConsoleLogPath">Where the guest console goes.</param>
/// <param name="AgentSocketPath">The agent's Unix socket (QEMU listens).</param>
/// <param name="QmpSocketPath">The QMP Unix socket (QEMU listens).</param>
/// <param name="MemoryPath">The template's RAM file, or null for anonymous RAM (no templating).</param>
/// <param name="MemoryShared">True for the template (writes go to the file), false for a clone (private copy-on-write).</param>
/// <param name="Incoming">Start with <c>-incoming defer</c> (a clone).</param>
/// <param name="Sandbox">Add QEMU's seccomp sandbox (<see cref="QemuCommandLine.SandboxOption"/>).</param>
internal sealed record QemuLaunch(
    bool Kvm,
    int MemoryMb,
    int VCpuCount,
    string KernelPath,
    string InitrdPath,
    string KernelCommandLine,
    string ConsoleLogPath,
    string AgentSocketPath,
    string QmpSocketPath,
    string? MemoryPath,
    bool MemoryShared,
    bool Incoming,
    bool Sandbox);
