using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace OnDemandExecution.Simulation.Tests;

public class RecurringBurstPolicyTests
{
    private static readonly FunctionDefinition Job = new("job", new DelegateFunctionCode((ctx, ct) => new ValueTask<ReadOnlyMemory<byte>>(ctx.Payload)));
    private static readonly TenantId Tenant = new("t");

    [Fact]
    public void An_hourly_burst_seen_twice_is_preloaded_ahead_of_its_third_and_held_through_its_window()
    {
        var (policy, time, pools) = Create();
        Calls(policy, time, at: TimeSpan.Zero, count: 1); // the history starts
        Calls(policy, time, at: Minutes(65.5), count: 3);
        Assert.Equal(0, policy.GetExpectedInstances("job", Tenant)); // one burst is no schedule yet
        Calls(policy, time, at: Minutes(125.5), count: 3);

        AdvanceTo(time, Minutes(182.5));
        Assert.Empty(pools.Preloads);
        AdvanceTo(time, Minutes(183.5)); // the minute before the window 184-186 (185 +- 1 minute of drift) starts

        var preload = Assert.Single(pools.Preloads);
        Assert.Equal(Start + Minutes(183), preload.At);
        Assert.Equal(3, preload.Count);
        Assert.Equal(TimeSpan.FromMinutes(4), preload.KeepAlive); // through minute 186
        AdvanceTo(time, Minutes(185.5));
        Assert.Equal(3, policy.GetExpectedInstances("job", Tenant));
    }

    [Fact]
    public void A_burst_not_confirmed_by_the_period_before_is_not_expected()
    {
        var (policy, time, pools) = Create();
        Calls(policy, time, at: TimeSpan.Zero, count: 1);
        Calls(policy, time, at: Minutes(65.5), count: 3);
        Calls(policy, time, at: Minutes(140.5), count: 3); // not 125: the second hour had no burst at minute 5

        AdvanceTo(time, Minutes(190));
        Assert.DoesNotContain(pools.Preloads, p => p.At >= Start + Minutes(180));
    }

    [Fact]
    public void An_instance_within_an_expected_burst_is_kept_through_it_and_others_get_the_short_keep_alive()
    {
        var (policy, time, _) = Create(o => o.KeepAlive = TimeSpan.FromSeconds(30));
        Calls(policy, time, at: TimeSpan.Zero, count: 1);
        Calls(policy, time, at: Minutes(65.5), count: 2);
        Calls(policy, time, at: Minutes(125.5), count: 2);
        AdvanceTo(time, Minutes(185.25));

        for (var i = 0; i < 3; i++)
        {
            policy.OnInvocation(Job, Tenant);
        }

        var third = policy.OnCompleted(Job, Tenant); // level 3: beyond the expected 2
        var second = policy.OnCompleted(Job, Tenant); // level 2: within it, kept through minute 186 (185 + 1 of drift)
        var first = policy.OnCompleted(Job, Tenant);

        Assert.Equal(TimeSpan.FromSeconds(30), third);
        Assert.Equal(Minutes(187) - Minutes(185.25), second);

        // the last instance is kept for the function's usual idle gap: 1.1 x the largest of 65:20, 59:50 and 59:35
        Assert.Equal(TimeSpan.FromSeconds(3920 * 1.1).TotalSeconds, first.TotalSeconds, 0.01);
    }

    [Fact]
    public void A_rarely_called_functions_last_instance_is_kept_for_its_usual_gap_and_the_others_briefly()
    {
        var (policy, time, _) = Create();
        policy.OnInvocation(Job, Tenant);
        Assert.Equal(TimeSpan.FromHours(4), policy.OnCompleted(Job, Tenant)); // no gap yet (the largest gap below is this first 40:00)
        for (var i = 1; i <= 3; i++)
        {
            Calls(policy, time, at: Minutes(40 * i), count: 1);
        }

        AdvanceTo(time, Minutes(160));
        policy.OnInvocation(Job, Tenant);
        policy.OnInvocation(Job, Tenant);

        Assert.Equal(TimeSpan.FromMinutes(2), policy.OnCompleted(Job, Tenant)); // another call is still in flight
        Assert.Equal(TimeSpan.FromSeconds(2400 * 1.1).TotalSeconds, policy.OnCompleted(Job, Tenant).TotalSeconds, 0.01);

        var (off, offTime, _) = Create(o => o.MaxLastInstanceKeepAlive = TimeSpan.Zero);
        Calls(off, offTime, at: TimeSpan.Zero, count: 1);
        off.OnInvocation(Job, Tenant);
        Assert.Equal(TimeSpan.FromMinutes(2), off.OnCompleted(Job, Tenant));
    }

    [Fact]
    public void Decisions_up_to_a_point_do_not_depend_on_what_comes_after_it()
    {
        var random = new Random(7);
        var past = Enumerable.Range(0, 400).Select(_ => (At: Minutes(random.NextDouble() * 300), Count: random.Next(1, 4))).OrderBy(c => c.At).ToList();
        var futureA = Enumerable.Range(0, 100).Select(_ => (At: Minutes(300 + (random.NextDouble() * 100)), Count: random.Next(1, 6))).OrderBy(c => c.At).ToList();
        var futureB = futureA.Select(c => (At: Minutes(300 + (random.NextDouble() * 100)), Count: 7 - c.Count)).OrderBy(c => c.At).ToList();

        var a = Decisions([.. past, .. futureA]);
        var b = Decisions([.. past, .. futureB]);

        Assert.True(a.Count(d => d.At < Minutes(300)) > 100);
        Assert.Equal(a.Where(d => d.At < Minutes(300)), b.Where(d => d.At < Minutes(300)));
        Assert.NotEqual(a, b); // the future does change what happens after it
    }

    [Fact]
    public void Invalid_options_fail_with_the_option_and_value()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Create(o =>
        {
            o.Periods.Add(TimeSpan.FromSeconds(90));
            o.Confirmations = 0;
        }));
        Assert.Contains("Periods must be whole minutes from 2 minutes to 6 hours (was 00:01:30)", error.Message, StringComparison.Ordinal);
        Assert.Contains("Confirmations must be between 1 and 8 (was 0)", error.Message, StringComparison.Ordinal);

        // a period's windows must not reach the current minute (the expected peaks are computed once a minute)
        var overlap = Assert.Throws<OptionsValidationException>(() => Create(o =>
        {
            o.Tolerance = TimeSpan.FromMinutes(2);
            o.Periods.Add(TimeSpan.FromMinutes(5));
        }));
        Assert.Contains("Periods must be longer than twice the tolerance plus one minute (was 00:05:00 with a tolerance of 00:02:00)", overlap.Message, StringComparison.Ordinal);
    }

    private static TimeSpan Minutes(double minutes) => TimeSpan.FromMinutes(minutes);

    /// <summary>Replays calls (each lasting 10 s) on fake time; returns every keep-alive and pre-load with its time.</summary>
    private static List<(TimeSpan At, string What)> Decisions(List<(TimeSpan At, int Count)> calls)
    {
        var (policy, time, pools) = Create();
        var decisions = new List<(TimeSpan At, string What)>();
        var ends = new PriorityQueue<int, TimeSpan>();
        void Until(TimeSpan t)
        {
            while (ends.TryPeek(out _, out var end) && end <= t)
            {
                ends.Dequeue();
                AdvanceTo(time, end);
                decisions.Add((end, "keep " + policy.OnCompleted(Job, Tenant).Ticks));
            }

            AdvanceTo(time, t);
        }

        foreach (var (at, count) in calls)
        {
            Until(at);
            for (var k = 0; k < count; k++)
            {
                policy.OnInvocation(Job, Tenant);
                ends.Enqueue(0, at + TimeSpan.FromSeconds(10));
            }
        }

        Until(calls[^1].At + TimeSpan.FromHours(1));
        decisions.AddRange(pools.Preloads.Select(p => (p.At - Start, $"preload {p.Count} {p.KeepAlive.Ticks}")));
        return [.. decisions.OrderBy(d => d.At).ThenBy(d => d.What, StringComparer.Ordinal)];
    }

    /// <summary><paramref name="count"/> calls at once at <paramref name="at"/>, each lasting 10 s.</summary>
    private static void Calls(RecurringBurstPolicy policy, FakeTimeProvider time, TimeSpan at, int count)
    {
        AdvanceTo(time, at);
        for (var i = 0; i < count; i++)
        {
            policy.OnInvocation(Job, Tenant);
        }

        time.Advance(TimeSpan.FromSeconds(10));
        for (var i = 0; i < count; i++)
        {
            policy.OnCompleted(Job, Tenant);
        }
    }

    private static void AdvanceTo(FakeTimeProvider time, TimeSpan sinceStart)
    {
        // in steps of at most a second: the fake clock fires a timer after moving the whole step
        for (var now = time.GetUtcNow() - Start; now < sinceStart; now = time.GetUtcNow() - Start)
        {
            var step = sinceStart - now;
            time.Advance(step < TimeSpan.FromSeconds(1) ? step : TimeSpan.FromSeconds(1));
        }
    }

    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static (RecurringBurstPolicy Policy, FakeTimeProvider Time, RecordingPools Pools) Create(Action<RecurringBurstOptions>? configure = null)
    {
        var time = new FakeTimeProvider(Start);
        var pools = new RecordingPools(time);
        var options = new RecurringBurstOptions();
        configure?.Invoke(options);
        return (new RecurringBurstPolicy(pools, time, Options.Create(options)), time, pools);
    }
}
