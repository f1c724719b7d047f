using System.Collections.Concurrent;
using OnDemandExecution.Simulation;
using Spectre.Console;

namespace TraceReplay;

/// <summary>A progress bar per policy, shown on a terminal once a replay has run for a second.</summary>
internal static class ProgressDisplay
{
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(1);

    public static IReadOnlyList<ReplayResult> Run(bool enabled, IReadOnlyList<KeepAlivePolicySpec> policies, Func<IProgress<ReplayProgress>?, IReadOnlyList<ReplayResult>> replay)
    {
        if (!enabled || Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            return replay(null);
        }

        var fractions = new ConcurrentDictionary<string, double>(StringComparer.Ordinal);
        var running = Task.Factory.StartNew(() => replay(new Reporter(fractions)), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (!running.Wait(Delay))
        {
            AnsiConsole.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(context =>
                {
                    var bars = policies.ToDictionary(p => p.Name, p => context.AddTask(p.Name, maxValue: 1), StringComparer.Ordinal);
                    while (!running.Wait(TimeSpan.FromMilliseconds(200)))
                    {
                        foreach (var (name, fraction) in fractions)
                        {
                            if (bars.TryGetValue(name, out var bar))
                            {
                                bar.Value = fraction;
                            }
                        }
                    }
                });
        }

        return running.GetAwaiter().GetResult();
    }

    /// <summary>Records the latest fraction per policy (no synchronization context: reports come from replay threads).</summary>
    private sealed class Reporter(ConcurrentDictionary<string, double> fractions) : IProgress<ReplayProgress>
    {
        public void Report(ReplayProgress value) => fractions[value.Policy] = value.Fraction;
    }
}
