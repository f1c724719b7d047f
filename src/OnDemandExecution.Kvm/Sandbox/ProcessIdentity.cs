using System.Globalization;
using OnDemandExecution.Processes;

namespace OnDemandExecution.Kvm.Sandbox;

/// <summary>
/// A process named by its pid and its start time (field 22 of <c>/proc/PID/stat</c>, clock ticks since boot), so that
/// a recycled pid is not taken for the process that once had it.
/// </summary>
internal readonly record struct ProcessIdentity(int Pid, long StartTime)
{
    /// <summary>The identity of a running process, or null when there is none with that pid.</summary>
    public static ProcessIdentity? Of(int pid) => ProcessStartTime.Of(pid) is { } start ? new ProcessIdentity(pid, start) : null;

    /// <summary>Whether this very process still runs (same pid and same start time).</summary>
    public bool IsRunning => Of(Pid) is { } now && now.StartTime == StartTime;

    /// <summary>Parses what <see cref="ToString"/> wrote.</summary>
    public static ProcessIdentity? Parse(string? text)
    {
        var parts = text?.Trim().Split(' ');
        return parts is { Length: 2 }
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            ? new ProcessIdentity(pid, start)
            : null;
    }

    /// <summary>"PID STARTTIME", the pid file format.</summary>
    public override string ToString() => Pid.ToString(CultureInfo.InvariantCulture) + " " + StartTime.ToString(CultureInfo.InvariantCulture);
}
