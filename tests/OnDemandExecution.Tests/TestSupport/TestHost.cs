using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OnDemandExecution.Execution;
using OnDemandExecution.Pooling;

namespace OnDemandExecution.Tests.TestSupport;

/// <summary>
/// A service provider wired with AddOnDemandExecution, a <see cref="FakeInstanceProvider"/> and a
/// <see cref="FakeTimeProvider"/>, without a host (maintenance runs only when a test calls it).
/// </summary>
public sealed class TestHost : IAsyncDisposable
{
    private TestHost(ServiceProvider services, FakeInstanceProvider provider, FakeTimeProvider time)
    {
        Services = services;
        Provider = provider;
        Time = time;
    }

    public ServiceProvider Services { get; }

    public FakeInstanceProvider Provider { get; }

    public FakeTimeProvider Time { get; }

    public IFunctionExecutor Executor => Services.GetRequiredService<IFunctionExecutor>();

    public IInstancePoolManager Pools => Services.GetRequiredService<IInstancePoolManager>();

    internal PoolManager PoolManager => Services.GetRequiredService<PoolManager>();

    internal FunctionExecutor FunctionExecutor => Services.GetRequiredService<FunctionExecutor>();

    public IFunctionCatalog Catalog => Services.GetRequiredService<IFunctionCatalog>();

    /// <summary>Builds a host; <paramref name="configure"/> adds functions (the fake provider loads delegate code).</summary>
    public static TestHost Create(Action<OnDemandExecutionOptions>? options = null, Action<IOnDemandExecutionBuilder>? configure = null, FakeInstanceProvider? provider = null)
    {
        provider ??= new FakeInstanceProvider();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        var builder = services.AddOnDemandExecution(o =>
        {
            o.WarmingPoolSize = 0;
            options?.Invoke(o);
        });
        builder.AddProvider(_ => provider);
        configure?.Invoke(builder);
        return new TestHost(services.BuildServiceProvider(validateScopes: true), provider, time);
    }

    /// <summary>A delegate function that ignores the fake provider's OnInvoke (the fake provider runs OnInvoke instead of delegates).</summary>
    public static FunctionHandler Noop { get; } = (_, _) => new ValueTask<ReadOnlyMemory<byte>>(ReadOnlyMemory<byte>.Empty);

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}
