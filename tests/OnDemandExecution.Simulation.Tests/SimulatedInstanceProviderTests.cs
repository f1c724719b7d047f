namespace OnDemandExecution.Simulation.Tests;

public class SimulatedInstanceProviderTests
{
    [Fact]
    public async Task Accounting_SplitsAnInstancesLife_AndWeighsIdleByMemory()
    {
        var clock = new SimulationClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var provider = new SimulatedInstanceProvider(clock, new SimulatedProviderOptions { CreateLatency = TimeSpan.FromSeconds(1), LoadLatency = TimeSpan.FromSeconds(2) });
        var definition = new FunctionDefinition("f", new DelegateFunctionCode((_, _) => default));

        var creating = provider.CreateAsync(new InstanceSpec { MemoryMb = 512 }, CancellationToken.None).AsTask();
        Assert.Equal(1, provider.CreatesInFlight);
        clock.Advance(TimeSpan.FromSeconds(1));
        var instance = await creating;
        Assert.Equal(0, provider.CreatesInFlight);

        clock.Advance(TimeSpan.FromSeconds(10));                     // 10 s idle in the warming pool
        var loading = instance.LoadAsync(definition, new TenantId("t"), CancellationToken.None).AsTask();
        clock.Advance(TimeSpan.FromSeconds(2));                      // 2 s loading (neither idle nor busy)
        await loading;
        clock.Advance(TimeSpan.FromSeconds(5));                      // 5 s idle, loaded
        var call = instance.InvokeAsync(new InvocationRequest("f", SimulatedInstanceProvider.EncodeDuration(TimeSpan.FromSeconds(3)), new TenantId("t")), CancellationToken.None).AsTask();
        clock.Advance(TimeSpan.FromSeconds(3));                      // 3 s busy
        await call;
        clock.Advance(TimeSpan.FromSeconds(4));                      // 4 s idle, loaded
        await instance.DisposeAsync();

        var stats = provider.GetStatistics(clock.GetUtcNow());
        Assert.Equal((1L, 1L, 1L), (stats.Created, stats.Disposed, stats.Loads));
        Assert.Equal(10, stats.IdleWarmSeconds, 6);
        Assert.Equal(9, stats.IdleLoadedSeconds, 6);
        Assert.Equal(3, stats.BusySeconds, 6);
        Assert.Equal(19 * 0.5, stats.IdleGbSeconds, 6);
        Assert.Equal(0, stats.OverProvisioned);
    }

    [Fact]
    public async Task Accounting_CountsLoadsNoCallUsed_AndInstancesNeverLoaded()
    {
        var clock = new SimulationClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var provider = new SimulatedInstanceProvider(clock, new SimulatedProviderOptions { CreateLatency = TimeSpan.Zero, LoadLatency = TimeSpan.Zero });
        var definition = new FunctionDefinition("f", new DelegateFunctionCode((_, _) => default));
        var preloaded = await provider.CreateAsync(new InstanceSpec(), CancellationToken.None);
        await preloaded.LoadAsync(definition, new TenantId("t"), CancellationToken.None);
        var unused = await provider.CreateAsync(new InstanceSpec(), CancellationToken.None);
        clock.Advance(TimeSpan.FromMinutes(1));
        await preloaded.DisposeAsync();
        await unused.DisposeAsync();

        var stats = provider.GetStatistics(clock.GetUtcNow());
        Assert.Equal(1, stats.PreloadedNeverInvoked);
        Assert.Equal(1, stats.WarmNeverUsed);
        Assert.Equal(2, stats.OverProvisioned);
    }
}
