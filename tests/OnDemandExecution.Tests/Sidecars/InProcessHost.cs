using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OnDemandExecution.Execution;
using OnDemandExecution.Pooling;

namespace OnDemandExecution.Tests.Sidecars;

/// <summary>
/// A service provider wired with AddOnDemandExecution and the real in-process provider (delegate handlers run, so they
/// can use the handler-facing API) on a <see cref="FakeTimeProvider"/>, without a host.
/// </summary>
public sealed class InProcessHost : IAsyncDisposable
{
    private InProcessHost(ServiceProvider services, FakeTimeProvider time)
    {
        Services = services;
        Time = time;
    }

    public ServiceProvider Services { get; }

    public FakeTimeProvider Time { get; }

    public IFunctionExecutor Executor => Services.GetRequiredService<IFunctionExecutor>();

    public ICapabilityInvoker Capabilities => Services.GetRequiredService<ICapabilityInvoker>();

    public IInstancePoolManager Pools => Services.GetRequiredService<IInstancePoolManager>();

    internal FunctionExecutor FunctionExecutor => Services.GetRequiredService<FunctionExecutor>();

    internal PoolManager PoolManager => Services.GetRequiredService<PoolManager>();

    public static InProcessHost Create(Action<OnDemandExecutionOptions>? options, Action<IOnDemandExecutionBuilder> configure)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        var builder = services.AddOnDemandExecution(o =>
        {
            o.WarmingPoolSize = 0;
            o.KeepAlive = TimeSpan.FromMinutes(1);
            options?.Invoke(o);
        }).AddInProcessProvider();
        configure(builder);
        return new InProcessHost(services.BuildServiceProvider(validateScopes: true), time);
    }

    /// <summary>Moves time past every keep-alive and runs a maintenance pass: idle instances expire.</summary>
    public async Task ExpireIdleAsync(TimeSpan? by = null)
    {
        Time.Advance(by ?? TimeSpan.FromMinutes(5));
        await Pools.RunMaintenanceAsync();
    }

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}
