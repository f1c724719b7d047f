using Microsoft.Extensions.DependencyInjection;
using static OnDemandExecution.Orleans.Tests.ClusterHarness;

namespace OnDemandExecution.Orleans.Tests;

[Collection("cluster")]
public sealed class PreTriggerTests
{
    [Fact]
    public async Task A_pre_trigger_on_one_silo_preloads_on_the_silo_its_follower_is_routed_to()
    {
        await using var harness = await StartAsync(silos: 3, warmingPool: 0, preTriggers: true);
        var (observer, target, third) = (harness.Silos[0], harness.Silos[1], harness.Silos[2]);
        Host(target).Pools.WarmingPoolTarget = 4; // the only host with warming capacity: the followers' home
        await Host(target).Pools.PrewarmAsync();

        var correlator = Services(observer).GetRequiredService<IPreTriggerCorrelator>();
        var history = Services(observer).GetRequiredService<IPreTriggerHistoryStore>();

        // Followers enter on the observing silo and run elsewhere (invoice keeps nothing warm).
        await LearnThreeWindowsAsync(harness, observer, target, routed => Assert.NotEqual(observer.Name, routed.Host));

        await WaitUntilAsync(() => Idle(target, "invoice", Acme) == 0, "the followers' instances expired (1 ms keep-alive)");
        await WaitUntilAsync(() => Host(target).Pools.GetSnapshot().Warm == 4, "the warming pool is full");
        await harness.SyncAsync();
        var predictions = await correlator.NotifyPreTriggerAsync("upload", Acme);

        var stored = await history.GetWindowsAsync("upload", Acme.Value);
        var rate = await history.GetRateAsync(Acme.Value, "invoice");
        Assert.True(predictions.Count == 1, string.Join("; ", stored.Select(w => string.Join(",", w.Followers.Select(f => $"{f.Function}:{f.Count}:{f.Peak}:{string.Join('/', f.Delays)}")))) + $" rate {rate} " + string.Join("\n", Services(observer).GetFakeLogCollector().GetSnapshot().Where(r => r.Category?.Contains("PreTrigger", StringComparison.Ordinal) == true).Select(r => r.Message)));
        var prediction = Assert.Single(predictions);
        Assert.Equal("invoice", prediction.Function);
        await WaitUntilAsync(() => Idle(target, "invoice", Acme) >= 1, "the follower's host has the instances");
        Assert.Equal(0, Idle(observer, "invoice", Acme));
        Assert.Equal(0, Idle(third, "invoice", Acme));
        Assert.True(Executor(observer).GetStatistics().PreloadsForwarded >= 1);

        await harness.SyncAsync();
        var follower = await Executor(third).InvokeRoutedAsync(Call("invoice", "y", Acme));
        Assert.Equal(target.Name, follower.Host);
        Assert.Equal(RouteKind.Warm, follower.Route);
        Assert.Equal(StartKind.Warm, follower.Result.StartKind);
    }

    [Fact]
    public async Task What_a_silo_learned_before_it_died_still_predicts_on_another_with_the_cluster_history()
    {
        var storage = new SharedGrainStorage();
        await using var harness = await StartAsync(silos: 3, warmingPool: 0, preTriggers: true, sharedHistory: storage);
        var (survivor, target, doomed) = (harness.Silos[0], harness.Silos[1], harness.Silos[2]);
        Host(target).Pools.WarmingPoolTarget = 4; // the only host with warming capacity: the followers' home
        await Host(target).Pools.PrewarmAsync();

        // Learned on the doomed silo only: the survivor's correlator never sees this pre-trigger or its followers.
        await LearnThreeWindowsAsync(harness, doomed, target);

        Assert.True(storage.Records >= 2, "the key's windows and the index are in grain storage");
        await harness.Cluster.KillSiloAsync(doomed);
        await WaitUntilAsync(() => !View(survivor).Hosts.Contains(doomed.SiloAddress), "membership declared the learner dead");
        await WaitUntilAsync(() => Idle(target, "invoice", Acme) == 0, "the followers' instances expired (1 ms keep-alive)");
        await WaitUntilAsync(() => Host(target).Pools.GetSnapshot().Warm == 4, "the warming pool is full");
        await harness.SyncAsync();

        var predictions = await Services(survivor).GetRequiredService<IPreTriggerCorrelator>().NotifyPreTriggerAsync("upload", Acme);

        var prediction = Assert.Single(predictions);
        Assert.Equal("invoice", prediction.Function);
        await WaitUntilAsync(() => Idle(target, "invoice", Acme) >= 1, "the follower's host has the instances");
        var follower = await Executor(survivor).InvokeRoutedAsync(Call("invoice", "y", Acme));
        Assert.Equal(target.Name, follower.Host);
        Assert.Equal(StartKind.Warm, follower.Result.StartKind);
    }

    /// <summary>
    /// Three observation windows on <paramref name="learner"/>: each an "upload" pre-trigger followed by three "invoice"
    /// calls entering there, once the target's warming pool is full; waits until each window is stored.
    /// </summary>
    private static async Task LearnThreeWindowsAsync(ClusterHarness harness, global::Orleans.TestingHost.InProcessSiloHandle learner, global::Orleans.TestingHost.InProcessSiloHandle target, Action<RoutedInvocationResult>? eachFollower = null)
    {
        var correlator = Services(learner).GetRequiredService<IPreTriggerCorrelator>();
        var history = Services(learner).GetRequiredService<IPreTriggerHistoryStore>();
        for (var window = 1; window <= 3; window++)
        {
            await WaitUntilAsync(() => Host(target).Pools.GetSnapshot().Warm == 4, "the warming pool is full");
            await harness.SyncAsync();
            await correlator.NotifyPreTriggerAsync("upload", Acme);
            for (var i = 0; i < 3; i++)
            {
                var routed = await Executor(learner).InvokeRoutedAsync(Call("invoice", "x", Acme));
                eachFollower?.Invoke(routed);
            }

            var closed = window;
            await WaitUntilAsync(() => history.GetWindowsAsync("upload", Acme.Value).AsTask().Result.Count == closed, $"window {closed} is stored");
        }
    }
}
