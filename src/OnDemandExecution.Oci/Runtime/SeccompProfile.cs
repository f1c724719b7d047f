using System.Text.Json;

namespace OnDemandExecution.Oci.Runtime;

/// <summary>
/// The provider's seccomp profile: allow by default, and fail with EPERM the system calls an unprivileged function has
/// no business making and that widen the kernel's attack surface: kernel modules, kexec, reboot, mounts, swap, clock
/// setting, keyrings, BPF, perf, userfaultfd, tracing other processes, handle-based opens, and creating namespaces
/// (<c>unshare</c>, <c>setns</c>, <c>clone</c> with any <c>CLONE_NEW*</c> flag; <c>clone3</c> answers ENOSYS so libc
/// falls back to <c>clone</c>, whose flags the filter can see). A deny list rather than Docker's allow list: it
/// keeps every ordinary program working while the container's other walls (no capabilities, user namespace, no new
/// privileges) do the rest.
/// </summary>
internal static class SeccompProfile
{
    /// <summary>System calls answered with EPERM.</summary>
    public static readonly string[] Denied =
    [
        "acct", "add_key", "bpf", "delete_module", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "init_module",
        "ioperm", "iopl", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount", "mount_setattr", "move_mount",
        "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open", "pivot_root",
        "process_vm_readv", "process_vm_writev", "ptrace", "quotactl", "reboot", "request_key", "setns", "settimeofday",
        "clock_settime", "clock_adjtime", "adjtimex", "stime", "swapoff", "swapon", "syslog", "umount", "umount2", "unshare",
        "uselib", "userfaultfd", "vhangup", "_sysctl",
    ];

    /// <summary>The CLONE_NEW* flags a <c>clone</c> may not carry (mount, cgroup, uts, ipc, user, pid, net).</summary>
    public static readonly long[] NamespaceCloneFlags = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000];

    private const int Eperm = 1;
    private const int Enosys = 38;

    /// <summary>Writes the <c>seccomp</c> member of the spec's <c>linux</c> object.</summary>
    public static void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject("seccomp");
        w.WriteString("defaultAction", "SCMP_ACT_ALLOW");
        w.WriteStartArray("architectures");
        w.WriteStringValue("SCMP_ARCH_X86_64");
        w.WriteStringValue("SCMP_ARCH_X86");
        w.WriteStringValue("SCMP_ARCH_X32");
        w.WriteStringValue("SCMP_ARCH_AARCH64");
        w.WriteStringValue("SCMP_ARCH_ARM");
        w.WriteEndArray();
        w.WriteStartArray("syscalls");

        w.WriteStartObject();
        Names(w, Denied);
        w.WriteString("action", "SCMP_ACT_ERRNO");
        w.WriteNumber("errnoRet", Eperm);
        w.WriteEndObject();

        w.WriteStartObject();
        Names(w, ["clone3"]);
        w.WriteString("action", "SCMP_ACT_ERRNO");
        w.WriteNumber("errnoRet", Enosys);
        w.WriteEndObject();

        foreach (var flag in NamespaceCloneFlags)
        {
            w.WriteStartObject();
            Names(w, ["clone"]);
            w.WriteString("action", "SCMP_ACT_ERRNO");
            w.WriteNumber("errnoRet", Eperm);
            w.WriteStartArray("args");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteNumber("value", flag);
            w.WriteNumber("valueTwo", flag);
            w.WriteString("op", "SCMP_CMP_MASKED_EQ");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Names(Utf8JsonWriter w, string[] names)
    {
        w.WriteStartArray("names");
        foreach (var n in names)
        {
            w.WriteStringValue(n);
        }

        w.WriteEndArray();
    }
}
