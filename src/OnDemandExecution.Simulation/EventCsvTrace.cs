using System.Globalization;

namespace OnDemandExecution.Simulation;

/// <summary>
/// The event trace format: one invocation per row, with a header row
/// <c>timestamp,tenant,function,duration_ms[,pretrigger]</c>. <c>timestamp</c> is seconds from the start of the trace
/// (a decimal number) or an ISO 8601 date-time (then taken relative to the earliest row); <c>duration_ms</c> is the
/// execution time in milliseconds; <c>pretrigger</c> is an optional key of an event that announces the invocation.
/// </summary>
public static class EventCsvTrace
{
    /// <summary>The header row <see cref="Write"/> emits.</summary>
    public const string HeaderRow = "timestamp,tenant,function,duration_ms,pretrigger";

    /// <summary>Reads a trace.</summary>
    /// <param name="path">The CSV file.</param>
    /// <returns>The trace.</returns>
    /// <exception cref="FormatException">A row or the header is malformed (the message names the line).</exception>
    public static Trace Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var reader = new StreamReader(path);
        var columns = Csv.Header(reader.ReadLine(), path, "timestamp", "tenant", "function", "duration_ms");
        int time = columns["timestamp"], tenant = columns["tenant"], function = columns["function"], duration = columns["duration_ms"];
        var preTrigger = columns.TryGetValue("pretrigger", out var p) ? p : -1;
        var rows = new List<(double? Seconds, DateTimeOffset? At, string Tenant, string Function, double DurationMs, string? PreTrigger)>();
        var lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var fields = Csv.Split(line);
            if (fields.Count <= Math.Max(Math.Max(time, tenant), Math.Max(function, duration)))
            {
                throw new FormatException($"{path}:{lineNumber}: expected at least {columns.Count} fields, found {fields.Count}.");
            }

            double? seconds = null;
            DateTimeOffset? at = null;
            if (double.TryParse(fields[time], NumberStyles.Float, CultureInfo.InvariantCulture, out var s))
            {
                seconds = s;
            }
            else if (DateTimeOffset.TryParse(fields[time], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d))
            {
                at = d;
            }
            else
            {
                throw new FormatException($"{path}:{lineNumber}: 'timestamp' is neither seconds nor an ISO 8601 date-time ('{fields[time]}').");
            }

            var ms = Csv.Number(fields, duration, path, lineNumber, "duration_ms");
            if (ms < 0 || seconds < 0)
            {
                throw new FormatException($"{path}:{lineNumber}: timestamp and duration_ms must not be negative.");
            }

            if (string.IsNullOrWhiteSpace(fields[tenant]) || string.IsNullOrWhiteSpace(fields[function]))
            {
                throw new FormatException($"{path}:{lineNumber}: tenant and function must not be empty.");
            }

            var key = preTrigger >= 0 && preTrigger < fields.Count && fields[preTrigger].Length > 0 ? fields[preTrigger] : null;
            rows.Add((seconds, at, fields[tenant], fields[function], ms, key));
        }

        var origin = rows.Where(r => r.At.HasValue).Select(r => r.At!.Value).DefaultIfEmpty().Min();
        return new Trace(rows.Select(r => new TraceInvocation(
            r.Seconds is { } sec ? TimeSpan.FromSeconds(sec) : r.At!.Value - origin,
            r.Tenant,
            r.Function,
            TimeSpan.FromMilliseconds(r.DurationMs),
            r.PreTrigger)));
    }

    /// <summary>Writes a trace (timestamps in seconds from its start).</summary>
    /// <param name="trace">The trace.</param>
    /// <param name="path">The CSV file to create or overwrite.</param>
    public static void Write(Trace trace, string path)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var writer = new StreamWriter(path);
        writer.NewLine = "\n";
        writer.WriteLine(HeaderRow);
        foreach (var i in trace.Invocations)
        {
            writer.WriteLine(string.Join(
                ',',
                Csv.Format(Math.Round(i.Time.TotalSeconds, 3)),
                Csv.Escape(i.Tenant),
                Csv.Escape(i.Function),
                Csv.Format(Math.Round(i.Duration.TotalMilliseconds, 3)),
                i.PreTrigger is null ? string.Empty : Csv.Escape(i.PreTrigger)));
        }
    }
}
