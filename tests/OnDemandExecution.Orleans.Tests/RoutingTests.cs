using System.Text;
using OnDemandExecution.Orleans.Hosting;
using static OnDemandExecution.Orleans.Tests.ClusterHarness;

namespace OnDemandExecution.Orleans.Tests;

[Collection("cluster")]
public sealed class RoutingTests
{
    [Fact]
    public async Task A_call_goes_to_the_host_with_an_idle_instance_and_starts_warm()
    {
        await using var harness = await StartAsync(silos: 3);
        var (entry, other, warm) = (harness.Silos[0], harness.Silos[1], harness.Silos[2]);
        Assert.Equal(1, await PreloadAsync(warm, "echo", 1, Acme));
        await harness.SyncAsync();

        var first = await Executor(entry).InvokeRoutedAsync(Call("echo", "one", Acme));
        var second = await Executor(other).InvokeRoutedAsync(Call("echo", "two", Acme));

        foreach (var (routed, payload) in new[] { (first, "one"), (second, "two") })
        {
            Assert.Equal(warm.Name, routed.Host);
            Assert.Equal(RouteKind.Warm, routed.Route);
            Assert.Equal(StartKind.Warm, routed.Result.StartKind);
            Assert.Equal(payload, Encoding.UTF8.GetString(routed.Result.Output.Span));
        }

        Assert.Equal(1, Executor(entry).GetStatistics().RoutedAway);
        var served = Executor(warm).GetStatistics();
        Assert.Equal(2, served.ServedForOthers);
        Assert.Equal(2, served.Warm);
        Assert.Equal(0, served.StaleRoutes);
    }

    [Fact]
    public async Task A_client_call_enters_through_the_tenant_ingress_and_is_routed_to_the_warm_host()
    {
        await using var harness = await StartAsync(silos: 3);
        var warm = harness.Silos[1];
        await PreloadAsync(warm, "echo", 1, Acme);
        await harness.SyncAsync();

        var routed = await harness.Cluster.Client.InvokeFunctionAsync(Call("echo", "from a client", Acme));

        Assert.Equal(warm.Name, routed.Host);
        Assert.Equal(StartKind.Warm, routed.Result.StartKind);
        Assert.Equal("from a client", Encoding.UTF8.GetString(routed.Result.Output.Span));
        await Assert.ThrowsAsync<FunctionNotFoundException>(() => harness.Cluster.Client.InvokeFunctionAsync(Call("missing", "x", Acme)));
    }

    [Fact]
    public async Task A_stale_view_sends_the_call_to_a_host_whose_idle_instance_is_gone_and_it_runs_there_anyway()
    {
        await using var harness = await StartAsync(silos: 3);
        var (entry, warm) = (harness.Silos[0], harness.Silos[2]);
        await PreloadAsync(warm, "echo", 1, Acme);
        await harness.SyncAsync();

        // The idle instance is taken on its own host; nobody publishes, so the entry silo's view still shows it.
        var holder = Host(warm).Pools; // the warm host's own pools
        var occupying = ((OnDemandExecution.IFunctionExecutor)Services(warm).GetService(typeof(OnDemandExecution.IFunctionExecutor))!)
            .InvokeAsync(Call("echo", "hold", Acme)).AsTask();
        await WaitUntilAsync(() => Idle(warm, "echo", Acme) == 0, "the warm instance is busy");
        Assert.Equal(1, View(entry).IdleOn(warm.SiloAddress, Acme, "echo"));

        var routed = await Executor(entry).InvokeRoutedAsync(Call("echo", "stale", Acme));

        Assert.Equal(warm.Name, routed.Host);
        Assert.Equal(RouteKind.Warm, routed.Route);
        Assert.NotEqual(StartKind.Warm, routed.Result.StartKind); // fell back on that host: warming pool or cold
        Assert.Equal("stale", Encoding.UTF8.GetString(routed.Result.Output.Span));
        Assert.Equal(1, Executor(warm).GetStatistics().StaleRoutes);
        Assert.Equal(0, Executor(entry).GetStatistics().Failed);

        harness.Gate.SetResult();
        Assert.Equal(StartKind.Warm, (await occupying).StartKind);
        Assert.NotNull(holder);
    }

    [Fact]
    public async Task Without_warm_capacity_calls_go_to_warming_pool_capacity_then_to_the_least_loaded()
    {
        await using var harness = await StartAsync(silos: 3, warmingPool: 0);
        var pooled = harness.Silos[1];
        Host(pooled).Pools.WarmingPoolTarget = 2;
        await Host(pooled).Pools.PrewarmAsync();
        await WaitUntilAsync(() => Host(pooled).Pools.GetSnapshot().Warm == 2, "the warming pool is filled");
        await harness.SyncAsync();

        var calls = Enumerable.Range(0, 6).Select(i => Executor(harness.Silos[0]).InvokeRoutedAsync(Call("echo", "hold", new TenantId($"t{i}"))).AsTask()).ToList();
        harness.Gate.SetResult();
        var results = await Task.WhenAll(calls);

        var toPool = results.Where(r => r.Route == RouteKind.WarmingPool).ToList();
        Assert.Equal(2, toPool.Count); // exactly the published warming-pool capacity
        Assert.All(toPool, r => Assert.Equal(pooled.Name, r.Host));
        var leastLoaded = results.Where(r => r.Route == RouteKind.LeastLoaded).ToList();
        Assert.Equal(4, leastLoaded.Count);
        Assert.True(leastLoaded.Select(r => r.Host).Distinct().Count() >= 2, "least-loaded calls spread over hosts");
    }
}
