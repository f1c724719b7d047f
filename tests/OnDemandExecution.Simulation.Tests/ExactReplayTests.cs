namespace OnDemandExecution.Simulation.Tests;

/// <summary>Exactness, streaming input and the accounting rules of docs/simulator.md.</summary>
public sealed class ExactReplayTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ode-exact-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Every number of two results, to the last digit, and every function's start kinds.</summary>
    internal static void AssertIdentical(ReplayResult expected, ReplayResult actual)
    {
        Assert.Equal(expected.Policy, actual.Policy);
        Assert.Equal(
            (expected.Invocations, expected.Failures, expected.ColdStarts, expected.WarmPoolStarts, expected.WarmHits, expected.SimulatedTime),
            (actual.Invocations, actual.Failures, actual.ColdStarts, actual.WarmPoolStarts, actual.WarmHits, actual.SimulatedTime));
        Assert.Equal(expected.Provider, actual.Provider); // a record struct: every double compared bit for bit
        Assert.Equal(
            (expected.FunctionColdStartP50, expected.FunctionColdStartP75, expected.FunctionColdStartP99),
            (actual.FunctionColdStartP50, actual.FunctionColdStartP75, actual.FunctionColdStartP99));
        Assert.Equal(expected.Functions.OrderBy(f => f.Key, StringComparer.Ordinal), actual.Functions.OrderBy(f => f.Key, StringComparer.Ordinal));
        Assert.Equal(ResultTable.Format([expected]), ResultTable.Format([actual]));
    }

    [Fact]
    public void StreamedAzureTrace_SameTableToTheLastDigit_RunAfterRun_OnOneOrSeveralCores()
    {
        var source = WriteAzure(SyntheticTraceGenerator.Preset("mixed", seed: 5, length: TimeSpan.FromHours(2)), "mixed");
        KeepAlivePolicySpec[] policies = [KeepAlivePolicySpec.Fixed(TimeSpan.FromMinutes(10)), KeepAlivePolicySpec.HybridHistogram(), KeepAlivePolicySpec.Periodic()];

        var oneCore = TraceReplayer.ReplayAll(source, policies, new ReplayOptions { MaxDegreeOfParallelism = 1 });
        var parallel = TraceReplayer.ReplayAll(source, policies, new ReplayOptions { MaxDegreeOfParallelism = 3 });
        var again = TraceReplayer.ReplayAll(source, policies, new ReplayOptions { MaxDegreeOfParallelism = 2 });

        Assert.All(oneCore, r => Assert.Equal(0, r.Failures));
        Assert.All(oneCore, r => Assert.True(r.Provider.IdleGbSeconds > 0));
        for (var i = 0; i < policies.Length; i++)
        {
            AssertIdentical(oneCore[i], parallel[i]);
            AssertIdentical(oneCore[i], again[i]);
        }
    }

    [Fact]
    public void AzureOpen_StreamsInArrivalOrder_WithEachMinutesCountsInsideTheMinute_SameOnEveryPass()
    {
        var trace = SyntheticTraceGenerator.Preset("timer-heavy", seed: 9, length: TimeSpan.FromHours(1));
        var source = WriteAzure(trace, "timer");

        var first = source.ReadInvocations().ToList();
        var second = source.ReadInvocations().ToList();

        Assert.Equal(first, second);
        Assert.Equal(trace.Invocations.Count, first.Count);
        Assert.Equal(TimeSpan.FromHours(1), source.Duration);
        for (var i = 1; i < first.Count; i++)
        {
            Assert.True(first[i - 1].Time <= first[i].Time, $"invocation {i} arrives before the one above it");
        }

        // The per-minute counts of each function are the trace's, each call drawn inside its minute.
        var written = trace.Invocations.GroupBy(c => (c.Function, Minute: (int)c.Time.TotalMinutes)).ToDictionary(g => g.Key, g => g.Count());
        var streamed = first.GroupBy(c => (c.Function, Minute: (int)c.Time.TotalMinutes)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(written.OrderBy(p => p.Key), streamed.OrderBy(p => p.Key));
    }

    [Fact]
    public void AzureOpen_SeveralDays_FollowOneAnother_AndKeepFunctionNames()
    {
        var trace = SyntheticTraceGenerator.Preset("timer-heavy", seed: 2, length: TimeSpan.FromHours(1));
        var day1 = Path.Combine(_dir, "day1.csv");
        var day2 = Path.Combine(_dir, "day2.csv");
        AzureFunctionsTrace.Write(trace, day1);
        AzureFunctionsTrace.Write(trace, day2);

        var source = AzureFunctionsTrace.Open([new AzureTraceDay(day1), new AzureTraceDay(day2)], seed: 4);
        var calls = source.ReadInvocations().ToList();

        Assert.Equal(TimeSpan.FromMinutes(1440 + 60), source.Duration);
        Assert.Equal(2 * trace.Invocations.Count, calls.Count);
        var secondDay = calls.Where(c => c.Time >= TimeSpan.FromDays(1)).ToList();
        Assert.Equal(trace.Invocations.Count, secondDay.Count);
        Assert.Equal(
            calls.Where(c => c.Time < TimeSpan.FromDays(1)).GroupBy(c => c.Function).ToDictionary(g => g.Key, g => g.Count()).OrderBy(p => p.Key),
            secondDay.GroupBy(c => c.Function).ToDictionary(g => g.Key, g => g.Count()).OrderBy(p => p.Key));
        Assert.Equal(trace.Invocations.Select(c => c.Function).Distinct().Count(), source.Functions.Count);
    }

    [Fact]
    public void EventCsvOpen_StreamsWhatReadLoads_AndRejectsRowsOutOfOrder()
    {
        var trace = SyntheticTraceGenerator.Preset("mixed", seed: 1, length: TimeSpan.FromMinutes(30));
        var path = Path.Combine(_dir, "t.events.csv");
        EventCsvTrace.Write(trace, path);

        var streamed = EventCsvTrace.Open(path);
        var read = EventCsvTrace.Read(path);
        Assert.Equal(read.Invocations, streamed.ReadInvocations().ToList());
        Assert.Equal(read.Duration, streamed.Duration);
        Assert.Equal(read.Functions.Keys.Order(StringComparer.Ordinal), streamed.Functions.Keys.Order(StringComparer.Ordinal));

        var unordered = Path.Combine(_dir, "unordered.csv");
        File.WriteAllText(unordered, EventCsvTrace.HeaderRow + "\n5,t,f,10,\n4,t,f,10,\n");
        var error = Assert.Throws<FormatException>(() => EventCsvTrace.Open(unordered));
        Assert.Contains("unordered.csv:3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IdleGbSeconds_UseTheFunctionsTraceMemory_UpToTheTracesEndOnly()
    {
        // One call at 0 s running 0 s, on a 2 GiB function, kept 10 minutes, in a trace that ends at 60 s; no warming pool.
        // The instance is created (0.5 s) and loaded (0.05 s), then idles loaded until the horizon: 59.45 s x 2 GiB.
        var trace = new Trace([new TraceInvocation(TimeSpan.Zero, "t", "f", TimeSpan.Zero)], TimeSpan.FromSeconds(60), [new TraceFunction("f", MemoryMb: 2048)]);
        var result = TraceReplayer.Replay(trace, KeepAlivePolicySpec.Fixed(TimeSpan.FromMinutes(10)), new ReplayOptions { WarmingPoolSize = 0 });

        Assert.Equal(TimeSpan.FromSeconds(60), result.SimulatedTime);
        Assert.Equal(59.45, result.Provider.IdleLoadedSeconds, 9);
        Assert.Equal(59.45 * 2, result.Provider.IdleGbSeconds, 9);
        Assert.Equal(0, result.Provider.IdleWarmSeconds);
    }

    [Fact]
    public void ColdStartPercent_CountsNewAndWarmingPoolStarts_PercentilesOverFunctionsWithCalls()
    {
        // f1: a warming-pool start then a warm hit (50 % cold); f2: one start (100 % cold); f3 is described, never called.
        var trace = new Trace(
            [
                new TraceInvocation(TimeSpan.FromSeconds(10), "t", "f1", TimeSpan.FromMilliseconds(10)),
                new TraceInvocation(TimeSpan.FromSeconds(20), "t", "f1", TimeSpan.FromMilliseconds(10)),
                new TraceInvocation(TimeSpan.FromSeconds(30), "t", "f2", TimeSpan.FromMilliseconds(10)),
            ],
            TimeSpan.FromMinutes(1),
            [new TraceFunction("f3")]);
        var result = TraceReplayer.Replay(trace, KeepAlivePolicySpec.Fixed(TimeSpan.FromMinutes(10)), new ReplayOptions { WarmingPoolSize = 2 });

        Assert.Equal((0, 2, 1), (result.ColdStarts, result.WarmPoolStarts, result.WarmHits));
        Assert.Equal(100.0 * 2 / 3, result.ColdStartPercent, 9);
        Assert.Equal(0, result.NewInstanceStartPercent);
        Assert.Equal(50, result.FunctionColdStartP50); // over f1 (50) and f2 (100): f3 has no call
        Assert.Equal(100, result.FunctionColdStartP99);
    }

    private TraceSource WriteAzure(Trace trace, string name)
    {
        var invocations = Path.Combine(_dir, name + ".invocations.csv");
        var durations = Path.Combine(_dir, name + ".durations.csv");
        var memory = Path.Combine(_dir, name + ".memory.csv");
        AzureFunctionsTrace.Write(trace, invocations, durations, memory, defaultMemoryMb: 512);
        return AzureFunctionsTrace.Open(invocations, durations, memory, seed: 11);
    }
}
