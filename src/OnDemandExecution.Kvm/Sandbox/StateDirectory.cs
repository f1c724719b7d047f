using System.Globalization;
using Microsoft.Extensions.Logging;
using OnDemandExecution.Kvm.Diagnostics;

namespace OnDemandExecution.Kvm.Sandbox;

/// <summary>
/// The provider's state directory: under a root shared by every host process
/// (<see cref="KvmProviderOptions.WorkingDirectory"/>), each provider instance owns <c>h-PID-START/</c> with a
/// <c>host.pid</c> file, and each QEMU it starts a directory with a <c>qemu.pid</c> file. Pid files hold the pid and
/// the process start time, so a recycled pid is never taken for the process that wrote it. At start the provider
/// reclaims the directories of host processes that are gone: it SIGKILLs the QEMUs they list (only a process whose
/// pid and start time both match) and deletes the directories. Directories of live hosts and anything else under the
/// root are left alone.
/// </summary>
internal static class StateDirectory
{
    public const string HostPidFile = "host.pid";
    public const string QemuPidFile = "qemu.pid";
    private const string HostPrefix = "h-";

    /// <summary>Creates this provider's host directory under <paramref name="root"/> and writes its pid file.</summary>
    public static string CreateHostDirectory(string root)
    {
        QemuSandbox.CreateTraverseOnlyDirectory(root);
        var me = ProcessIdentity.Of(Environment.ProcessId) ?? new ProcessIdentity(Environment.ProcessId, 0);
        // several providers may live in one process: a random suffix keeps their directories apart
        var dir = Path.Combine(root, HostPrefix + me.Pid.ToString(CultureInfo.InvariantCulture) + "-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3)).ToLowerInvariant());
        QemuSandbox.CreateTraverseOnlyDirectory(dir);
        WritePidFile(Path.Combine(dir, HostPidFile), me);
        return dir;
    }

    /// <summary>Writes a pid file (mode 0600, host-owned).</summary>
    public static void WritePidFile(string path, ProcessIdentity identity)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, identity.ToString() + "\n");
        QemuSandbox.Chmod(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>
    /// Reclaims what dead host processes left under <paramref name="root"/>: kills their QEMUs and deletes their
    /// directories. Returns how many QEMU processes were killed and how many host directories were deleted.
    /// </summary>
    public static (int Killed, int Deleted) Reclaim(string root, ILogger logger)
    {
        if (!Directory.Exists(root))
        {
            return (0, 0);
        }

        int killed = 0, deleted = 0;
        foreach (var hostDir in Directory.EnumerateDirectories(root, HostPrefix + "*"))
        {
            var host = ReadPidFile(Path.Combine(hostDir, HostPidFile));
            if (host is null || host.Value.IsRunning)
            {
                continue; // not ours to judge (no pid file) or its host lives
            }

            foreach (var vmDir in Directory.EnumerateDirectories(hostDir))
            {
                if (ReadPidFile(Path.Combine(vmDir, QemuPidFile)) is { } qemu && qemu.IsRunning)
                {
                    // its parent is gone, so init reaps it
                    NativeMethods.Kill(qemu.Pid, NativeMethods.SigKill);
                    killed++;
                }
            }

            try
            {
                Directory.Delete(hostDir, recursive: true);
                deleted++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                KvmLog.CleanupFailed(logger, hostDir, ex);
            }
        }

        if (killed + deleted > 0)
        {
            KvmLog.OrphansReclaimed(logger, killed, deleted, root);
        }

        return (killed, deleted);
    }

    private static ProcessIdentity? ReadPidFile(string path)
    {
        try
        {
            return File.Exists(path) ? ProcessIdentity.Parse(File.ReadAllText(path)) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
