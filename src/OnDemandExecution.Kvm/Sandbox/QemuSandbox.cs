using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using OnDemandExecution.Kvm.Diagnostics;
using OnDemandExecution.Kvm.Qemu;

namespace OnDemandExecution.Kvm.Sandbox;

/// <summary>
/// How QEMU processes are confined: QEMU's own seccomp filter (<c>-sandbox</c>), an unprivileged uid/gid set before
/// QEMU runs (<c>setpriv</c>, so QEMU itself never calls setuid and <c>elevateprivileges=deny</c> holds), new IPC, UTS,
/// network and mount namespaces (<c>unshare</c>; QEMU needs no network: its sockets are Unix sockets on paths), and
/// the file modes of what QEMU may touch. Both helpers exec in place, so the pid the host starts is QEMU's.
/// </summary>
internal sealed class QemuSandbox
{
    /// <summary>The uid/gid QEMU runs as when the host is root and no other is configured (<c>nobody</c>/<c>nogroup</c>).</summary>
    public const int DefaultUnprivilegedId = 65534;

    private QemuSandbox(bool seccomp, int? uid, int? gid, IReadOnlyList<string> prefix, string description)
    {
        Seccomp = seccomp;
        UserId = uid;
        GroupId = gid;
        Prefix = prefix;
        Description = description;
    }

    /// <summary>Whether QEMU runs with <c>-sandbox</c>.</summary>
    public bool Seccomp { get; }

    /// <summary>The uid QEMU runs as when it is dropped, or null (QEMU runs as the host user).</summary>
    public int? UserId { get; }

    /// <summary>The gid QEMU runs as when it is dropped.</summary>
    public int? GroupId { get; }

    /// <summary>The programs (and their arguments) that exec QEMU: <c>unshare ... -- setpriv ... --</c>; empty for none.</summary>
    public IReadOnlyList<string> Prefix { get; }

    /// <summary>What applies, for the log.</summary>
    public string Description { get; }

    /// <summary>Works out what the host allows; logs every protection that does not apply and why.</summary>
    public static QemuSandbox Resolve(KvmProviderOptions options, ILogger logger)
    {
        var root = NativeMethods.GetEffectiveUserId() == 0;
        var prefix = new List<string>();
        var parts = new List<string>();
        if (options.SandboxQemu)
        {
            parts.Add("seccomp (" + QemuCommandLine.SandboxOption + ")");
        }
        else
        {
            KvmLog.ProtectionSkipped(logger, "seccomp", "KvmProviderOptions.SandboxQemu is false");
        }

        if (options.IsolateNamespaces)
        {
            var unshare = QemuCommandLine.ResolveExecutable("unshare");
            if (!root)
            {
                KvmLog.ProtectionSkipped(logger, "namespaces", "the host does not run as root (unshare needs CAP_SYS_ADMIN)");
            }
            else if (unshare is null)
            {
                KvmLog.ProtectionSkipped(logger, "namespaces", "no unshare on PATH (util-linux)");
            }
            else if (Probe([unshare, "--ipc", "--uts", "--net", "--mount", "--"]) is { } why)
            {
                KvmLog.ProtectionSkipped(logger, "namespaces", why);
            }
            else
            {
                prefix.AddRange([unshare, "--ipc", "--uts", "--net", "--mount", "--"]);
                parts.Add("ipc/uts/net/mount namespaces");
            }
        }

        int? uid = options.QemuUserId ?? (root ? DefaultUnprivilegedId : null);
        int? gid = options.QemuGroupId ?? (root ? DefaultUnprivilegedId : null);
        if (uid is null || gid is null || (uid == 0 && gid == 0))
        {
            KvmLog.ProtectionSkipped(logger, "unprivileged uid", root ? "KvmProviderOptions.QemuUserId is 0 (root)" : "the host does not run as root, so QEMU runs as the host user");
            uid = null;
            gid = null;
        }
        else if (!root)
        {
            KvmLog.ProtectionSkipped(logger, "unprivileged uid", $"QemuUserId {uid} is set but the host does not run as root");
            uid = null;
            gid = null;
        }
        else if (QemuCommandLine.ResolveExecutable("setpriv") is not { } setpriv)
        {
            KvmLog.ProtectionSkipped(logger, "unprivileged uid", "no setpriv on PATH (util-linux)");
            uid = null;
            gid = null;
        }
        else if (Probe([setpriv, "--reuid=" + uid.Value.ToString(CultureInfo.InvariantCulture), "--regid=" + gid.Value.ToString(CultureInfo.InvariantCulture), "--clear-groups", "--"]) is { } why)
        {
            KvmLog.ProtectionSkipped(logger, "unprivileged uid", why);
            uid = null;
            gid = null;
        }
        else
        {
            prefix.AddRange([setpriv, "--reuid=" + uid.Value.ToString(CultureInfo.InvariantCulture), "--regid=" + gid.Value.ToString(CultureInfo.InvariantCulture), "--clear-groups", "--"]);
            parts.Add($"uid {uid} gid {gid}");
        }

        return new QemuSandbox(options.SandboxQemu, uid, gid, prefix, parts.Count == 0 ? "none" : string.Join(", ", parts));
    }

    /// <summary>
    /// Runs <c>true</c> through <paramref name="prefix"/> once (a container may be root without the capabilities
    /// unshare or setpriv need). Returns null when it works, else why not.
    /// </summary>
    private static string? Probe(IReadOnlyList<string> prefix)
    {
        var psi = new ProcessStartInfo(prefix[0]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in prefix.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }

        psi.ArgumentList.Add("true");
        try
        {
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEnd();
            if (!p.WaitForExit(10_000))
            {
                p.Kill();
                return $"{Path.GetFileName(prefix[0])} did not finish";
            }

            return p.ExitCode == 0 ? null : $"{Path.GetFileName(prefix[0])} failed here ({stderr.Trim()})";
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return $"{prefix[0]} cannot run: {ex.Message}";
        }
    }

    /// <summary>Creates <paramref name="path"/> (mode 0700) owned by QEMU's uid: a per-VM directory.</summary>
    public void CreatePrivateDirectory(string path)
    {
        Directory.CreateDirectory(path);
        Chmod(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        GiveToQemu(path);
    }

    /// <summary>Creates <paramref name="path"/> (mode 0711) owned by the host: QEMU may pass through it, not list or change it.</summary>
    public static void CreateTraverseOnlyDirectory(string path)
    {
        const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        Directory.CreateDirectory(path);
        Chmod(path, Mode);
    }

    /// <summary>Mode 0600 and, when QEMU runs as another uid, owned by it.</summary>
    public void GiveToQemu(string path)
    {
        if (!Directory.Exists(path))
        {
            Chmod(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        if (UserId is { } uid && GroupId is { } gid)
        {
            NativeMethods.ChownOrThrow(path, uid, gid);
        }
    }

    /// <summary>Sets a Unix file mode (the provider runs on Linux only; a no-op elsewhere).</summary>
    public static void Chmod(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }
}
