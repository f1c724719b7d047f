using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OnDemandExecution.Simulation.Tests;

[Collection("replays")]
public class KeepAlivePolicyTests
{
    private static readonly TimeSpan Period = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task NoKeepAlive_IsFixedZero_EveryCallStartsAnew()
    {
        await using var host = new PolicyHost(b => b.UseNoKeepAlive());
        Assert.Equal(StartKind.Cold, host.Invoke());
        Assert.Equal(0, host.Pools.GetSnapshot().Idle);
        Assert.Equal(StartKind.Cold, host.Invoke());
        Assert.Equal(TimeSpan.Zero, new FixedKeepAlivePolicy(TimeSpan.Zero).OnCompleted(new FunctionDefinition("f", new DelegateFunctionCode((_, _) => default)), PolicyHost.Tenant));
    }

    [Fact]
    public async Task FixedKeepAlive_KeepsTheInstanceForItsKeepAlive()
    {
        await using var host = new PolicyHost(b => b.UseFixedKeepAlive(TimeSpan.FromMinutes(10)));
        host.Invoke();
        host.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(StartKind.Warm, host.Invoke());
        host.Advance(TimeSpan.FromMinutes(11));
        Assert.Equal(0, host.Pools.GetSnapshot().Idle);
    }

    [Fact]
    public async Task Periodic_PreloadsJustBeforeTheNextBeat_AndRetiresBetweenBeats()
    {
        await using var host = new PolicyHost(b => b.UsePeriodicKeepAlive(o => o.AdjustWarmingPool = false));
        var policy = Assert.IsType<PeriodicKeepAlivePolicy>(host.Policy);
        for (var k = 0; k < 8; k++)
        {
            host.Invoke();
            host.Advance(Period);
        }

        Assert.True(policy.IsPeriodic("job", PolicyHost.Tenant));
        Assert.InRange(policy.GetEstimate("job", PolicyHost.Tenant)!.Value.Period.TotalSeconds, 119, 121);

        // Periodic now: after a beat the instance is retired at once, and one is pre-loaded shortly before the next.
        Assert.Equal(StartKind.Warm, host.Invoke());
        Assert.Equal(0, host.Pools.GetSnapshot().Idle);
        host.Advance(Period - TimeSpan.FromSeconds(30));
        Assert.Equal(0, host.Pools.GetSnapshot().Idle);
        host.Advance(TimeSpan.FromSeconds(28)); // within lead (5 s) + allowance (1 s) of the beat
        Assert.Equal(1, host.Pools.GetSnapshot().Idle);
        host.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(StartKind.Warm, host.Invoke());
    }

    [Fact]
    public async Task Periodic_ReleasesThePreloadedInstance_WhenTheBeatDoesNotCome()
    {
        await using var host = new PolicyHost(b => b.UsePeriodicKeepAlive(o => o.AdjustWarmingPool = false));
        for (var k = 0; k < 9; k++)
        {
            host.Invoke();
            host.Advance(k < 8 ? Period : Period - TimeSpan.FromSeconds(3));
        }

        Assert.Equal(1, host.Pools.GetSnapshot().Idle);

        // The request does not come: the instance waits the allowance plus the grace window (10 s), then goes.
        host.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, host.Pools.GetSnapshot().Idle);
        host.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, host.Pools.GetSnapshot().Idle);
        var stats = host.Provider.GetStatistics(host.Clock.GetUtcNow());
        Assert.Equal(1, stats.PreloadedNeverInvoked);
    }

    [Fact]
    public async Task Periodic_LowersTheWarmingPoolTarget_ByThePeriodicShareOfPoolDemand()
    {
        await using var host = new PolicyHost(b => b.UsePeriodicKeepAlive(o => o.FallbackKeepAlive = TimeSpan.FromMinutes(1)), warmingPoolSize: 4);
        Assert.Equal(4, host.Pools.WarmingPoolTarget);
        for (var k = 0; k < 20; k++)
        {
            host.Invoke();
            host.Advance(Period);
        }

        Assert.True(host.Pools.WarmingPoolTarget < 4, $"target {host.Pools.WarmingPoolTarget}");
    }

    [Fact]
    public async Task Periodic_PoissonArrivals_KeepTheFallbackKeepAlive()
    {
        await using var host = new PolicyHost(b => b.UsePeriodicKeepAlive(o => o.AdjustWarmingPool = false));
        var policy = Assert.IsType<PeriodicKeepAlivePolicy>(host.Policy);
        var random = new Random(5);
        for (var k = 0; k < 40; k++)
        {
            host.Invoke();
            host.Advance(TimeSpan.FromSeconds(Math.Max(1, -Math.Log(1 - random.NextDouble()) * 120)));
        }

        Assert.False(policy.IsPeriodic("job", PolicyHost.Tenant));
        Assert.Equal(TimeSpan.FromMinutes(10), policy.OnCompleted(new FunctionDefinition("job", new DelegateFunctionCode((_, _) => default)), PolicyHost.Tenant));
    }

    [Fact]
    public async Task HybridHistogram_RegularIdleTimes_PrewarmsAtTheHeadAndKeepsUntilTheTail()
    {
        await using var host = new PolicyHost(b => b.UseHybridHistogramKeepAlive());
        var policy = Assert.IsType<HybridHistogramKeepAlivePolicy>(host.Policy);
        for (var k = 0; k < 8; k++)
        {
            host.Invoke();
            host.Advance(TimeSpan.FromMinutes(30.5));
        }

        var decision = policy.GetDecision("job", PolicyHost.Tenant)!.Value;
        Assert.Equal(IdleTimePattern.Histogram, decision.Pattern);
        Assert.Equal(TimeSpan.FromMinutes(30 * 0.9), decision.PrewarmWindow);
        Assert.Equal(TimeSpan.FromMinutes(31 * 1.1), decision.KeepAliveUntil);

        // After a call: unloaded at once, pre-warmed 27 minutes later, used at 30.5 minutes.
        Assert.Equal(StartKind.Warm, host.Invoke());
        Assert.Equal(0, host.Pools.GetSnapshot().Idle);
        host.Advance(TimeSpan.FromMinutes(26.5));
        Assert.Equal(0, host.Pools.GetSnapshot().Idle);
        host.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, host.Pools.GetSnapshot().Idle);
        host.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(StartKind.Warm, host.Invoke());
    }

    [Fact]
    public async Task HybridHistogram_FewSamples_FallsBackToTheRange()
    {
        await using var host = new PolicyHost(b => b.UseHybridHistogramKeepAlive());
        var policy = Assert.IsType<HybridHistogramKeepAlivePolicy>(host.Policy);
        host.Invoke();
        host.Advance(TimeSpan.FromMinutes(3));
        host.Invoke();
        var decision = policy.GetDecision("job", PolicyHost.Tenant)!.Value;
        Assert.Equal(IdleTimePattern.Uncertain, decision.Pattern);
        Assert.Equal(TimeSpan.FromHours(4), decision.KeepAliveUntil);
        Assert.Equal(TimeSpan.Zero, decision.PrewarmWindow);
    }

    [Fact]
    public async Task HybridHistogram_IdleTimesBeyondTheRange_UseTheForecast()
    {
        await using var host = new PolicyHost(b => b.UseHybridHistogramKeepAlive(o => o.FallbackKeepAlive = TimeSpan.FromMinutes(1)));
        var policy = Assert.IsType<HybridHistogramKeepAlivePolicy>(host.Policy);
        for (var k = 0; k < 7; k++)
        {
            host.Invoke();
            host.Advance(TimeSpan.FromHours(6));
        }

        var decision = policy.GetDecision("job", PolicyHost.Tenant)!.Value;
        Assert.Equal(IdleTimePattern.Forecast, decision.Pattern);
        Assert.InRange(decision.PrewarmWindow.TotalHours, 6 * 0.85 * 0.99, 6 * 0.85 * 1.01);
        Assert.InRange(decision.KeepAliveUntil.TotalHours, 6 * 1.15 * 0.99, 6 * 1.15 * 1.01);
    }

    [Fact]
    public async Task Options_OutOfRange_FailWithTheOptionsName()
    {
        await using var host = new PolicyHost(b => b.UsePeriodicKeepAlive(o => o.DegreeThreshold = 2));
        var ex = Assert.Throws<OptionsValidationException>(() => host.Policy);
        Assert.Contains("DegreeThreshold", ex.Message, StringComparison.Ordinal);

        await using var hybrid = new PolicyHost(b => b.UseHybridHistogramKeepAlive(o => o.TailPercentile = 1.5));
        var ex2 = Assert.Throws<OptionsValidationException>(() => hybrid.Policy);
        Assert.Contains("TailPercentile", ex2.Message, StringComparison.Ordinal);
    }
}
