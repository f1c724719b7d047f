using OnDemandExecution.Simulation;
using Xunit.Abstractions;

namespace OnDemandExecution.Prediction.Tests;

[CollectionDefinition("replays", DisableParallelization = true)]
public sealed class ReplayGroup;

/// <summary>The correlator against the real pools and executor in the trace-replay simulator (virtual time).</summary>
[Collection("replays")]
public class SimulatorTests(ITestOutputHelper output)
{
    /// <summary>Functions that follow a pre-trigger in the chain workload.</summary>
    public static readonly string[] Followers = ["invoice", "thumbnail", "transform"];

    /// <summary>
    /// Three chains (A -> N x B after a delay) in three tenants, plus Poisson traffic in the same tenants that follows
    /// nothing (a spurious follower candidate for every window), for four hours.
    /// </summary>
    public static Trace ChainTrace(int seed = 7) => SyntheticTraceGenerator.Generate(
        [
            new ChainWorkload("tenant-0", "order", TimeSpan.FromMilliseconds(200), "invoice", 0.5, 5, TimeSpan.FromSeconds(2)),
            new ChainWorkload("tenant-1", "upload", TimeSpan.FromMilliseconds(500), "thumbnail", 0.3, 4, TimeSpan.FromSeconds(1)),
            new ChainWorkload("tenant-2", "etl", TimeSpan.FromMilliseconds(300), "transform", 0.2, 8, TimeSpan.FromSeconds(5)),
            new PoissonWorkload("tenant-0", "api", TimeSpan.FromMilliseconds(100), 6),
            new PoissonWorkload("tenant-1", "status", TimeSpan.FromMilliseconds(100), 2),
            new PoissonWorkload("tenant-2", "report", TimeSpan.FromMilliseconds(300), 0.5),
        ],
        TimeSpan.FromHours(4),
        seed);

    /// <summary>The keep-alive both replays use: instances wait 30 s after a call (the chains come minutes apart).</summary>
    public static KeepAlivePolicySpec Baseline { get; } = KeepAlivePolicySpec.Fixed(TimeSpan.FromSeconds(30));

    /// <summary>No generic warming pool: a start that is not a warm hit is a cold start, so the comparison is about the followers' own instances.</summary>
    public static ReplayOptions Platform { get; } = new() { WarmingPoolSize = 0 };

    internal static void ConfigurePreTriggers(PreTriggerOptions o)
    {
        o.ImplicitFunctions.Add("order");
        o.ImplicitFunctions.Add("upload");
        o.ImplicitFunctions.Add("etl");
    }

    [Fact]
    public void ChainWorkload_PreTriggers_CutFollowerColdStartsByNinetyPercent_WithAtMostTwentyPercentUnused()
    {
        var trace = ChainTrace();
        PreTriggerStatistics stats = default;
        var baseline = TraceReplayer.Replay(trace, Baseline, Platform);
        var withPreTriggers = TraceReplayer.Replay(
            trace,
            Baseline.WithPreTriggers(ConfigurePreTriggers),
            Platform with { Inspect = sp => stats = ((IPreTriggerCorrelator)sp.GetService(typeof(IPreTriggerCorrelator))!).GetStatistics() });

        var table = ResultTable.Format([baseline, withPreTriggers]);
        output.WriteLine(table);
        output.WriteLine(FollowerTable(baseline, withPreTriggers, stats));

        Assert.Equal(0, baseline.Failures + withPreTriggers.Failures);
        var (coldBefore, startsBefore) = FollowerStarts(baseline);
        var (coldAfter, startsAfter) = FollowerStarts(withPreTriggers);
        Assert.True(coldBefore > 50, $"the baseline has follower cold starts to cut ({coldBefore})");
        Assert.True(coldAfter <= coldBefore * 0.10, $"follower cold starts {coldBefore} -> {coldAfter}");
        Assert.True(startsAfter <= startsBefore * 0.10, $"follower starts that loaded code {startsBefore} -> {startsAfter}");
        Assert.True(stats.InstancesPrewarmed > 0);
        Assert.True(stats.InstancesWasted <= stats.InstancesPrewarmed * 0.20, $"unused pre-warmed: {stats.InstancesWasted} of {stats.InstancesPrewarmed}");
        Assert.True(withPreTriggers.Provider.PreloadedNeverInvoked <= stats.InstancesPrewarmed * 0.20, $"pre-loaded never invoked (provider's count): {withPreTriggers.Provider.PreloadedNeverInvoked} of {stats.InstancesPrewarmed}");
    }

    /// <summary>Cold starts, and starts that were not warm hits (cold + warming pool: both load code), of the followers.</summary>
    public static (long Cold, long NotWarm) FollowerStarts(ReplayResult result)
    {
        long cold = 0, notWarm = 0;
        foreach (var f in Followers)
        {
            if (result.Functions.TryGetValue(f, out var s))
            {
                cold += s.Cold;
                notWarm += s.Cold + s.WarmPool;
            }
        }

        return (cold, notWarm);
    }

    public static string FollowerTable(ReplayResult baseline, ReplayResult withPreTriggers, PreTriggerStatistics stats)
    {
        var (c0, n0) = FollowerStarts(baseline);
        var (c1, n1) = FollowerStarts(withPreTriggers);
        long calls = Followers.Sum(f => baseline.Functions.TryGetValue(f, out var s) ? s.Total : 0);
        return $"""
            | followers ({string.Join(", ", Followers)}) | {baseline.Policy} | {withPreTriggers.Policy} |
            | --- | ---: | ---: |
            | calls | {calls:N0} | {calls:N0} |
            | cold starts | {c0:N0} | {c1:N0} ({Drop(c0, c1)}) |
            | starts that loaded code (cold + warming pool) | {n0:N0} | {n1:N0} ({Drop(n0, n1)}) |
            | predictions | - | {stats.Predictions:N0} |
            | instances pre-warmed | - | {stats.InstancesPrewarmed:N0} |
            | used / unused | - | {stats.InstancesUsed:N0} / {stats.InstancesWasted:N0} ({(stats.InstancesPrewarmed == 0 ? 0 : 100.0 * stats.InstancesWasted / stats.InstancesPrewarmed):F1}% unused) |
            """;

        static string Drop(long before, long after) => before == 0 ? "n/a" : $"-{100.0 * (before - after) / before:F1}%";
    }
}
