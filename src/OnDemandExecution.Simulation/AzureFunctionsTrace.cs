using System.Globalization;
using System.Text.RegularExpressions;

namespace OnDemandExecution.Simulation;

/// <summary>
/// The Azure Functions 2019 public trace format (Shahrad et al., USENIX ATC 2020): per day,
/// <c>invocations_per_function_md.anon.dNN.csv</c> (HashOwner, HashApp, HashFunction, Trigger, then the invocation
/// counts of minutes 1 to 1440), optionally <c>function_durations_percentiles.anon.dNN.csv</c> (HashOwner, HashApp,
/// HashFunction, Average, Count, Minimum, Maximum, percentile_Average_0/1/25/50/75/99/100, in milliseconds) and
/// <c>app_memory_percentiles.anon.dNN.csv</c> (HashOwner, HashApp, SampleCount, AverageAllocatedMb, percentiles).
/// </summary>
/// <remarks>
/// Reading spreads each minute's invocations uniformly at random within the minute (seeded, per row), draws each
/// invocation's duration from the function's duration percentiles (piecewise-linear between them) or uses
/// the default duration, and takes the app's average allocated memory as each of its functions' memory.
/// The owner is the tenant. Long hashes are shortened to 12 characters (owner) and app.function (12 + 12) to fit
/// function names.
/// </remarks>
public static partial class AzureFunctionsTrace
{
    private static readonly string[] DurationPercentileColumns =
        ["percentile_Average_0", "percentile_Average_1", "percentile_Average_25", "percentile_Average_50", "percentile_Average_75", "percentile_Average_99", "percentile_Average_100"];

    private static readonly double[] DurationPercentiles = [0, 0.01, 0.25, 0.50, 0.75, 0.99, 1.0];

    /// <summary>Reads a day of the trace into memory (<see cref="Open(string, string?, string?, int, TimeSpan?)"/>, materialised).</summary>
    /// <param name="invocationsPath">The invocations file.</param>
    /// <param name="durationsPath">The durations file, or null.</param>
    /// <param name="memoryPath">The memory file, or null.</param>
    /// <param name="seed">Seeds how invocations are spread within their minute and how durations are drawn.</param>
    /// <param name="defaultDuration">The duration of functions the durations file does not list; default 100 ms.</param>
    /// <returns>The trace; it lasts as many minutes as the file has minute columns.</returns>
    /// <exception cref="FormatException">A file is malformed (the message names the line).</exception>
    public static Trace Read(string invocationsPath, string? durationsPath = null, string? memoryPath = null, int seed = 1, TimeSpan? defaultDuration = null)
    {
        var source = Open(invocationsPath, durationsPath, memoryPath, seed, defaultDuration);
        return new Trace(source.ReadInvocations(), source.Duration, source.Functions.Values);
    }

    /// <summary>
    /// Opens a day of the trace to be read as it is replayed: the per-minute counts are held (sparse), and each replay
    /// draws the invocations minute by minute, so memory is bounded by the files, not by the number of invocations.
    /// </summary>
    /// <param name="invocationsPath">The invocations file.</param>
    /// <param name="durationsPath">The durations file, or null.</param>
    /// <param name="memoryPath">The memory file, or null.</param>
    /// <param name="seed">Seeds how invocations are spread within their minute and how durations are drawn.</param>
    /// <param name="defaultDuration">The duration of functions the durations file does not list; default 100 ms.</param>
    /// <returns>The source; it ends with its last minute column (the accounting horizon).</returns>
    /// <exception cref="FormatException">A file is malformed (the message names the line).</exception>
    public static TraceSource Open(string invocationsPath, string? durationsPath = null, string? memoryPath = null, int seed = 1, TimeSpan? defaultDuration = null) =>
        Open([new AzureTraceDay(invocationsPath, durationsPath, memoryPath)], seed, defaultDuration);

    /// <summary>
    /// Opens several consecutive days of the trace as one, day after day (day k starts at k x 1440 minutes): a function
    /// (owner, app, function hashes) keeps its name across days. Only the day being replayed is held in memory.
    /// </summary>
    /// <param name="days">The days, in order.</param>
    /// <param name="seed">Seeds how invocations are spread within their minute and how durations are drawn.</param>
    /// <param name="defaultDuration">The duration of functions a day's durations file does not list; default 100 ms.</param>
    /// <returns>The source; it ends with the last day's last minute column.</returns>
    /// <exception cref="FormatException">A file is malformed (the message names the line).</exception>
    public static TraceSource Open(IReadOnlyList<AzureTraceDay> days, int seed = 1, TimeSpan? defaultDuration = null)
    {
        ArgumentNullException.ThrowIfNull(days);
        ArgumentOutOfRangeException.ThrowIfZero(days.Count);
        return new AzureTraceSource(days, seed, defaultDuration ?? TimeSpan.FromMilliseconds(100));
    }

    /// <summary>
    /// Writes a trace in this format: per-minute counts per (tenant, function), and the durations and memory files when
    /// their paths are given. The tenant is the owner; each function is its own app.
    /// </summary>
    /// <param name="trace">The trace (at most 1440 minutes are written; later invocations are dropped).</param>
    /// <param name="invocationsPath">The invocations file to create.</param>
    /// <param name="durationsPath">The durations file to create, or null.</param>
    /// <param name="memoryPath">The memory file to create, or null.</param>
    /// <param name="defaultMemoryMb">The memory written for functions whose memory the trace does not know.</param>
    public static void Write(Trace trace, string invocationsPath, string? durationsPath = null, string? memoryPath = null, int defaultMemoryMb = 256)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentException.ThrowIfNullOrWhiteSpace(invocationsPath);
        var minutes = (int)Math.Clamp(Math.Ceiling(trace.Duration.TotalMinutes), 1, 1440);
        var groups = trace.Invocations
            .Where(i => i.Time < TimeSpan.FromMinutes(minutes))
            .GroupBy(i => (i.Tenant, i.Function))
            .OrderBy(g => g.Key.Tenant, StringComparer.Ordinal)
            .ThenBy(g => g.Key.Function, StringComparer.Ordinal)
            .ToList();

        using (var writer = new StreamWriter(invocationsPath))
        {
            writer.NewLine = "\n";
            writer.WriteLine("HashOwner,HashApp,HashFunction,Trigger," + string.Join(',', Enumerable.Range(1, minutes)));
            foreach (var group in groups)
            {
                var counts = new int[minutes];
                foreach (var i in group)
                {
                    counts[(int)i.Time.TotalMinutes]++;
                }

                var trigger = trace.Functions.TryGetValue(group.Key.Function, out var f) && f.Trigger is { } t ? t : "http";
                writer.WriteLine($"{Csv.Escape(group.Key.Tenant)},{Csv.Escape(group.Key.Function)},{Csv.Escape(group.Key.Function)},{Csv.Escape(trigger)},{string.Join(',', counts)}");
            }
        }

        if (durationsPath is not null)
        {
            using var writer = new StreamWriter(durationsPath);
            writer.NewLine = "\n";
            writer.WriteLine("HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum," + string.Join(',', DurationPercentileColumns));
            foreach (var group in groups)
            {
                var ms = group.Select(i => i.Duration.TotalMilliseconds).Order().ToArray();
                var values = DurationPercentiles.Select(p => Csv.Format(Math.Round(ms[(int)Math.Round(p * (ms.Length - 1))], 3)));
                writer.WriteLine($"{Csv.Escape(group.Key.Tenant)},{Csv.Escape(group.Key.Function)},{Csv.Escape(group.Key.Function)},{Csv.Format(Math.Round(ms.Average(), 3))},{ms.Length},{Csv.Format(ms[0])},{Csv.Format(ms[^1])},{string.Join(',', values)}");
            }
        }

        if (memoryPath is not null)
        {
            using var writer = new StreamWriter(memoryPath);
            writer.NewLine = "\n";
            writer.WriteLine("HashOwner,HashApp,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1,AverageAllocatedMb_pct5,AverageAllocatedMb_pct25,AverageAllocatedMb_pct50,AverageAllocatedMb_pct75,AverageAllocatedMb_pct95,AverageAllocatedMb_pct99,AverageAllocatedMb_pct100");
            foreach (var group in groups)
            {
                var mb = (trace.Functions.TryGetValue(group.Key.Function, out var f) ? f.MemoryMb : null) ?? defaultMemoryMb;
                var value = mb.ToString(CultureInfo.InvariantCulture);
                writer.WriteLine($"{Csv.Escape(group.Key.Tenant)},{Csv.Escape(group.Key.Function)},{group.Count()},{value},{string.Join(',', Enumerable.Repeat(value, 8))}");
            }
        }
    }

    internal static Dictionary<(string Owner, string App, string Function), double[]> ReadDurations(string path)
    {
        var result = new Dictionary<(string, string, string), double[]>();
        using var reader = new StreamReader(path);
        var columns = Csv.Header(reader.ReadLine(), path, ["HashOwner", "HashApp", "HashFunction", .. DurationPercentileColumns]);
        var lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var fields = Csv.Split(line);
            var values = DurationPercentileColumns.Select(c => Math.Max(0, Csv.Number(fields, columns[c], path, lineNumber, c))).ToArray();
            for (var i = 1; i < values.Length; i++)
            {
                values[i] = Math.Max(values[i], values[i - 1]); // percentiles never decrease
            }

            result[(fields[columns["HashOwner"]], fields[columns["HashApp"]], fields[columns["HashFunction"]])] = values;
        }

        return result;
    }

    internal static Dictionary<(string Owner, string App), int> ReadMemory(string path)
    {
        var result = new Dictionary<(string, string), int>();
        using var reader = new StreamReader(path);
        var columns = Csv.Header(reader.ReadLine(), path, "HashOwner", "HashApp", "AverageAllocatedMb");
        var lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var fields = Csv.Split(line);
            var mb = Csv.Number(fields, columns["AverageAllocatedMb"], path, lineNumber, "AverageAllocatedMb");
            result[(fields[columns["HashOwner"]], fields[columns["HashApp"]])] = Math.Max(1, (int)Math.Round(mb));
        }

        return result;
    }

    /// <summary>Inverse CDF, linear between the given percentiles.</summary>
    internal static double Sample(double[] values, double u)
    {
        for (var i = 1; i < DurationPercentiles.Length; i++)
        {
            if (u <= DurationPercentiles[i])
            {
                var span = DurationPercentiles[i] - DurationPercentiles[i - 1];
                var f = span <= 0 ? 0 : (u - DurationPercentiles[i - 1]) / span;
                return values[i - 1] + (f * (values[i] - values[i - 1]));
            }
        }

        return values[^1];
    }

    internal static string FunctionName(string app, string function)
    {
        var name = function.Length <= 24 ? function : Shorten(app, 12) + "." + Shorten(function, 12);
        name = InvalidNameCharacters().Replace(name, "_");
        return name.Length == 0 ? "function" : name;
    }

    internal static string Shorten(string value, int length) => value.Length <= 24 ? value : value[..length];

    [GeneratedRegex("[^A-Za-z0-9._/-]", RegexOptions.CultureInvariant)]
    private static partial Regex InvalidNameCharacters();
}
