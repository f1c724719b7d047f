using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace OnDemandExecution.Simulation.Tests;

public class AdaptiveCapacityPolicyTests
{
    private static readonly TenantId Tenant = new("acme");
    private static readonly FunctionDefinition Job = new("job", new DelegateFunctionCode((_, _) => default));

    [Fact]
    public void WithoutHistory_KeepsForTheBreakEvenTime()
    {
        var (policy, _, _) = Create(60);
        policy.OnInvocation(Job, Tenant);

        // 60 GB-s for a cold start, 256 MiB instances: 240 s of idle memory cost as much as one cold start.
        Assert.Equal(TimeSpan.FromSeconds(240), policy.OnCompleted(Job, Tenant));
    }

    [Fact]
    public void CoversTheBusyLevel_ReleasesTheRareSecondInstanceAtOnce()
    {
        var (policy, time, _) = Create(60);
        CallEvery30sWithARareSecondCall(policy, time);

        var first = policy.GetPlan("job", Tenant, 1);
        var second = policy.GetPlan("job", Tenant, 2);
        Assert.NotNull(first);

        // The first level's 28-29 s gaps are covered: kept through them, or unloaded and pre-loaded around them.
        var plan = first.Value;
        Assert.True(plan.KeepAlive >= TimeSpan.FromSeconds(29) || (plan.HasWindow && plan.PreloadAt <= TimeSpan.FromSeconds(28) && plan.PreloadUntil >= TimeSpan.FromSeconds(29)), $"level 1: {plan}");
        Assert.NotNull(second);
        Assert.True(second.Value.KeepAlive < TimeSpan.FromSeconds(29), $"level 2 kept {second.Value.KeepAlive}");
    }

    [Fact]
    public void LongRegularGaps_UnloadAfterUse_AndPreloadShortlyBeforeTheNextArrival()
    {
        // The plans alone (no MinimumKeepAlive floor): unloaded right after use, pre-loaded before the next beat.
        var (policy, time, pools) = Create(60, o => o.MinimumKeepAlive = TimeSpan.Zero);
        var random = new Random(7);
        var start = time.GetUtcNow();
        for (var beat = 0; beat < 16; beat++)
        {
            // Every 20 minutes, anywhere within its minute (the trace's minute-level jitter).
            var arrival = start + TimeSpan.FromMinutes(20 * beat) + TimeSpan.FromSeconds(random.Next(0, 60));
            time.Advance(arrival - time.GetUtcNow());
            policy.OnInvocation(Job, Tenant);
            time.Advance(TimeSpan.FromSeconds(2));
            var keepAlive = policy.OnCompleted(Job, Tenant);
            if (beat >= 12)
            {
                Assert.True(keepAlive < TimeSpan.FromMinutes(2), $"beat {beat}: kept {keepAlive}");
            }
        }

        // The next beat is due 20 minutes after the last one, within its minute: one instance is pre-loaded shortly before.
        var next = start + TimeSpan.FromMinutes(20 * 16);
        time.Advance(next - TimeSpan.FromMinutes(3) - time.GetUtcNow());
        var before = pools.Preloads.Count;
        time.Advance(TimeSpan.FromMinutes(3) + TimeSpan.FromSeconds(30));
        var preload = Assert.Single(pools.Preloads.Skip(before));
        Assert.Equal(1, preload.Count);
        Assert.InRange(preload.At, next - TimeSpan.FromMinutes(3), next + TimeSpan.FromSeconds(30));
        Assert.True(preload.At + preload.KeepAlive >= next + TimeSpan.FromSeconds(60), $"pre-loaded until {preload.At + preload.KeepAlive}, the beat's minute ends at {next + TimeSpan.FromSeconds(60)}");
    }

    [Fact]
    public void Decisions_DependOnlyOnThePast()
    {
        // The same first 300 calls, then two different futures: every decision before the futures part is the same.
        var prefix = Arrivals(new Random(11), 300, TimeSpan.Zero);
        var cut = prefix[^1].At + TimeSpan.FromSeconds(1);
        var a = Decisions(prefix.Concat(Arrivals(new Random(1), 300, cut)).ToList());
        var b = Decisions(prefix.Concat(Arrivals(new Random(2), 300, cut).Select(x => (x.At, x.Duration * 3, !x.Burst))).ToList());
        var pastA = a.Where(d => d.At < cut).ToList();
        var pastB = b.Where(d => d.At < cut).ToList();
        Assert.True(pastA.Count > 300, "the past has decisions");
        Assert.Equal(pastA, pastB);
        Assert.NotEqual(a, b); // the futures do differ: the comparison could fail
    }

    [Fact]
    public void InvalidKnob_FailsWithTheOptionAndValue()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Create(0));
        Assert.Contains("AdaptiveCapacityOptions.ColdStartCost", ex.Message, StringComparison.Ordinal);
        Assert.Contains("(was 0)", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Arrivals every 20 s to 20 min (mixed), some in bursts of three overlapping calls.</summary>
    private static List<(TimeSpan At, TimeSpan Duration, bool Burst)> Arrivals(Random random, int count, TimeSpan from)
    {
        var list = new List<(TimeSpan, TimeSpan, bool)>();
        var t = from;
        for (var i = 0; i < count; i++)
        {
            t += TimeSpan.FromSeconds(random.Next(0, 4) == 0 ? random.Next(60, 1200) : random.Next(20, 60));
            list.Add((t, TimeSpan.FromSeconds(random.Next(1, 15)), random.Next(0, 5) == 0));
        }

        return list;
    }

    /// <summary>Replays arrivals on fake time; returns every keep-alive returned and every pre-load asked, with its time.</summary>
    private static List<(TimeSpan At, string What)> Decisions(List<(TimeSpan At, TimeSpan Duration, bool Burst)> arrivals)
    {
        var (policy, time, pools) = Create(60);
        var origin = time.GetUtcNow();
        var decisions = new List<(TimeSpan At, string What)>();
        var ends = new PriorityQueue<int, TimeSpan>();
        void AdvanceTo(TimeSpan t)
        {
            while (ends.TryPeek(out _, out var end) && end <= t)
            {
                ends.Dequeue();
                time.Advance(end - (time.GetUtcNow() - origin));
                decisions.Add((end, "keep " + policy.OnCompleted(Job, Tenant).Ticks));
            }

            time.Advance(t - (time.GetUtcNow() - origin));
        }

        foreach (var (at, duration, burst) in arrivals)
        {
            AdvanceTo(at);
            for (var k = 0; k < (burst ? 3 : 1); k++)
            {
                policy.OnInvocation(Job, Tenant);
                ends.Enqueue(0, at + duration + TimeSpan.FromSeconds(k));
            }
        }

        AdvanceTo(arrivals[^1].At + TimeSpan.FromHours(1));
        decisions.AddRange(pools.Preloads.Select(p => (p.At - origin, $"preload {p.Count} {p.KeepAlive.Ticks}")));
        return decisions.OrderBy(d => d.At).ThenBy(d => d.What, StringComparer.Ordinal).ToList();
    }

    [Fact]
    public void MinimumKeepAlive_HoldsTheInstanceThatItsLevelWouldGiveUpAtOnce()
    {
        // The same history as above: level 2 recurs rarely, so its plan gives its instance up at once...
        TimeSpan Level2KeepAlive(TimeSpan minimum)
        {
            var (policy, time, _) = Create(60, o => o.MinimumKeepAlive = minimum);
            CallEvery30sWithARareSecondCall(policy, time);

            policy.OnInvocation(Job, Tenant);
            policy.OnInvocation(Job, Tenant);
            return policy.OnCompleted(Job, Tenant); // the second instance's release
        }

        var plain = Level2KeepAlive(TimeSpan.Zero);
        var held = Level2KeepAlive(TimeSpan.FromSeconds(90));

        Assert.True(plain < TimeSpan.FromSeconds(29), $"without a floor: {plain}");
        Assert.Equal(TimeSpan.FromSeconds(90), held); // ...and the floor keeps it 90 s
    }

    [Fact]
    public void MinimumKeepAlive_OutOfRange_FailsWithTheOptionAndValue()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Create(60, o => o.MinimumKeepAlive = TimeSpan.FromHours(3)));
        Assert.Contains("MinimumKeepAlive", error.Message, StringComparison.Ordinal);
    }

    private static (AdaptiveCapacityPolicy Policy, FakeTimeProvider Time, RecordingPools Pools) Create(double coldStartCost, Action<AdaptiveCapacityOptions>? configure = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var pools = new RecordingPools(time);
        var policy = new AdaptiveCapacityPolicy(
            pools,
            time,
            Options.Create(Configure(new AdaptiveCapacityOptions { ColdStartCost = coldStartCost }, configure)),
            Options.Create(new OnDemandExecutionOptions { WarmInstance = new InstanceSpec { MemoryMb = 256 } }));
        return (policy, time, pools);
    }

    /// <summary>A call every 30 s; every 10th time a second call overlaps it (level 2 recurs every 5 minutes at most once).</summary>
    private static void CallEvery30sWithARareSecondCall(AdaptiveCapacityPolicy policy, FakeTimeProvider time)
    {
        for (var i = 0; i < 60; i++)
        {
            policy.OnInvocation(Job, Tenant);
            if (i % 10 == 0)
            {
                policy.OnInvocation(Job, Tenant);
                time.Advance(TimeSpan.FromSeconds(1));
                policy.OnCompleted(Job, Tenant);
            }

            time.Advance(TimeSpan.FromSeconds(1));
            policy.OnCompleted(Job, Tenant);
            time.Advance(TimeSpan.FromSeconds(29));
        }
    }

    private static AdaptiveCapacityOptions Configure(AdaptiveCapacityOptions options, Action<AdaptiveCapacityOptions>? configure)
    {
        configure?.Invoke(options);
        return options;
    }
}
