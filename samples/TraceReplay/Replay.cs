using OnDemandExecution.Simulation;

namespace TraceReplay;

/// <summary>What the program does once its command line is valid.</summary>
internal static class Replay
{
    public static int Run(Cli.Request request)
    {
        if (request.Generate is { } generate)
        {
            SampleTraces.Generate(generate.FullName, request.Seed);
            return Cli.Ok;
        }

        if (GcBudget.TryRunWithLargerBudget(Environment.GetCommandLineArgs()[1..], out var childExitCode))
        {
            return childExitCode;
        }

        var traces = new List<(string Name, TraceSource Trace)>();
        if (request.All is { } dir)
        {
            traces.AddRange(SampleTraces.ReadAll(dir.FullName, request.Seed));
        }
        else if (request.Events is { } events)
        {
            traces.Add((events.Name, EventCsvTrace.Open(events.FullName)));
        }
        else if (request.Azure is { } azure)
        {
            traces.Add((azure.Name, AzureFunctionsTrace.Open(azure.FullName, request.Durations?.FullName, request.Memory?.FullName, request.Seed)));
        }
        else
        {
            var preset = request.Preset ?? "timer-heavy";
            traces.Add(("synthetic " + preset, SyntheticTraceGenerator.Preset(preset, request.Seed, TimeSpan.FromHours(request.Hours))));
        }

        var series = new List<(string Trace, IReadOnlyList<ReplayResult> Results)>();
        foreach (var (name, trace) in traces)
        {
            var started = TimeProvider.System.GetTimestamp();
            var results = ProgressDisplay.Run(request.Progress, request.Policies, progress => TraceReplayer.ReplayAll(trace, request.Policies, new ReplayOptions { Progress = progress }));
            var wall = TimeProvider.System.GetElapsedTime(started);
            var invocations = results.Count > 0 ? results[0].Invocations : 0;
            var title = $"{name}: {invocations:N0} invocations of {trace.Functions.Count} functions over {trace.Duration.TotalHours:0.#} h of virtual time, replayed with {results.Count} policies ({Math.Min(Environment.ProcessorCount, results.Count)} at a time) in {wall.TotalSeconds:0.0} s of wall time";
            var table = ResultTable.Format(results);
            Console.WriteLine(title);
            Console.WriteLine();
            Console.WriteLine(table);
            if (request.Markdown is { } markdown)
            {
                File.AppendAllText(markdown, $"### {title}\n\n{table}\n");
            }

            if (request.Details)
            {
                foreach (var r in results)
                {
                    Console.WriteLine(r.Policy + ": " + string.Join(", ", r.Functions.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key} {f.Value.Cold}/{f.Value.WarmPool}/{f.Value.Warm}")));
                }
            }

            series.Add((name, results));
        }

        Plot.Write(request.Plot, series);
        Console.WriteLine($"Plot written to {Path.GetFullPath(request.Plot)}");
        return Cli.Ok;
    }
}
