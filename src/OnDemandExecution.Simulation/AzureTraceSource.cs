using System.Globalization;

namespace OnDemandExecution.Simulation;

/// <summary>The files of one day of the Azure Functions 2019 trace (see <see cref="AzureFunctionsTrace"/>).</summary>
/// <param name="InvocationsPath">The invocations file (<c>invocations_per_function_md.anon.dNN.csv</c>).</param>
/// <param name="DurationsPath">The durations file, or null (every call then runs the default duration).</param>
/// <param name="MemoryPath">The memory file, or null (functions then have no memory of their own).</param>
public sealed record AzureTraceDay(string InvocationsPath, string? DurationsPath = null, string? MemoryPath = null);

/// <summary>
/// Days of the Azure trace read as they are replayed. Opening reads every day's files once for the functions (names,
/// memory); a pass then loads one day's per-minute counts at a time (sparse: only non-zero minutes) and draws that day's
/// invocations minute by minute: within a minute, row by row in file order, each row's calls spread uniformly at random
/// over the minute at millisecond resolution (a generator per day and row, seeded), then sorted by time, ties in row and
/// draw order. The first day gives exactly what the in-memory reader gave.
/// </summary>
internal sealed class AzureTraceSource : TraceSource
{
    private const int MinutesPerDay = 1440;

    private readonly AzureTraceDay[] _days;
    private readonly int _seed;
    private readonly TimeSpan _defaultDuration;
    private readonly Dictionary<(string Owner, string App, string Function), (string Tenant, string Function)> _names = [];
    private readonly Dictionary<string, TraceFunction> _functions = new(StringComparer.Ordinal);

    public AzureTraceSource(IReadOnlyList<AzureTraceDay> days, int seed, TimeSpan defaultDuration)
    {
        _days = days.ToArray();
        _seed = seed;
        _defaultDuration = defaultDuration;
        var lastMinute = 0;
        var used = new HashSet<string>(StringComparer.Ordinal);
        for (var d = 0; d < _days.Length; d++)
        {
            var day = _days[d];
            ArgumentNullException.ThrowIfNull(day);
            ArgumentException.ThrowIfNullOrWhiteSpace(day.InvocationsPath);
            var memory = day.MemoryPath is null ? [] : AzureFunctionsTrace.ReadMemory(day.MemoryPath);
            var file = DayFile.Read(day.InvocationsPath, countsToo: false);
            for (var row = 0; row < file.Rows.Count; row++)
            {
                var (owner, app, hash, trigger, _) = file.Rows[row];
                if (_names.ContainsKey((owner, app, hash)))
                {
                    continue;
                }

                var tenant = AzureFunctionsTrace.Shorten(owner, 12);
                var function = AzureFunctionsTrace.FunctionName(app, hash);
                if (!used.Add(tenant + "\n" + function))
                {
                    function = function + "-" + row.ToString(CultureInfo.InvariantCulture);
                    used.Add(tenant + "\n" + function);
                }

                _names[(owner, app, hash)] = (tenant, function);
                int? memoryMb = memory.TryGetValue((owner, app), out var mb) ? mb : null;
                _functions.TryAdd(function, new TraceFunction(function, trigger, memoryMb));
            }

            lastMinute = d == _days.Length - 1 ? (d * MinutesPerDay) + file.LastMinute : lastMinute;
        }

        Duration = TimeSpan.FromMinutes(lastMinute);
    }

    public override TimeSpan Duration { get; }

    public override IReadOnlyDictionary<string, TraceFunction> Functions => _functions;

    public override IEnumerable<TraceInvocation> ReadInvocations()
    {
        var buffer = new List<(long Ticks, int Order, TraceInvocation Invocation)>();
        for (var d = 0; d < _days.Length; d++)
        {
            var day = _days[d];
            var durations = day.DurationsPath is null ? [] : AzureFunctionsTrace.ReadDurations(day.DurationsPath);
            var file = DayFile.Read(day.InvocationsPath, countsToo: true);
            var rows = file.Rows.Count;
            var random = new Random?[rows];
            var percentiles = new double[]?[rows];
            var names = new (string Tenant, string Function)[rows];
            var cursor = new int[rows];
            for (var row = 0; row < rows; row++)
            {
                var (owner, app, hash, _, _) = file.Rows[row];
                names[row] = _names[(owner, app, hash)];
                percentiles[row] = durations.TryGetValue((owner, app, hash), out var p) ? p : null;
            }

            var dayStart = TimeSpan.FromMinutes(d * MinutesPerDay);
            foreach (var minute in file.Minutes)
            {
                buffer.Clear();
                for (var row = 0; row < rows; row++)
                {
                    var counts = file.Rows[row].Counts!;
                    if (cursor[row] >= counts.Count || counts[cursor[row]].Minute != minute)
                    {
                        continue;
                    }

                    var count = counts[cursor[row]++].Count;
                    var generator = random[row] ??= new Random(unchecked((_seed * 1_000_003) + row + (d * 7_919_111)));
                    var (tenant, function) = names[row];
                    for (var i = 0; i < count; i++)
                    {
                        var at = dayStart + TimeSpan.FromMinutes(minute - 1) + TimeSpan.FromMilliseconds(Math.Floor(generator.NextDouble() * 60_000));
                        var duration = percentiles[row] is { } pct ? TimeSpan.FromMilliseconds(AzureFunctionsTrace.Sample(pct, generator.NextDouble())) : _defaultDuration;
                        buffer.Add((at.Ticks, buffer.Count, new TraceInvocation(at, tenant, function, duration)));
                    }
                }

                buffer.Sort(static (a, b) => a.Ticks != b.Ticks ? a.Ticks.CompareTo(b.Ticks) : a.Order.CompareTo(b.Order));
                foreach (var entry in buffer)
                {
                    yield return entry.Invocation;
                }
            }
        }
    }

    /// <summary>One invocations file: its rows (with their non-zero minutes when asked) and its minute columns.</summary>
    private sealed class DayFile
    {
        public List<(string Owner, string App, string Function, string Trigger, List<(int Minute, int Count)>? Counts)> Rows { get; } = [];

        public List<int> Minutes { get; } = [];

        public int LastMinute => Minutes.Count == 0 ? 0 : Minutes[^1];

        public static DayFile Read(string path, bool countsToo)
        {
            var file = new DayFile();
            using var reader = new StreamReader(path);
            var columns = Csv.Header(reader.ReadLine(), path, "HashOwner", "HashApp", "HashFunction", "Trigger");
            var minuteColumns = new List<(int Column, int Minute)>();
            foreach (var (name, column) in columns)
            {
                if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var minute) && minute >= 1)
                {
                    minuteColumns.Add((column, minute));
                }
            }

            if (minuteColumns.Count == 0)
            {
                throw new FormatException($"{path}: the header has no minute columns (1, 2, ... 1440).");
            }

            minuteColumns.Sort((a, b) => a.Minute.CompareTo(b.Minute));
            file.Minutes.AddRange(minuteColumns.Select(c => c.Minute));
            var lineNumber = 1;
            while (reader.ReadLine() is { } line)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                var fields = Csv.Split(line);
                if (fields.Count < columns.Count)
                {
                    throw new FormatException($"{path}:{lineNumber}: expected {columns.Count} fields, found {fields.Count}.");
                }

                List<(int, int)>? counts = null;
                if (countsToo)
                {
                    counts = [];
                    foreach (var (column, minute) in minuteColumns)
                    {
                        var count = (int)Csv.Number(fields, column, path, lineNumber, minute.ToString(CultureInfo.InvariantCulture));
                        if (count > 0)
                        {
                            counts.Add((minute, count));
                        }
                    }
                }

                file.Rows.Add((fields[columns["HashOwner"]], fields[columns["HashApp"]], fields[columns["HashFunction"]], fields[columns["Trigger"]], counts));
            }

            return file;
        }
    }
}
