using System.Runtime.InteropServices;

namespace OnDemandExecution.Kvm.Sandbox;

/// <summary>The few libc calls .NET has no API for.</summary>
internal static partial class NativeMethods
{
    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    [LibraryImport("libc", EntryPoint = "chown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Chown(string path, int owner, int group);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    /// <summary>SIGKILL.</summary>
    public const int SigKill = 9;

    /// <summary>chown, throwing <see cref="IOException"/> with errno on failure.</summary>
    public static void ChownOrThrow(string path, int uid, int gid)
    {
        if (Chown(path, uid, gid) != 0)
        {
            throw new IOException($"chown {uid}:{gid} {path} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
    }
}
