using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.InProcess;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Platform;

/// <summary>Two real providers in one host through DI: the in-process one (default) and a test provider named "sandbox".</summary>
public class MultiProviderTests
{
    private static readonly TenantId Acme = new("acme");

    [Fact]
    public async Task TwoProviders_EachFunctionRunsOnItsOwnProvidersInstances()
    {
        await using var host = Build(out var sandbox);

        var trusted = await host.Executor.InvokeAsync("trusted", "x", Acme);
        var tenant = await host.Executor.InvokeAsync("tenant-code", "y", Acme);

        Assert.Equal("trusted:x", trusted.OutputAsString());
        Assert.StartsWith("inproc-", trusted.InstanceId, StringComparison.Ordinal);
        Assert.Equal("tenant-code:y", tenant.OutputAsString());
        Assert.StartsWith("fake-", tenant.InstanceId, StringComparison.Ordinal);
        Assert.All(sandbox.Instances.Values, i => Assert.Equal("tenant-code", i.LoadedFunction));
    }

    [Fact]
    public async Task TwoProviders_WarmInstanceOfOneProviderNeverServesAFunctionOfTheOther()
    {
        await using var host = Build(out var sandbox, sandboxWarm: 2, defaultWarm: 2);
        var pools = host.Services.GetRequiredService<IInstancePoolManager>();
        var sandboxPools = host.Services.GetRequiredKeyedService<IInstancePoolManager>("sandbox");
        await pools.PrewarmAsync();
        await sandboxPools.PrewarmAsync();

        for (var i = 0; i < 20; i++)
        {
            var tenant = new TenantId("t" + (i % 3));
            var t = await host.Executor.InvokeAsync("trusted", "a", tenant);
            var u = await host.Executor.InvokeAsync("tenant-code", "b", tenant);
            Assert.StartsWith("inproc-", t.InstanceId, StringComparison.Ordinal);
            Assert.StartsWith("fake-", u.InstanceId, StringComparison.Ordinal);
        }

        // The sandbox provider's instances only ever held its own function (or nothing yet: warm); the default pools only the trusted one.
        Assert.All(sandbox.Instances.Values, i => Assert.True(i.LoadedFunction is null or "tenant-code", i.LoadedFunction));
        Assert.Contains(sandbox.Instances.Values, i => i.LoadedFunction == "tenant-code");
        Assert.All(pools.GetActivePools(), p => Assert.Equal("trusted", p.Function));
        Assert.All(sandboxPools.GetActivePools(), p => Assert.Equal("tenant-code", p.Function));
        Assert.Same(sandbox, sandboxPools.Provider);
        Assert.IsType<InProcessInstanceProvider>(pools.Provider);
    }

    [Fact]
    public async Task NamedProvider_HasItsOwnWarmingPoolAndMaxInstances()
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Build(out var sandbox, sandboxWarm: 1, sandboxMax: 1);
        sandbox.OnInvoke = async (_, r, ct) =>
        {
            await hold.Task.WaitAsync(ct);
            return Encoding.UTF8.GetBytes("held");
        };
        var sandboxPools = host.Services.GetRequiredKeyedService<IInstancePoolManager>("sandbox");
        await sandboxPools.PrewarmAsync();
        Assert.Equal(1, sandboxPools.GetSnapshot().Warm);
        Assert.Equal(0, host.Services.GetRequiredService<IInstancePoolManager>().GetSnapshot().Warm);

        var running = host.Executor.InvokeAsync("tenant-code", "1", Acme).AsTask();
        while (sandboxPools.GetSnapshot().Busy == 0)
        {
            await Task.Yield();
        }

        // The sandbox's one instance is busy: another tenant's call there finds no room, the default provider is unaffected.
        await Assert.ThrowsAsync<InstanceCapacityExceededException>(() => host.Executor.InvokeAsync("tenant-code", "2", new TenantId("other")).AsTask());
        var trusted = await host.Executor.InvokeAsync("trusted", "3", new TenantId("other"));
        Assert.Equal("trusted:3", trusted.OutputAsString());

        hold.SetResult();
        Assert.Equal("held", (await running).OutputAsString());
        Assert.Equal(1, sandbox.Created);
    }

    [Fact]
    public async Task FunctionNamingAnUnregisteredProvider_FailsHostStartNamingTheProvider()
    {
        var services = new ServiceCollection();
        services.AddOnDemandExecution(o => o.WarmingPoolSize = 0)
            .AddProvider("sandbox", _ => new FakeInstanceProvider())
            .AddFunction(new FunctionDefinition("f", new ProgramFunctionCode("cat")) { ProviderName = "vm" });
        await using var sp = services.BuildServiceProvider();

        var ex = Assert.Throws<ArgumentException>(() => sp.GetRequiredService<IFunctionCatalog>());
        Assert.Contains("'vm'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'sandbox'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FunctionWhoseCodeItsProviderCannotLoad_IsRejectedEvenIfAnotherProviderCould()
    {
        await using var host = Build(out _);
        var catalog = host.Services.GetRequiredService<IFunctionCatalog>();

        // The in-process provider loads handler types, the sandbox provider does not.
        var ex = Assert.Throws<ArgumentException>(() => catalog.Register(
            new FunctionDefinition("h", new HandlerTypeFunctionCode(typeof(Handler))) { ProviderName = "sandbox" }));
        Assert.Contains("fake", ex.Message, StringComparison.Ordinal);
        catalog.Register(new FunctionDefinition("h", new HandlerTypeFunctionCode(typeof(Handler))) { ProviderName = "default" });
        Assert.Equal("handled", (await host.Executor.InvokeAsync("h", "x")).OutputAsString());
    }

    [Theory]
    [InlineData("default")]
    [InlineData("")]
    [InlineData("has space")]
    public void AddProvider_InvalidName_Throws(string name)
    {
        var builder = new ServiceCollection().AddOnDemandExecution();
        Assert.Throws<ArgumentException>(() => builder.AddProvider(name, _ => new FakeInstanceProvider()));
    }

    [Fact]
    public async Task AddProvider_SameNameTwice_TheLastProviderWins()
    {
        var first = new FakeInstanceProvider();
        var second = new FakeInstanceProvider();
        var services = new ServiceCollection();
        services.AddOnDemandExecution(o => o.WarmingPoolSize = 0)
            .AddProvider("sandbox", _ => first)
            .AddProvider("sandbox", _ => second, o => o.WarmingPoolSize = 0)
            .AddFunction(new FunctionDefinition("f", new ProgramFunctionCode("cat")) { ProviderName = "sandbox" });
        await using var sp = services.BuildServiceProvider();

        await sp.GetRequiredService<IFunctionExecutor>().InvokeAsync("f", "x");

        Assert.Equal(0, first.Created);
        Assert.Equal(1, second.Created);
    }

    [Fact]
    public async Task DefaultPoolManager_PreloadOfAnotherProvidersFunction_LoadsItOnThatProvider()
    {
        await using var host = Build(out var sandbox);
        var catalog = host.Services.GetRequiredService<IFunctionCatalog>();
        Assert.True(catalog.TryGetFunction("tenant-code", out var function));

        // Keep-alive policies and the pre-trigger correlator hold the default IInstancePoolManager.
        var loaded = await host.Services.GetRequiredService<IInstancePoolManager>().PreloadAsync(function, Acme, 2, TimeSpan.FromMinutes(1));

        Assert.Equal(2, loaded);
        Assert.Equal(2, sandbox.Created);
        Assert.Equal(2, host.Services.GetRequiredKeyedService<IInstancePoolManager>("sandbox").GetSnapshot().Idle);
        Assert.Equal(0, host.Services.GetRequiredService<IInstancePoolManager>().GetSnapshot().Idle);
    }

    [Fact]
    public async Task PoolSizeGauge_ReportsEachProviderUnderItsName()
    {
        await using var host = Build(out _, sandboxWarm: 2, defaultWarm: 1, metrics: true);
        await host.Services.GetRequiredService<IInstancePoolManager>().PrewarmAsync();
        await host.Services.GetRequiredKeyedService<IInstancePoolManager>("sandbox").PrewarmAsync();
        using var gauge = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), OnDemandExecutionDiagnostics.Name, OnDemandExecutionDiagnostics.PoolSize);

        gauge.RecordObservableInstruments();

        long Warm(string provider) => gauge.GetMeasurementSnapshot()
            .Where(m => Equals(m.Tags[OnDemandExecutionDiagnostics.StateTag], "warm") && Equals(m.Tags[OnDemandExecutionDiagnostics.ProviderTag], provider))
            .Sum(m => m.Value);
        Assert.Equal(1, Warm("in-process"));
        Assert.Equal(2, Warm("sandbox"));
    }

    [Fact]
    public async Task HostedService_PrewarmsAndStopsEveryProvidersPools()
    {
        var sandbox = new FakeInstanceProvider();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<TimeProvider>(new FakeTimeProvider());
        builder.Services.AddOnDemandExecution(o => o.WarmingPoolSize = 1)
            .AddProvider("sandbox", _ => sandbox, o => o.WarmingPoolSize = 3);
        using var app = builder.Build();

        await app.StartAsync();
        Assert.Equal(3, sandbox.Created);
        await app.StopAsync();

        Assert.Equal(0, sandbox.Live);
    }

    private static TestProviderHost Build(out FakeInstanceProvider sandbox, int sandboxWarm = 0, int defaultWarm = 0, int sandboxMax = 256, bool metrics = false)
    {
        var fake = sandbox = new FakeInstanceProvider();
        var services = new ServiceCollection();
        if (metrics)
        {
            services.AddMetrics();
        }

        services.AddSingleton<TimeProvider>(new FakeTimeProvider());
        services.AddOnDemandExecution(o => o.WarmingPoolSize = defaultWarm)
            .AddProvider("sandbox", _ => fake, o =>
            {
                o.WarmingPoolSize = sandboxWarm;
                o.MaxInstances = sandboxMax;
            })
            .AddFunction("trusted", (ctx, _) => new(Encoding.UTF8.GetBytes("trusted:" + Encoding.UTF8.GetString(ctx.Payload.Span))))
            .AddFunction(new FunctionDefinition("tenant-code", new ProgramFunctionCode("/bin/handler")) { ProviderName = "sandbox" });
        return new TestProviderHost(services.BuildServiceProvider(validateScopes: true));
    }

    private sealed class TestProviderHost(ServiceProvider services) : IAsyncDisposable
    {
        public ServiceProvider Services { get; } = services;

        public IFunctionExecutor Executor => Services.GetRequiredService<IFunctionExecutor>();

        public ValueTask DisposeAsync() => Services.DisposeAsync();
    }

    public sealed class Handler : IFunctionHandler
    {
        public ValueTask<ReadOnlyMemory<byte>> HandleAsync(FunctionContext context, CancellationToken cancellationToken) =>
            new(Encoding.UTF8.GetBytes("handled"));
    }
}
