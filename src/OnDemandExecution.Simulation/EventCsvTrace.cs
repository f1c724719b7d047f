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

    /// <summary>Reads a whole trace into memory (rows in any order; they are sorted by time).</summary>
    /// <param name="path">The CSV file.</param>
    /// <returns>The trace.</returns>
    /// <exception cref="FormatException">A row or the header is malformed (the message names the line).</exception>
    public static Trace Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var rows = Rows(path).ToList();
        var origin = rows.Where(r => r.At.HasValue).Select(r => r.At!.Value).DefaultIfEmpty().Min();
        return new Trace(rows.Select(r => r.ToInvocation(origin)));
    }

    /// <summary>
    /// Opens a trace to be read as it is replayed (bounded memory): one pass now checks every row and collects the
    /// functions and the end, and each replay reads the file again, row by row. Rows must be in time order.
    /// </summary>
    /// <param name="path">The CSV file.</param>
    /// <returns>The source; its end is the latest arrival plus its duration.</returns>
    /// <exception cref="FormatException">A row or the header is malformed, or a row arrives before the one above it (the message names the line).</exception>
    public static TraceSource Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        DateTimeOffset? origin = null;
        var functions = new Dictionary<string, TraceFunction>(StringComparer.Ordinal);
        var last = TimeSpan.Zero;
        var end = TimeSpan.Zero;
        foreach (var row in Rows(path))
        {
            origin ??= row.At;
            var invocation = row.ToInvocation(origin ?? default);
            if (invocation.Time < last)
            {
                throw new FormatException($"{path}:{row.Line}: the row arrives at {invocation.Time} before the row above it ({last}); a streamed trace must be in time order (EventCsvTrace.Read sorts in memory).");
            }

            last = invocation.Time;
            end = invocation.Time + invocation.Duration > end ? invocation.Time + invocation.Duration : end;
            functions.TryAdd(invocation.Function, new TraceFunction(invocation.Function));
        }

        return new Source(path, origin ?? default, end, functions);
    }

    private static IEnumerable<Row> Rows(string path)
    {
        using var reader = new StreamReader(path);
        var columns = Csv.Header(reader.ReadLine(), path, "timestamp", "tenant", "function", "duration_ms");
        int time = columns["timestamp"], tenant = columns["tenant"], function = columns["function"], duration = columns["duration_ms"];
        var preTrigger = columns.TryGetValue("pretrigger", out var p) ? p : -1;
        var names = new Dictionary<string, string>(StringComparer.Ordinal); // one string per distinct name
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
            yield return new Row(lineNumber, seconds, at, Intern(names, fields[tenant]), Intern(names, fields[function]), ms, key);
        }
    }

    private static string Intern(Dictionary<string, string> names, string value)
    {
        if (names.TryGetValue(value, out var known))
        {
            return known;
        }

        names[value] = value;
        return value;
    }

    private readonly record struct Row(int Line, double? Seconds, DateTimeOffset? At, string Tenant, string Function, double DurationMs, string? PreTrigger)
    {
        public TraceInvocation ToInvocation(DateTimeOffset origin) => new(
            Seconds is { } sec ? TimeSpan.FromSeconds(sec) : At!.Value - origin,
            Tenant,
            Function,
            TimeSpan.FromMilliseconds(DurationMs),
            PreTrigger);
    }

    /// <summary>A streamed event trace: each pass reads the file again.</summary>
    private sealed class Source(string path, DateTimeOffset origin, TimeSpan end, IReadOnlyDictionary<string, TraceFunction> functions) : TraceSource
    {
        public override TimeSpan Duration => end;

        public override IReadOnlyDictionary<string, TraceFunction> Functions => functions;

        public override IEnumerable<TraceInvocation> ReadInvocations()
        {
            foreach (var row in Rows(path))
            {
                yield return row.ToInvocation(origin);
            }
        }
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
