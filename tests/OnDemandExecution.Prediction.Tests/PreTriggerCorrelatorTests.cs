using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace OnDemandExecution.Prediction.Tests;

public class PreTriggerCorrelatorTests
{
    private static readonly TimeSpan TwoSeconds = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task LearnsChain_AThenFiveBAfterTwoSeconds_PrewarmsFiveBeforeTheNextWave()
    {
        await using var host = new CorrelatorHost(o => o.ImplicitFunctions.Add("A"));

        // Three waves to learn from: A, then 5 x B two seconds later (100 ms apart, each running 500 ms).
        for (var wave = 0; wave < 3; wave++)
        {
            host.Wave("A", "B", 5, TwoSeconds);
            host.Advance(Minute - TwoSeconds - TimeSpan.FromMilliseconds(500));
        }

        Assert.True(15 == host.Results.Count(r => r.Function == "B" && r.StartKind == StartKind.Cold), string.Join(",", host.Results));
        Assert.Equal(0, host.Idle("B"));

        // The fourth A: 5 instances of B are loaded for the tenant before the first B is due.
        host.Call("A");
        host.Advance(TimeSpan.FromMilliseconds(1500));
        Assert.Equal(5, host.Idle("B"));
        host.Results.Clear();
        host.Wave(null, "B", 5, TimeSpan.FromMilliseconds(500));
        host.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(5, host.Results.Count(r => r.Function == "B" && r.StartKind == StartKind.Warm));
        var stats = host.Correlator.GetStatistics();
        Assert.Equal(4, stats.PreTriggers);
        Assert.Equal(1, stats.Predictions);
        Assert.Equal(5, stats.InstancesPrewarmed);
        Assert.Equal(5, stats.InstancesUsed);
        Assert.Equal(0, stats.InstancesWasted);
    }

    [Fact]
    public async Task ExplicitKey_PredictsCountAndTiming()
    {
        await using var host = new CorrelatorHost();
        var tenant = new TenantId("t");
        for (var wave = 0; wave < 3; wave++)
        {
            Assert.Empty(await host.Correlator.NotifyPreTriggerAsync("upload-started", tenant, new Dictionary<string, string> { ["size"] = "1GB" }));
            host.Wave(null, "B", 3, TimeSpan.FromSeconds(5));
            host.Advance(Minute);
        }

        var predictions = await host.Correlator.NotifyPreTriggerAsync("upload-started", tenant);

        var p = Assert.Single(predictions);
        Assert.Equal(("B", 3, 3, tenant), (p.Function, p.Requests, p.Instances, p.Tenant!.Value));
        Assert.Equal(TimeSpan.FromSeconds(5), p.FirstExpected);
        Assert.Equal(TimeSpan.FromSeconds(5.2), p.LastExpected);
        Assert.Equal(1.0, p.Confidence);
        Assert.True(p.Lift > 10, $"lift {p.Lift}");
        host.Advance(TimeSpan.FromSeconds(4.5));
        Assert.Equal(3, host.Idle("B"));

        // Not used: released by their keep-alive after the last expected request plus the grace window.
        host.Advance(TimeSpan.FromSeconds(5));
        await host.Pools.RunMaintenanceAsync();
        Assert.Equal(0, host.Idle("B"));
        host.Advance(Minute);
        Assert.Equal(3, host.Correlator.GetStatistics().InstancesWasted);
    }

    [Fact]
    public async Task IgnoresAKeyThatIsNotPredictive()
    {
        // B follows "noise" in only 3 windows of 10: below the confidence threshold.
        await using var host = new CorrelatorHost();
        var follows = new[] { true, false, false, true, false, false, false, true, false, false };
        foreach (var f in follows)
        {
            Assert.Empty(await host.Correlator.NotifyPreTriggerAsync("noise", new TenantId("t")));
            host.Wave(null, "B", f ? 5 : 0, TwoSeconds);
            host.Advance(Minute);
        }

        Assert.Empty(await host.Correlator.NotifyPreTriggerAsync("noise", new TenantId("t")));
        host.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(0, host.Idle("B"));
        Assert.Equal(0, host.Correlator.GetStatistics().Predictions);
    }

    [Fact]
    public async Task IgnoresASpuriousCorrelation_WithAFunctionThatRunsAnyway()
    {
        // C runs every 2 s whatever happens; "tick" is notified every minute, so C follows it every time
        // (confidence 1), but no more often than its base rate: no pre-warming.
        await using var host = new CorrelatorHost();
        for (var minute = 0; minute < 8; minute++)
        {
            Assert.Empty(await host.Correlator.NotifyPreTriggerAsync("tick", new TenantId("t")));
            for (var beat = 0; beat < 30; beat++)
            {
                host.Advance(TimeSpan.FromSeconds(1));
                host.Call("C");
                host.Advance(TimeSpan.FromSeconds(1));
            }
        }

        Assert.Empty(await host.Correlator.NotifyPreTriggerAsync("tick", new TenantId("t")));
        Assert.Equal(0, host.Correlator.GetStatistics().Predictions);
    }

    [Fact]
    public async Task PredictiveKey_StillActs_AlongsideAFunctionThatRunsAnyway()
    {
        // The same background C, and a chain A -> 4 x B: B is predicted, C is not.
        await using var host = new CorrelatorHost(o => o.ImplicitFunctions.Add("A"));
        for (var minute = 0; minute < 5; minute++)
        {
            host.Call("A");
            for (var beat = 0; beat < 30; beat++)
            {
                host.Advance(TimeSpan.FromSeconds(1));
                host.Call("C");
                if (beat == 1)
                {
                    host.Wave(null, "B", 4, TimeSpan.Zero);
                    host.Advance(TimeSpan.FromSeconds(0.6));
                }
                else
                {
                    host.Advance(TimeSpan.FromSeconds(1));
                }
            }
        }

        var predictions = await host.Correlator.NotifyPreTriggerAsync(PreTriggerOptions.ImplicitKeyPrefix + "A", new TenantId("t"));
        var p = Assert.Single(predictions);
        Assert.Equal(("B", 4, 4), (p.Function, p.Requests, p.Instances));
    }

    [Fact]
    public async Task UnknownTenant_RaisesTheWarmingPoolTarget_ForTheWindow()
    {
        await using var host = new CorrelatorHost();
        for (var wave = 0; wave < 3; wave++)
        {
            await host.Correlator.NotifyPreTriggerAsync("batch", tenant: null);
            host.Wave(null, "B", 2, TimeSpan.FromSeconds(3), tenant: "t" + wave);
            host.Advance(Minute);
        }

        var p = Assert.Single(await host.Correlator.NotifyPreTriggerAsync("batch", tenant: null));
        Assert.Null(p.Tenant);
        Assert.Equal(0, host.Pools.WarmingPoolTarget);
        host.Advance(TimeSpan.FromSeconds(2.5));
        Assert.Equal(2, host.Pools.WarmingPoolTarget);

        // The pools refill on the thread pool (their own background work): wait for it in real time, bounded.
        Assert.True(SpinWait.SpinUntil(() => host.Pools.GetSnapshot().Warm == 2, TimeSpan.FromSeconds(10)), "the warming pool was refilled");

        host.Wave(null, "B", 2, TimeSpan.FromSeconds(0.5), tenant: "new");
        host.Advance(Minute);
        Assert.Equal(0, host.Pools.WarmingPoolTarget);
        Assert.Equal(2, host.Results.Count(r => r.StartKind == StartKind.WarmPool && r.Function == "B"));
        Assert.Equal((2, 2, 0), (host.Correlator.GetStatistics().InstancesPrewarmed, host.Correlator.GetStatistics().InstancesUsed, host.Correlator.GetStatistics().InstancesWasted));
    }

    [Fact]
    public async Task SurvivesRestart_WithTheSqliteStore_HistoryReloaded()
    {
        var directory = Directory.CreateTempSubdirectory("pretrigger-restart-").FullName;
        var path = Path.Combine(directory, "history.db");
        try
        {
            var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(CorrelatorHost.Start);
            await using (var first = new CorrelatorHost(o => o.ImplicitFunctions.Add("A"), b => b.UseSqlitePreTriggerHistory(path), time))
            {
                for (var wave = 0; wave < 3; wave++)
                {
                    first.Wave("A", "B", 5, TwoSeconds);
                    first.Advance(Minute);
                }
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

            // A new process: nothing in memory, the history comes from the database.
            time.Advance(TimeSpan.FromMinutes(10));
            await using var second = new CorrelatorHost(o => o.ImplicitFunctions.Add("A"), b => b.UseSqlitePreTriggerHistory("Data Source=" + path), time);
            second.Call("A");
            second.Advance(TimeSpan.FromMilliseconds(1500));

            Assert.Equal(5, second.Idle("B"));
            Assert.Equal(1, second.Correlator.GetStatistics().Predictions);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void InvalidOptions_FailAtStart_NamingTheOption()
    {
        var services = new ServiceCollection();
        services.AddOnDemandExecution().AddPreTriggers(o => o.CountQuantile = 1.5);
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<PreTriggerOptions>>().Value);
        Assert.Contains("PreTriggerOptions.CountQuantile", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddPreTriggers_Twice_RegistersOneObserver()
    {
        var services = new ServiceCollection();
        services.AddOnDemandExecution().AddPreTriggers().AddPreTriggers();
        await using var provider = services.BuildServiceProvider();
        Assert.Single(provider.GetServices<IInvocationObserver>());
        Assert.IsType<InMemoryPreTriggerHistoryStore>(provider.GetRequiredService<IPreTriggerHistoryStore>());
    }
}
