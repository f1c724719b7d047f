using static OnDemandExecution.Orleans.Tests.ClusterHarness;

namespace OnDemandExecution.Orleans.Tests;

[CollectionDefinition("cluster", DisableParallelization = true)]
public sealed class ClusterTestsDefinition;

[Collection("cluster")]
public sealed class FailureTests
{
    [Fact]
    public async Task A_silo_killed_under_load_ends_each_of_its_calls_once_with_a_typed_error_and_new_calls_go_elsewhere()
    {
        await using var harness = await StartAsync(silos: 3);
        var (entry, doomed) = (harness.Silos[0], harness.Silos[2]);
        Assert.Equal(10, await PreloadAsync(doomed, "echo", 10, Acme));
        await harness.SyncAsync();

        const int Calls = 40;
        var calls = Enumerable.Range(0, Calls).Select(_ => Executor(entry).InvokeRoutedAsync(Call("echo", "hold", Acme)).AsTask()).ToList();
        await WaitUntilAsync(() => Host(doomed).Pools.GetSnapshot().Busy >= 10, "the doomed host runs its share");

        await harness.Cluster.KillSiloAsync(doomed);
        harness.Gate.SetResult();

        int succeeded = 0, unavailable = 0;
        foreach (var call in calls)
        {
            try
            {
                var routed = await call;
                Assert.NotEqual(doomed.Name, routed.Host);
                succeeded++;
            }
            catch (ClusterHostUnavailableException ex)
            {
                Assert.NotNull(ex.InvocationId);
                unavailable++;
            }
        }

        Assert.Equal(Calls, succeeded + unavailable); // every call ended, exactly once, one way or the other
        Assert.True(unavailable >= 10, $"the doomed host's calls failed typed ({unavailable})");
        var stats = Executor(entry).GetStatistics();
        Assert.Equal(unavailable, stats.HostUnavailable);
        Assert.Equal(unavailable, stats.Failed);

        // Its capacity leaves the view by membership alone, without any report.
        await WaitUntilAsync(() => !View(entry).Hosts.Contains(doomed.SiloAddress), "the dead host leaves the entry silo's view");
        for (var i = 0; i < 20; i++)
        {
            var routed = await Executor(entry).InvokeRoutedAsync(Call("echo", "after", Acme));
            Assert.NotEqual(doomed.Name, routed.Host);
        }
    }

    [Fact]
    public async Task A_silo_that_joins_publishes_its_capacity_and_receives_work()
    {
        await using var harness = await StartAsync(silos: 3);
        var joined = await harness.Cluster.StartAdditionalSiloAsync();
        await harness.Cluster.WaitForLivenessToStabilizeAsync();
        await PreloadAsync(joined, "echo", 2, Acme);
        await harness.SyncAsync();

        for (var i = 0; i < 2; i++)
        {
            var routed = await Executor(harness.Silos[0]).InvokeRoutedAsync(Call("echo", "new host", Acme));
            Assert.Equal(joined.Name, routed.Host);
            Assert.Equal(StartKind.Warm, routed.Result.StartKind);
        }

        Assert.Equal(2, Executor(joined).GetStatistics().ServedForOthers);
    }
}
