using Microsoft.Extensions.DependencyInjection;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Pooling;

public class KeepAlivePolicyTests
{
    private static readonly TenantId A = new("tenant-a");

    [Fact]
    public async Task Executor_AsksThePolicyOnArrivalAndCompletion_AndUsesItsKeepAlive()
    {
        var policy = new RecordingPolicy(TimeSpan.FromSeconds(30));
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop).UseKeepAlivePolicy(_ => policy));

        await host.Executor.InvokeAsync("f", "x", A);

        Assert.Equal(["arrive f tenant-a", "complete f tenant-a"], policy.Calls);
        Assert.Equal(1, host.Pools.GetSnapshot().Idle);

        host.Time.Advance(TimeSpan.FromSeconds(29));
        await host.Pools.RunMaintenanceAsync();
        Assert.Equal(1, host.Pools.GetSnapshot().Idle); // not yet: the policy's 30 s, not the options' 10 min

        host.Time.Advance(TimeSpan.FromSeconds(2));
        await host.Pools.RunMaintenanceAsync();
        Assert.Equal(0, host.Pools.GetSnapshot().Idle);
        Assert.Equal(0, host.Provider.Live);
    }

    [Fact]
    public async Task ZeroKeepAlive_RetiresTheInstanceAtOnce()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop).UseKeepAlivePolicy(_ => new FixedKeepAlivePolicy(TimeSpan.Zero)));

        var first = await host.Executor.InvokeAsync("f", "x", A);
        await host.Pools.RunMaintenanceAsync(); // settles the retirement (no time passes)
        var second = await host.Executor.InvokeAsync("f", "x", A);

        Assert.Equal(StartKind.Cold, first.StartKind);
        Assert.Equal(StartKind.Cold, second.StartKind);
        Assert.Equal(2, host.Provider.Created);
    }

    [Fact]
    public void DefaultPolicy_IsFixed_WithTheFunctionsKeepAliveFirst()
    {
        var policy = new FixedKeepAlivePolicy(TimeSpan.FromMinutes(10));
        var plain = new FunctionDefinition("f", new DelegateFunctionCode(TestHost.Noop));

        Assert.Equal(TimeSpan.FromMinutes(10), policy.OnCompleted(plain, A));
        Assert.Equal(TimeSpan.FromSeconds(5), policy.OnCompleted(plain with { KeepAlive = TimeSpan.FromSeconds(5) }, A));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FixedKeepAlivePolicy(TimeSpan.FromSeconds(-1)));
        using var services = new ServiceCollection().AddOnDemandExecution().Services.BuildServiceProvider();
        Assert.IsType<FixedKeepAlivePolicy>(services.GetRequiredService<IKeepAlivePolicy>());
    }

    [Fact]
    public async Task PreloadAsync_LoadsUpToTheCount_ThenTheNextRequestsAreWarmHits()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop));
        Assert.True(host.Catalog.TryGetFunction("f", out var f));

        var loaded = await host.Pools.PreloadAsync(f, A, 3, TimeSpan.FromMinutes(1));
        var again = await host.Pools.PreloadAsync(f, A, 3, TimeSpan.FromMinutes(1));

        Assert.Equal(3, loaded);
        Assert.Equal(0, again); // already enough idle
        Assert.Equal(3, host.Pools.GetSnapshot().Idle);
        var calls = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => host.Executor.InvokeAsync("f", "x", A).AsTask()));
        Assert.All(calls, r => Assert.Equal(StartKind.Warm, r.StartKind));
        Assert.Equal(3, host.Provider.Created);
    }

    [Fact]
    public async Task PreloadAsync_StartsTheInstancesTogether_NotOneAfterAnother()
    {
        await using var host = TestHost.Create(o => o.MaxConcurrentProvisioning = 4, b => b.AddFunction("f", TestHost.Noop));
        host.Provider.OnCreate = (_, ct) => new ValueTask(Task.Delay(TimeSpan.FromSeconds(1), host.Time, ct));
        Assert.True(host.Catalog.TryGetFunction("f", out var f));

        var preload = host.Pools.PreloadAsync(f, A, 3, TimeSpan.FromMinutes(1)).AsTask();
        for (var spins = 0; CreationsStarted(host) < 3 && !preload.IsCompleted; spins++)
        {
            Assert.True(spins < 100_000, "the three creations never reached the provider");
            await Task.Yield(); // let the three creations reach the provider
        }

        host.Time.Advance(TimeSpan.FromSeconds(1)); // one start time: all three are ready
        var loaded = await preload.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(3, loaded);
        Assert.Equal(3, host.Pools.GetSnapshot().Idle);
    }

    [Fact]
    public async Task PreloadAsync_InstancesExpireAfterTheirOwnKeepAlive()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop));
        Assert.True(host.Catalog.TryGetFunction("f", out var f));
        await host.Pools.PreloadAsync(f, A, 2, TimeSpan.FromSeconds(10));

        host.Time.Advance(TimeSpan.FromSeconds(11));
        await host.Pools.RunMaintenanceAsync();

        Assert.Equal(0, host.Pools.GetSnapshot().Idle);
        Assert.Equal(0, host.Provider.Live);
    }

    [Fact]
    public async Task WarmingPoolTarget_GrowsAndShrinksTheWarmingPool()
    {
        await using var host = TestHost.Create();
        var pools = host.Pools;
        Assert.Equal(0, pools.WarmingPoolTarget); // TestHost's options

        pools.WarmingPoolTarget = 3;
        await pools.PrewarmAsync();
        Assert.Equal(3, pools.GetSnapshot().Warm);

        pools.WarmingPoolTarget = 1;
        await pools.RunMaintenanceAsync();
        Assert.Equal(1, pools.GetSnapshot().Warm);
        Assert.Equal(1, host.Provider.Live);
        Assert.Throws<ArgumentOutOfRangeException>(() => pools.WarmingPoolTarget = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => pools.WarmingPoolTarget = 100_000);
    }

    private static int CreationsStarted(TestHost host)
    {
        lock (host.Provider.Specs)
        {
            return host.Provider.Specs.Count;
        }
    }

    private sealed class RecordingPolicy(TimeSpan keepAlive) : IKeepAlivePolicy
    {
        public List<string> Calls { get; } = [];

        public void OnInvocation(FunctionDefinition definition, TenantId tenant) => Calls.Add($"arrive {definition.Name} {tenant}");

        public TimeSpan OnCompleted(FunctionDefinition definition, TenantId tenant)
        {
            Calls.Add($"complete {definition.Name} {tenant}");
            return keepAlive;
        }
    }
}
