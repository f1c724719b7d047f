namespace OnDemandExecution.Simulation.Tests;

public class PeriodicityDetectorTests
{
    private static void Feed(PeriodicityDetector detector, Random random, TimeSpan start, TimeSpan period, TimeSpan jitter, int beats, int burst = 1, double missProbability = 0)
    {
        for (var k = 0; k < beats; k++)
        {
            if (random.NextDouble() < missProbability)
            {
                continue;
            }

            var at = start + (period * k) + (jitter * ((2 * random.NextDouble()) - 1));
            for (var i = 0; i < burst; i++)
            {
                detector.Observe(at + TimeSpan.FromMilliseconds(250 * i));
            }
        }
    }

    [Theory]
    [InlineData(60, 3, 1)]
    [InlineData(300, 15, 7)]
    [InlineData(3600, 60, 13)]
    [InlineData(17, 0.8, 21)]
    public void Observe_JitteredTimer_FindsPeriodWithinOnePercent(double periodSeconds, double jitterSeconds, int seed)
    {
        var detector = new PeriodicityDetector();
        var period = TimeSpan.FromSeconds(periodSeconds);
        Feed(detector, new Random(seed), TimeSpan.FromSeconds(100), period, TimeSpan.FromSeconds(jitterSeconds), 40);

        var e = detector.Estimate;
        Assert.True(e.HasPeriod);
        Assert.InRange(e.Period.TotalSeconds, periodSeconds * 0.99, periodSeconds * 1.01);
        Assert.True(e.Degree > 0.85, $"degree {e.Degree}");
    }

    [Fact]
    public void Observe_MissedBeatsAndBursts_StillFindsThePeriod()
    {
        var detector = new PeriodicityDetector();
        Feed(detector, new Random(3), TimeSpan.Zero, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(5), 60, burst: 3, missProbability: 0.25);

        var e = detector.Estimate;
        Assert.InRange(e.Period.TotalSeconds, 297, 303);
        Assert.True(e.Degree > 0.85, $"degree {e.Degree}");
        Assert.InRange(e.ArrivalsPerBeat, 2.9, 3.1);
        Assert.InRange(e.BurstSpread.TotalMilliseconds, 400, 600);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Observe_PoissonArrivals_ReportsLowDegree(int seed)
    {
        var detector = new PeriodicityDetector();
        var random = new Random(seed);
        var t = TimeSpan.Zero;
        for (var i = 0; i < 200; i++)
        {
            t += TimeSpan.FromSeconds(-Math.Log(1 - random.NextDouble()) * 60);
            detector.Observe(t);
            if (i >= 20)
            {
                Assert.True(detector.Estimate.Degree < 0.5, $"degree {detector.Estimate.Degree} after {i + 1} arrivals");
            }
        }
    }

    [Theory]
    [InlineData(60, 90)]
    [InlineData(60, 25)]
    [InlineData(600, 420)]
    public void Observe_PeriodChange_RedetectsTheNewPeriod(double before, double after)
    {
        var detector = new PeriodicityDetector();
        var random = new Random(11);
        Feed(detector, random, TimeSpan.Zero, TimeSpan.FromSeconds(before), TimeSpan.FromSeconds(before / 100), 50);
        Assert.InRange(detector.Estimate.Period.TotalSeconds, before * 0.99, before * 1.01);

        var changeAt = TimeSpan.FromSeconds(before * 50);
        Feed(detector, random, changeAt, TimeSpan.FromSeconds(after), TimeSpan.FromSeconds(after / 100), 10);

        var e = detector.Estimate;
        Assert.InRange(e.Period.TotalSeconds, after * 0.99, after * 1.01);
        Assert.True(e.Degree > 0.85, $"degree {e.Degree}");
    }

    [Fact]
    public void Estimate_NextAfter_PredictsTheNextBeat()
    {
        var detector = new PeriodicityDetector();
        for (var k = 0; k < 10; k++)
        {
            detector.Observe(TimeSpan.FromSeconds(10 + (30 * k)));
        }

        var next = detector.Estimate.NextAfter(TimeSpan.FromSeconds(10 + (30 * 9) + 1));
        Assert.InRange(next.TotalSeconds, 309.9, 310.1);
    }

    [Fact]
    public void Observe_FewArrivals_HasNoPeriod()
    {
        var detector = new PeriodicityDetector();
        detector.Observe(TimeSpan.FromSeconds(1));
        detector.Observe(TimeSpan.FromSeconds(2));
        detector.Observe(TimeSpan.FromSeconds(3));
        Assert.False(detector.Estimate.HasPeriod);
        Assert.Equal(0, detector.Estimate.Degree);
    }

    [Fact]
    public void Observe_BoundedMemory_KeepsOnlyTheWindow()
    {
        var detector = new PeriodicityDetector(windowSize: 16);
        for (var k = 0; k < 1000; k++)
        {
            detector.Observe(TimeSpan.FromSeconds(k * 7));
        }

        Assert.Equal(16, detector.Count);
        Assert.InRange(detector.Estimate.Period.TotalSeconds, 6.99, 7.01);
    }
}
