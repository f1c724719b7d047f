namespace OnDemandExecution.Simulation.Tests;

public class SimulationClockTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void AdvanceTo_FiresByDueTimeThenArmingOrder_WithTheClockAtEachDueTime()
    {
        var clock = new SimulationClock(Start);
        var fired = new List<(string Name, TimeSpan At)>();
        void Arm(string name, double seconds) =>
            clock.CreateTimer(_ => fired.Add((name, clock.GetUtcNow() - Start)), null, TimeSpan.FromSeconds(seconds), Timeout.InfiniteTimeSpan);
        Arm("c", 3);
        Arm("a", 1);
        Arm("b1", 2);
        Arm("b2", 2);

        Assert.Equal(Start + TimeSpan.FromSeconds(1), clock.NextDue);
        var steps = 0;
        clock.AdvanceTo(Start + TimeSpan.FromSeconds(10), () => steps++);

        Assert.Equal(["a", "b1", "b2", "c"], fired.Select(f => f.Name));
        Assert.Equal([1.0, 2, 2, 3], fired.Select(f => f.At.TotalSeconds));
        Assert.Equal(4, steps);
        Assert.Equal(Start + TimeSpan.FromSeconds(10), clock.GetUtcNow());
        Assert.Null(clock.NextDue);
    }

    [Fact]
    public async Task Delays_PeriodicTimers_AndDisposal_FollowTheClock()
    {
        var clock = new SimulationClock(Start);
        var ticks = 0;
        using var periodic = clock.CreateTimer(_ => ticks++, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        var delay = Task.Delay(TimeSpan.FromSeconds(2.5), clock);
        var disposed = clock.CreateTimer(_ => throw new InvalidOperationException("disposed timers never fire"), null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        disposed.Dispose();

        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.False(delay.IsCompleted);
        Assert.Equal(2, ticks);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(delay.IsCompleted);
        await delay;
        Assert.Equal(3, ticks);
        Assert.Equal(1, clock.ArmedTimers);
    }
}
