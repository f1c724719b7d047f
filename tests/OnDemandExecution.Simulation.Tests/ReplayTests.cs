namespace OnDemandExecution.Simulation.Tests;

[Collection("replays")] // replays wait for the thread pool to be idle: they run one at a time
public class ReplayTests
{
    [Fact]
    public void TimerHeavyTrace_PeriodicPolicy_FewerColdStartsThanFixedTenMinutes_WithLessIdleMemory()
    {
        var trace = SyntheticTraceGenerator.Preset("timer-heavy", seed: 42, length: TimeSpan.FromHours(6));
        var results = TraceReplayer.ReplayAll(trace, [KeepAlivePolicySpec.Fixed(TimeSpan.FromMinutes(10)), KeepAlivePolicySpec.Periodic()]);
        var (fixedTen, periodic) = (results[0], results[1]);

        Assert.Equal(0, fixedTen.Failures);
        Assert.Equal(0, periodic.Failures);
        Assert.Equal(trace.Invocations.Count, periodic.ColdStarts + periodic.WarmPoolStarts + periodic.WarmHits);
        Assert.True(periodic.ColdStarts < fixedTen.ColdStarts, $"cold starts: periodic {periodic.ColdStarts}, fixed {fixedTen.ColdStarts}");
        Assert.True(periodic.ColdStarts + periodic.WarmPoolStarts < fixedTen.ColdStarts + fixedTen.WarmPoolStarts, "starts that had to load code");
        Assert.True(periodic.Provider.IdleGbSeconds < fixedTen.Provider.IdleGbSeconds, $"idle GB-s: periodic {periodic.Provider.IdleGbSeconds}, fixed {fixedTen.Provider.IdleGbSeconds}");
        Assert.True(periodic.Provider.IdleSeconds < fixedTen.Provider.IdleSeconds);
    }

    [Fact]
    public void Replay_IsRepeatable()
    {
        var trace = SyntheticTraceGenerator.Preset("mixed", seed: 3, length: TimeSpan.FromHours(1));
        var first = TraceReplayer.Replay(trace, KeepAlivePolicySpec.Periodic());
        var second = TraceReplayer.Replay(trace, KeepAlivePolicySpec.Periodic());
        ExactReplayTests.AssertIdentical(first, second);
    }

    [Fact]
    public void NoKeepAlive_NeverHitsWarm_AndFixedHitsWarmOnSteadyTraffic()
    {
        var trace = SyntheticTraceGenerator.Generate([new PoissonWorkload("t", "api", TimeSpan.FromMilliseconds(100), 2)], TimeSpan.FromMinutes(30), seed: 1);
        var results = TraceReplayer.ReplayAll(trace, [KeepAlivePolicySpec.None, KeepAlivePolicySpec.Fixed(TimeSpan.FromMinutes(10))]);
        Assert.Equal(0, results[0].WarmHits);
        Assert.True(results[1].WarmHitPercent > 95);
        Assert.True(results[0].Provider.IdleLoadedSeconds < 1);
        Assert.Equal(trace.Duration, results[1].SimulatedTime);
    }

    [Fact]
    public void Replay_ConcurrentCalls_OverlapOnVirtualTime()
    {
        // Ten calls at the same instant, each running 10 s: ten instances, all busy at once (the trace lasts a minute, so
        // the calls end, after their cold starts, before the accounting horizon).
        var trace = new Trace(Enumerable.Range(0, 10).Select(_ => new TraceInvocation(TimeSpan.FromSeconds(5), "t", "f", TimeSpan.FromSeconds(10))), TimeSpan.FromMinutes(1));
        var result = TraceReplayer.Replay(trace, KeepAlivePolicySpec.Fixed(TimeSpan.FromMinutes(1)), new ReplayOptions { WarmingPoolSize = 0 });
        Assert.Equal(10, result.ColdStarts);
        Assert.Equal(10, result.Provider.Created);
        Assert.InRange(result.Provider.BusySeconds, 99.9, 100.1);
    }
}
