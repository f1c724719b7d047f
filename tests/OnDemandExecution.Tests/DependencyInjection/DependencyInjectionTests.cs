using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OnDemandExecution.InProcess;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.DependencyInjection;

public class DependencyInjectionTests
{
    [Fact]
    public async Task AddOnDemandExecution_CalledTwice_RegistersOneExecutorAndOneHostedServiceAndAppliesBothConfigurations()
    {
        var services = new ServiceCollection();
        services.AddOnDemandExecution(o => o.MaxInstances = 7);
        services.AddOnDemandExecution(o => o.KeepAlive = TimeSpan.FromMinutes(3));

        Assert.Single(services, d => d.ServiceType == typeof(IFunctionExecutor));
        Assert.Single(services, d => d.ServiceType == typeof(IInstanceProvider));
        Assert.Single(services, d => d.ServiceType == typeof(IHostedService));
        await using var sp = services.BuildServiceProvider(validateScopes: true);
        Assert.Single(sp.GetServices<IHostedService>());
        Assert.Same(sp.GetRequiredService<IFunctionExecutor>(), sp.GetRequiredService<IFunctionExecutor>());
        var options = sp.GetRequiredService<IOptions<OnDemandExecutionOptions>>().Value;
        Assert.Equal(7, options.MaxInstances);
        Assert.Equal(TimeSpan.FromMinutes(3), options.KeepAlive);
    }

    [Fact]
    public async Task AddOnDemandExecution_NoProviderAdded_UsesInProcessProvider()
    {
        var services = new ServiceCollection();
        services.AddOnDemandExecution(o => o.WarmingPoolSize = 0)
            .AddFunction("hello", (ctx, _) => new(Encoding.UTF8.GetBytes("hello " + Encoding.UTF8.GetString(ctx.Payload.Span))));
        await using var sp = services.BuildServiceProvider(validateScopes: true);

        var provider = sp.GetRequiredService<IInstanceProvider>();
        var result = await sp.GetRequiredService<IFunctionExecutor>().InvokeAsync("hello", "world");

        Assert.IsType<InProcessInstanceProvider>(provider);
        Assert.Equal("in-process", provider.Name);
        Assert.Equal("hello world", result.OutputAsString());
        Assert.StartsWith("inproc-", result.InstanceId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddProvider_Generic_ReplacesInProcessProviderEvenIfAddOnDemandExecutionIsCalledAgain()
    {
        var services = new ServiceCollection();
        services.AddOnDemandExecution(o => o.WarmingPoolSize = 0)
            .AddProvider<FakeInstanceProvider>()
            .AddFunction("f", TestHost.Noop);
        services.AddOnDemandExecution();
        await using var sp = services.BuildServiceProvider(validateScopes: true);

        var result = await sp.GetRequiredService<IFunctionExecutor>().InvokeAsync("f", "x");

        Assert.Single(services, d => d.ServiceType == typeof(IInstanceProvider));
        var provider = Assert.IsType<FakeInstanceProvider>(sp.GetRequiredService<IInstanceProvider>());
        Assert.Equal("f:x", result.OutputAsString()); // the fake's echo, not the delegate (which returns nothing)
        Assert.Equal(1, provider.Created);
        Assert.Same(provider, sp.GetRequiredService<IInstancePoolManager>().Provider);
    }

    [Fact]
    public async Task AddFunction_HandlerType_IsCreatedThroughDiAndInvocable()
    {
        var services = new ServiceCollection();
        services.AddSingleton(new Greeter("hi"));
        services.AddOnDemandExecution(o => o.WarmingPoolSize = 0).AddFunction<GreetingHandler>("greet");
        await using var sp = services.BuildServiceProvider(validateScopes: true);
        var executor = sp.GetRequiredService<IFunctionExecutor>();

        var first = await executor.InvokeAsync("greet", "ann");
        var second = await executor.InvokeAsync("greet", "bob");

        Assert.True(sp.GetRequiredService<IFunctionCatalog>().TryGetFunction("greet", out var function));
        Assert.IsType<HandlerTypeFunctionCode>(function.Code);
        Assert.Equal("hi ann #1", first.OutputAsString());
        Assert.Equal("hi bob #2", second.OutputAsString()); // one handler object per instance, reused on the warm hit
        Assert.Equal(StartKind.Warm, second.StartKind);
    }

    [Fact]
    public async Task AddFunction_DelegateWithConfigure_AppliesLimitsAndIsInvocable()
    {
        var services = new ServiceCollection();
        services.AddOnDemandExecution(o => o.WarmingPoolSize = 0).AddFunction(
            "limited",
            (ctx, _) => new(ctx.Payload.ToArray().Reverse().ToArray()),
            f => f with { MaxPayloadBytes = 3, Timeout = TimeSpan.FromSeconds(7), MaxConcurrency = 2 });
        await using var sp = services.BuildServiceProvider(validateScopes: true);
        var executor = sp.GetRequiredService<IFunctionExecutor>();

        var result = await executor.InvokeAsync("limited", "abc");
        var ex = await Assert.ThrowsAsync<PayloadTooLargeException>(() => executor.InvokeAsync("limited", "abcd").AsTask());

        Assert.Equal("cba", result.OutputAsString());
        Assert.Equal(3, ex.LimitBytes);
        Assert.True(sp.GetRequiredService<IFunctionCatalog>().TryGetFunction("limited", out var function));
        Assert.Equal(TimeSpan.FromSeconds(7), function.Timeout);
        Assert.Equal(2, function.MaxConcurrency);
    }

    [Fact]
    public async Task AddAssemblyFunction_TestFunctionsAssembly_IsLoadedAndInvocable()
    {
        var services = new ServiceCollection();
        services.AddOnDemandExecution(o => o.WarmingPoolSize = 0)
            .AddAssemblyFunction("echo", TestFunctionsAssembly.Path, TestFunctionsAssembly.EchoHandler);
        await using var sp = services.BuildServiceProvider(validateScopes: true);
        var executor = sp.GetRequiredService<IFunctionExecutor>();

        var first = await executor.InvokeAsync("echo", "hi");
        var second = await executor.InvokeAsync("echo", "again");

        Assert.Equal("echo:hi:1", first.OutputAsString());
        Assert.Equal(StartKind.Cold, first.StartKind);
        Assert.Equal("echo:again:2", second.OutputAsString());
        Assert.Equal(StartKind.Warm, second.StartKind);
    }

    [Fact]
    public async Task Host_StartAndStop_FillsWarmingPoolThenDestroysEveryInstance()
    {
        var fake = new FakeInstanceProvider();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddOnDemandExecution(o => o.WarmingPoolSize = 3)
            .AddProvider(_ => fake)
            .AddFunction("f", TestHost.Noop);
        using var host = builder.Build();
        var pools = host.Services.GetRequiredService<IInstancePoolManager>();

        await host.StartAsync();
        await WaitUntilAsync(() => pools.GetSnapshot().Warm == 3);
        var result = await host.Services.GetRequiredService<IFunctionExecutor>().InvokeAsync("f", "x", new TenantId("a"));
        Assert.Equal(StartKind.WarmPool, result.StartKind);
        await WaitUntilAsync(() => pools.GetSnapshot() is { Warm: 3, Idle: 1, Provisioning: 0 }); // refilled after the take
        Assert.Equal(4, fake.Live);

        await host.StopAsync();

        Assert.Equal(0, fake.Live);
        var snapshot = pools.GetSnapshot();
        Assert.Equal(0, snapshot.Live);
        Assert.Equal(snapshot.Created, snapshot.Destroyed);
        Assert.All(fake.Instances.Values, i => Assert.True(i.IsDisposed));
    }

    [Fact]
    public async Task Host_DuplicateFunctionRegistration_FailsStart()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddOnDemandExecution(o => o.WarmingPoolSize = 0)
            .AddFunction("dup", TestHost.Noop)
            .AddFunction("dup", TestHost.Noop);
        using var host = builder.Build();

        var ex = await Assert.ThrowsAnyAsync<ArgumentException>(() => host.StartAsync());

        Assert.Contains("'dup'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_AssemblyFunctionFileMissing_FailsStartNamingThePath()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "odx-missing-" + Guid.NewGuid().ToString("N"), "WordCount.dll");
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddOnDemandExecution(o => o.WarmingPoolSize = 0)
            .AddAssemblyFunction("wordcount", path, "WordCount.Handler");
        using var host = builder.Build();

        var ex = await Assert.ThrowsAnyAsync<ArgumentException>(() => host.StartAsync());

        Assert.Contains("'wordcount'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_AssemblyFunctionTypeMissing_FailsStartNamingTheType()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddOnDemandExecution(o => o.WarmingPoolSize = 0)
            .AddAssemblyFunction("echo", TestFunctionsAssembly.Path, "OnDemandExecution.TestFunctions.NoSuchHandler");
        using var host = builder.Build();

        var ex = await Assert.ThrowsAnyAsync<ArgumentException>(() => host.StartAsync());

        Assert.Contains("OnDemandExecution.TestFunctions.NoSuchHandler", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Catalog_AssemblyFunctionNotAnAssembly_IsRejectedAtRegistration()
    {
        var path = System.IO.Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "not a PE file");
            var services = new ServiceCollection();
            services.AddOnDemandExecution().AddAssemblyFunction("bad", path, "X.Handler");
            using var provider = services.BuildServiceProvider();

            var ex = Assert.ThrowsAny<ArgumentException>(() => provider.GetRequiredService<IFunctionCatalog>());

            Assert.Contains(path, ex.Message, StringComparison.Ordinal); // "is not a .NET assembly" or "cannot be read"
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Waits for the host's background work; a bounded wait-until, not a timing assertion.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 2000 && !condition(); i++)
        {
            await Task.Delay(5);
        }

        Assert.True(condition(), "The condition did not become true.");
    }

    public sealed class Greeter(string greeting)
    {
        public string Greeting { get; } = greeting;
    }

    public sealed class GreetingHandler(Greeter greeter) : IFunctionHandler
    {
        private int _calls;

        public ValueTask<ReadOnlyMemory<byte>> HandleAsync(FunctionContext context, CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _calls);
            return new(Encoding.UTF8.GetBytes($"{greeter.Greeting} {Encoding.UTF8.GetString(context.Payload.Span)} #{n}"));
        }
    }
}
