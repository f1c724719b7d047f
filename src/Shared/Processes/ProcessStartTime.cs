using System.Globalization;

namespace OnDemandExecution.Processes;

/// <summary>
/// The start time of a process (field 22 of <c>/proc/PID/stat</c>, clock ticks since boot): with the pid, it names a
/// process so that a recycled pid is not taken for the process that once had it. Compiled into each provider that
/// reclaims what a dead host left (KVM, OCI).
/// </summary>
internal static class ProcessStartTime
{
    /// <summary>The start time of process <paramref name="pid"/>, or null when there is no such process (or it cannot be read).</summary>
    public static long? Of(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // the command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'
        var close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state), so field 22 (starttime) is fields[19]
        return fields.Length > 19 && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start) ? start : null;
    }
}
