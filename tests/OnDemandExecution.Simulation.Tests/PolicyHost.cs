using Microsoft.Extensions.DependencyInjection;

namespace OnDemandExecution.Simulation.Tests;

/// <summary>
/// The real services on a <see cref="SimulationClock"/> with a zero-latency <see cref="SimulatedInstanceProvider"/>:
/// every call, creation and load completes synchronously, so a test advances time and looks at the pools.
/// </summary>
public sealed class PolicyHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public PolicyHost(Action<IOnDemandExecutionBuilder> policy, int warmingPoolSize = 0)
    {
        Clock = new SimulationClock(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Provider = new SimulatedInstanceProvider(Clock, new SimulatedProviderOptions { CreateLatency = TimeSpan.Zero, LoadLatency = TimeSpan.Zero });
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(Clock);
        var builder = services.AddOnDemandExecution(o =>
        {
            o.WarmingPoolSize = warmingPoolSize;
            o.PrewarmOnStart = false;
        });
        builder.AddProvider(_ => Provider);
        builder.AddFunction("job", static (_, _) => new ValueTask<ReadOnlyMemory<byte>>(ReadOnlyMemory<byte>.Empty));
        policy(builder);
        _services = services.BuildServiceProvider();
    }

    public SimulationClock Clock { get; }

    public SimulatedInstanceProvider Provider { get; }

    public IInstancePoolManager Pools => _services.GetRequiredService<IInstancePoolManager>();

    public IKeepAlivePolicy Policy => _services.GetRequiredService<IKeepAlivePolicy>();

    public static TenantId Tenant { get; } = new("acme");

    public StartKind Invoke()
    {
        var call = _services.GetRequiredService<IFunctionExecutor>().InvokeAsync("job", ReadOnlyMemory<byte>.Empty, Tenant).AsTask();
        Assert.True(call.IsCompleted, "with zero latencies a call completes synchronously");
        return call.Result.StartKind;
    }

    public void Advance(TimeSpan by)
    {
        Clock.Advance(by);
        // Without a warming pool the pass completes synchronously; with one, its refill runs on the thread pool.
        Assert.True(Pools.RunMaintenanceAsync().AsTask().Wait(TimeSpan.FromSeconds(30)));
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
