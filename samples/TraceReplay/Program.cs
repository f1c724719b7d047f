// Replays a trace with every keep-alive policy on virtual time, prints the results side by side and plots cold-start %
// against idle memory (one point per policy).
//
//   dotnet run -c Release --project samples/TraceReplay                       the timer-heavy synthetic preset
//   ... -- --preset mixed                                                       another preset (timer-heavy, mixed, poisson)
//   ... -- --events traces/timer-heavy.events.csv                               an event trace
//   ... -- --azure traces/x/invocations_per_function_md.anon.d01.csv [--durations F] [--memory F]
//   ... -- --all traces                                                         every sample trace in a folder
//   ... -- --generate traces                                                    (re)writes the sample traces
// Options: --plot FILE.svg|.png (default trace-replay.svg), --markdown FILE (appends the tables), --seed N, --hours H.
using System.Globalization;
using OnDemandExecution.Simulation;
using TraceReplay;

if (GcBudget.TryRunWithLargerBudget(args, out var childExitCode))
{
    return childExitCode;
}

var arguments = Arguments.Parse(args);
if (arguments.Get("--generate") is { } generateDir)
{
    SampleTraces.Generate(generateDir, arguments.Seed);
    return 0;
}

var traces = new List<(string Name, TraceSource Trace)>();
if (arguments.Get("--all") is { } dir)
{
    traces.AddRange(SampleTraces.ReadAll(dir, arguments.Seed));
}
else if (arguments.Get("--events") is { } events)
{
    traces.Add((Path.GetFileName(events), EventCsvTrace.Open(events)));
}
else if (arguments.Get("--azure") is { } azure)
{
    traces.Add((Path.GetFileName(azure), AzureFunctionsTrace.Open(azure, arguments.Get("--durations"), arguments.Get("--memory"), arguments.Seed)));
}
else
{
    var preset = arguments.Get("--preset") ?? "timer-heavy";
    var hours = double.Parse(arguments.Get("--hours") ?? "6", CultureInfo.InvariantCulture);
    traces.Add(("synthetic " + preset, SyntheticTraceGenerator.Preset(preset, arguments.Seed, TimeSpan.FromHours(hours))));
}

var plotPath = arguments.Get("--plot") ?? "trace-replay.svg";
var markdown = arguments.Get("--markdown");
var series = new List<(string Trace, IReadOnlyList<ReplayResult> Results)>();
foreach (var (name, trace) in traces)
{
    var started = TimeProvider.System.GetTimestamp();
    var results = TraceReplayer.ReplayAll(trace, [.. KeepAlivePolicySpec.Standard, KeepAlivePolicySpec.Adaptive(300)]);
    var wall = TimeProvider.System.GetElapsedTime(started);
    var invocations = results.Count > 0 ? results[0].Invocations : 0;
    var title = $"{name}: {invocations:N0} invocations of {trace.Functions.Count} functions over {trace.Duration.TotalHours:0.#} h of virtual time, replayed with {results.Count} policies ({Environment.ProcessorCount} at a time) in {wall.TotalSeconds:0.0} s of wall time";
    var table = ResultTable.Format(results);
    Console.WriteLine(title);
    Console.WriteLine();
    Console.WriteLine(table);
    if (markdown is not null)
    {
        File.AppendAllText(markdown, $"### {title}\n\n{table}\n");
    }

    if (arguments.Get("--details") is not null)
    {
        foreach (var r in results)
        {
            Console.WriteLine(r.Policy + ": " + string.Join(", ", r.Functions.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key} {f.Value.Cold}/{f.Value.WarmPool}/{f.Value.Warm}")));
        }
    }

    series.Add((name, results));
}

Plot.Write(plotPath, series);
Console.WriteLine($"Plot written to {Path.GetFullPath(plotPath)}");
return 0;
