using OnDemandExecution.Simulation;

namespace TraceReplay;

/// <summary>The repository's sample traces: synthetic presets written in both formats.</summary>
internal static class SampleTraces
{
    private static readonly string[] Presets = ["timer-heavy", "mixed"];

    public static void Generate(string directory, int seed)
    {
        Directory.CreateDirectory(directory);
        foreach (var preset in Presets)
        {
            var trace = SyntheticTraceGenerator.Preset(preset, seed, TimeSpan.FromHours(6));
            EventCsvTrace.Write(trace, Path.Combine(directory, preset + ".events.csv"));
            var azure = Path.Combine(directory, preset + "-azure");
            Directory.CreateDirectory(azure);
            AzureFunctionsTrace.Write(
                trace,
                Path.Combine(azure, "invocations_per_function_md.anon.d01.csv"),
                Path.Combine(azure, "function_durations_percentiles.anon.d01.csv"),
                Path.Combine(azure, "app_memory_percentiles.anon.d01.csv"));
            Console.WriteLine($"{preset}: {trace.Invocations.Count:N0} invocations of {trace.Functions.Count} functions over {trace.Duration.TotalHours:0.#} h -> {directory}");
        }
    }

    public static IEnumerable<(string Name, TraceSource Trace)> ReadAll(string directory, int seed)
    {
        foreach (var events in Directory.GetFiles(directory, "*.events.csv").Order(StringComparer.Ordinal))
        {
            yield return (Path.GetFileName(events), EventCsvTrace.Open(events));
        }

        foreach (var azure in Directory.GetDirectories(directory).Order(StringComparer.Ordinal))
        {
            var invocations = Directory.GetFiles(azure, "invocations_per_function_md.anon.d*.csv");
            foreach (var file in invocations.Order(StringComparer.Ordinal))
            {
                var day = Path.GetFileName(file)["invocations_per_function_md.anon.".Length..];
                var durations = Path.Combine(azure, "function_durations_percentiles.anon." + day);
                var memory = Path.Combine(azure, "app_memory_percentiles.anon." + day);
                yield return (
                    Path.GetFileName(azure) + "/" + Path.GetFileName(file),
                    AzureFunctionsTrace.Open(file, File.Exists(durations) ? durations : null, File.Exists(memory) ? memory : null, seed));
            }
        }
    }
}
