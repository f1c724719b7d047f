namespace OnDemandExecution.Simulation.Tests;

public sealed class TraceFormatTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ode-traces-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void EventCsv_WriteThenRead_RoundTrips()
    {
        var trace = SyntheticTraceGenerator.Generate(
            [
                new TimerWorkload("t1", "cron", TimeSpan.FromMilliseconds(200), TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1)),
                new ChainWorkload("t2", "order", TimeSpan.FromMilliseconds(100), "invoice", 1, 2, TimeSpan.FromSeconds(2)),
            ],
            TimeSpan.FromMinutes(30),
            seed: 7);
        var path = Path.Combine(_dir, "trace.events.csv");
        EventCsvTrace.Write(trace, path);
        var read = EventCsvTrace.Read(path);

        Assert.Equal(trace.Invocations.Count, read.Invocations.Count);
        for (var i = 0; i < trace.Invocations.Count; i++)
        {
            var (a, b) = (trace.Invocations[i], read.Invocations[i]);
            Assert.Equal(a.Tenant, b.Tenant);
            Assert.Equal(a.Function, b.Function);
            Assert.Equal(a.PreTrigger, b.PreTrigger);
            Assert.InRange((a.Time - b.Time).Duration().TotalMilliseconds, 0, 1);
            Assert.InRange((a.Duration - b.Duration).Duration().TotalMilliseconds, 0, 0.01);
        }

        Assert.Contains(read.Invocations, i => i.PreTrigger == "order");
    }

    [Fact]
    public void EventCsv_IsoTimestamps_AreRelativeToTheFirst()
    {
        var path = Path.Combine(_dir, "iso.csv");
        File.WriteAllText(path, "timestamp,tenant,function,duration_ms\n2026-01-01T00:00:10Z,a,f,5\n2026-01-01T00:00:00Z,a,g,7\n");
        var trace = EventCsvTrace.Read(path);
        Assert.Equal(["g", "f"], trace.Invocations.Select(i => i.Function));
        Assert.Equal(TimeSpan.FromSeconds(10), trace.Invocations[1].Time);
    }

    [Fact]
    public void EventCsv_BadRow_NamesTheLine()
    {
        var path = Path.Combine(_dir, "bad.csv");
        File.WriteAllText(path, "timestamp,tenant,function,duration_ms\n1,a,f,5\n2,a,f,oops\n");
        var ex = Assert.Throws<FormatException>(() => EventCsvTrace.Read(path));
        Assert.Contains(":3:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Azure_Read_SpreadsEachMinutesCountWithinTheMinute_AndJoinsDurationsAndMemory()
    {
        var invocations = Path.Combine(_dir, "invocations_per_function_md.anon.d01.csv");
        var durations = Path.Combine(_dir, "function_durations_percentiles.anon.d01.csv");
        var memory = Path.Combine(_dir, "app_memory_percentiles.anon.d01.csv");
        File.WriteAllText(invocations, "HashOwner,HashApp,HashFunction,Trigger,1,2,3\nowner1,app1,fa,timer,1,0,1\nowner1,app1,fb,http,0,5,0\n");
        File.WriteAllText(durations, "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100\nowner1,app1,fb,150,5,100,200,100,100,120,150,180,200,200\n");
        File.WriteAllText(memory, "HashOwner,HashApp,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1,AverageAllocatedMb_pct5,AverageAllocatedMb_pct25,AverageAllocatedMb_pct50,AverageAllocatedMb_pct75,AverageAllocatedMb_pct95,AverageAllocatedMb_pct99,AverageAllocatedMb_pct100\nowner1,app1,10,170.4,1,2,3,4,5,6,7,8\n");

        var trace = AzureFunctionsTrace.Read(invocations, durations, memory, seed: 3);
        Assert.Equal(TimeSpan.FromMinutes(3), trace.Duration);
        var fa = trace.Invocations.Where(i => i.Function == "fa").ToList();
        var fb = trace.Invocations.Where(i => i.Function == "fb").ToList();
        Assert.Equal(2, fa.Count);
        Assert.InRange(fa[0].Time.TotalSeconds, 0, 60);
        Assert.InRange(fa[1].Time.TotalSeconds, 120, 180);
        Assert.Equal(5, fb.Count);
        Assert.All(fb, i => Assert.InRange(i.Time.TotalSeconds, 60, 120));
        Assert.All(fb, i => Assert.InRange(i.Duration.TotalMilliseconds, 100, 200));
        Assert.All(fa, i => Assert.Equal(TimeSpan.FromMilliseconds(100), i.Duration)); // not in the durations file
        Assert.Equal("owner1", fa[0].Tenant);
        Assert.Equal(170, trace.Functions["fa"].MemoryMb);
        Assert.Equal("timer", trace.Functions["fa"].Trigger);

        // Seeded: the same seed spreads the same way, another seed differently.
        Assert.Equal(trace.Invocations, AzureFunctionsTrace.Read(invocations, durations, memory, seed: 3).Invocations);
        Assert.NotEqual(trace.Invocations, AzureFunctionsTrace.Read(invocations, durations, memory, seed: 4).Invocations);
    }

    [Fact]
    public void Azure_WriteThenRead_KeepsPerMinuteCounts()
    {
        var trace = SyntheticTraceGenerator.Preset("mixed", seed: 1, length: TimeSpan.FromMinutes(45));
        var invocations = Path.Combine(_dir, "inv.csv");
        var durations = Path.Combine(_dir, "dur.csv");
        var memory = Path.Combine(_dir, "mem.csv");
        AzureFunctionsTrace.Write(trace, invocations, durations, memory);
        var read = AzureFunctionsTrace.Read(invocations, durations, memory, seed: 9);

        static Dictionary<(string, string, int), int> Counts(Trace t) => t.Invocations
            .GroupBy(i => (i.Tenant, i.Function, (int)i.Time.TotalMinutes))
            .ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(Counts(trace), Counts(read));
        Assert.Equal(256, read.Functions["api-0"].MemoryMb);
        var original = trace.Invocations.Where(i => i.Function == "api-0").Select(i => i.Duration).ToList();
        Assert.All(read.Invocations.Where(i => i.Function == "api-0"), i => Assert.InRange(i.Duration, original.Min() - TimeSpan.FromMilliseconds(1), original.Max() + TimeSpan.FromMilliseconds(1)));
    }

    [Fact]
    public void Synthetic_SameSeed_SameTrace()
    {
        var a = SyntheticTraceGenerator.Preset("timer-heavy", seed: 5, length: TimeSpan.FromHours(1));
        var b = SyntheticTraceGenerator.Preset("timer-heavy", seed: 5, length: TimeSpan.FromHours(1));
        Assert.Equal(a.Invocations, b.Invocations);
        Assert.Throws<ArgumentException>(() => SyntheticTraceGenerator.Preset("nope"));
    }
}
