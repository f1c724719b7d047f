using System.Globalization;
using OnDemandExecution.Processes;

namespace OnDemandExecution.Oci.Runtime;

/// <summary>
/// Who this host process is, in a form that survives in container ids: the pid plus the process's start time (in
/// clock ticks since boot, /proc/PID/stat field 22), so a reused pid is not mistaken for the process that made a
/// container. Containers whose owner is gone are orphans and are reclaimed when the next provider starts.
/// </summary>
internal static class HostIdentity
{
    /// <summary>The effective user id of this process (from /proc/self/status), or -1 when it cannot be read.</summary>
    public static int EffectiveUserId()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    return parts.Length > 2 && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var euid) ? euid : -1;
                }
            }
        }
        catch (IOException)
        {
        }

        return -1;
    }

    /// <summary>The start time of process <paramref name="pid"/> in clock ticks since boot, or null when there is no such process.</summary>
    public static long? StartTime(int pid) => ProcessStartTime.Of(pid);

    /// <summary>The owner tag of this process: <c>PID-STARTTIME</c> (start time in base 36).</summary>
    public static string CurrentOwnerTag()
    {
        var pid = Environment.ProcessId;
        return pid.ToString(CultureInfo.InvariantCulture) + "-" + ToBase36(StartTime(pid) ?? 0);
    }

    /// <summary>Whether the process named by an owner tag (<c>PID-STARTTIME</c>) is still running.</summary>
    public static bool IsOwnerAlive(string ownerTag)
    {
        var dash = ownerTag.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0 || !int.TryParse(ownerTag.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return true; // not ours to judge
        }

        var start = StartTime(pid);
        return start is not null && ToBase36(start.Value) == ownerTag[(dash + 1)..];
    }

    internal static string ToBase36(long value)
    {
        const string Digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        if (value <= 0)
        {
            return "0";
        }

        Span<char> buffer = stackalloc char[16];
        var i = buffer.Length;
        while (value > 0)
        {
            buffer[--i] = Digits[(int)(value % 36)];
            value /= 36;
        }

        return new string(buffer[i..]);
    }
}
