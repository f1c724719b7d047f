using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OnDemandExecution.Tests.Sidecars;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Capabilities;

public class CapabilityTests
{
    private const string Resize = "resize-image";
    private static readonly TimeSpan ColdStart = TimeSpan.FromMilliseconds(300);
    private static readonly Dictionary<string, TimeSpan> Durations = new()
    {
        ["resize-fast"] = TimeSpan.FromMilliseconds(10),
        ["resize-slow"] = TimeSpan.FromMilliseconds(100),
    };

    /// <summary>A host whose fake provider takes <see cref="ColdStart"/> to create an instance and <see cref="Durations"/> to run.</summary>
    private static TestHost CreateHost(Action<IOnDemandExecutionBuilder>? more = null, int warmingPoolSize = 0)
    {
        var provider = new FakeInstanceProvider();
        var host = TestHost.Create(
            o => o.WarmingPoolSize = warmingPoolSize,
            b =>
            {
                b.AddFunction("resize-fast", TestHost.Noop, f => f with { Capabilities = [Resize], KeepAlive = TimeSpan.FromMinutes(1) });
                b.AddFunction("resize-slow", TestHost.Noop, f => f with { Capabilities = [Resize, "thumbnail"], KeepAlive = TimeSpan.FromHours(1) });
                more?.Invoke(b);
            },
            provider);
        provider.OnCreate = (_, _) =>
        {
            host.Time.Advance(ColdStart);
            return default;
        };
        provider.OnInvoke = (instance, request, _) =>
        {
            host.Time.Advance(Durations.GetValueOrDefault(request.FunctionName));
            return new ValueTask<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes(request.FunctionName + ":" + request.Tenant));
        };
        return host;
    }

    private static ICapabilityInvoker Invoker(TestHost host) => host.Services.GetRequiredService<ICapabilityInvoker>();

    [Fact]
    public async Task Rank_WithNothingLearned_BreaksTiesByName()
    {
        await using var host = CreateHost();
        var ranked = Invoker(host).Rank(Resize, new TenantId("a"));
        Assert.Equal(["resize-fast", "resize-slow"], ranked.Select(c => c.FunctionName));
        Assert.All(ranked, c => Assert.Equal(StartKind.Cold, c.ExpectedStart));
        Assert.Equal(ranked[0].TotalCost, ranked[1].TotalCost);

        await using var reversed = TestHost.Create(configure: b => b
            .AddFunction("b-provider", TestHost.Noop, f => f with { Capabilities = ["x"] })
            .AddFunction("a-provider", TestHost.Noop, f => f with { Capabilities = ["x"] }));
        Assert.Equal("a-provider", Invoker(reversed).Rank("x")[0].FunctionName);
    }

    [Fact]
    public async Task Selection_SwitchesWhenWarmCapacityChanges()
    {
        await using var host = CreateHost();
        var tenant = new TenantId("a");
        var invoker = Invoker(host);

        // Learn: one call each (cold), which also leaves one idle instance of each.
        await host.Executor.InvokeAsync("resize-fast", "x", tenant);
        await host.Executor.InvokeAsync("resize-slow", "x", tenant);
        var both = invoker.Rank(Resize, tenant);
        Assert.All(both, c => Assert.Equal(StartKind.Warm, c.ExpectedStart));
        Assert.Equal("resize-fast", both[0].FunctionName);          // both warm: the faster one
        Assert.Equal(TimeSpan.FromMilliseconds(10), both[0].ExecutionCost);

        // The fast one's instance expires: a warm slow call (100 ms) beats a cold fast one (300 + 10 ms).
        host.Time.Advance(TimeSpan.FromMinutes(5));
        await host.Pools.RunMaintenanceAsync();
        var ranked = invoker.Rank(Resize, tenant);
        Assert.Equal(("resize-slow", StartKind.Warm), (ranked[0].FunctionName, ranked[0].ExpectedStart));
        Assert.Equal(("resize-fast", StartKind.Cold), (ranked[1].FunctionName, ranked[1].ExpectedStart));
        Assert.Equal(ColdStart + TimeSpan.FromMilliseconds(10), ranked[1].TotalCost); // learned cold start + learned execution
        var call = await invoker.InvokeAsync(Resize, Encoding.UTF8.GetBytes("img"), tenant);
        Assert.Equal("resize-slow", call.FunctionName);
        Assert.Equal(StartKind.Warm, call.Result.StartKind);

        // Warm capacity for the fast one comes back (preloaded): it wins again.
        var fast = host.Catalog.Functions.Single(f => f.Name == "resize-fast");
        await host.Pools.PreloadAsync(fast, tenant, 1, TimeSpan.FromMinutes(1));
        call = await invoker.InvokeAsync(Resize, Encoding.UTF8.GetBytes("img"), tenant);
        Assert.Equal("resize-fast", call.FunctionName);
        Assert.Equal(StartKind.Warm, call.Result.StartKind);
    }

    [Fact]
    public async Task Selection_IsPerTenant()
    {
        await using var host = CreateHost();
        await host.Executor.InvokeAsync("resize-fast", "x", new TenantId("a"));
        await host.Executor.InvokeAsync("resize-slow", "x", new TenantId("a"));
        await host.Executor.InvokeAsync("resize-slow", "x", new TenantId("b"));

        // b has only the slow one warm: 100 ms beats a 310 ms cold start of the fast one. a has both warm.
        Assert.Equal("resize-slow", Invoker(host).Rank(Resize, new TenantId("b"))[0].FunctionName);
        Assert.Equal("resize-fast", Invoker(host).Rank(Resize, new TenantId("a"))[0].FunctionName);
        var call = await Invoker(host).InvokeAsync(Resize, default, new TenantId("b"));
        Assert.Equal("resize-slow:b", call.Result.OutputAsString());
    }

    [Fact]
    public async Task WarmingPool_MakesAColdCandidateCheaper()
    {
        await using var host = CreateHost(warmingPoolSize: 1);
        await host.Pools.PrewarmAsync();
        var ranked = Invoker(host).Rank(Resize, new TenantId("a"));
        Assert.All(ranked, c => Assert.Equal(StartKind.WarmPool, c.ExpectedStart));
        Assert.All(ranked, c => Assert.True(c.InvocationCost < ColdStart));
    }

    [Fact]
    public async Task UnknownCapability_Throws()
    {
        await using var host = CreateHost();
        Assert.Empty(Invoker(host).Rank("nothing"));
        var ex = await Assert.ThrowsAsync<CapabilityNotFoundException>(() => Invoker(host).InvokeAsync("nothing", default).AsTask());
        Assert.Equal("nothing", ex.Capability);
    }

    [Fact]
    public async Task FunctionsRegisteredAtRunTime_JoinTheCandidates()
    {
        await using var host = CreateHost();
        host.Catalog.Register(new FunctionDefinition("resize-new", new DelegateFunctionCode(TestHost.Noop)) { Capabilities = [Resize] });
        Assert.Contains("resize-new", Invoker(host).Rank(Resize).Select(c => c.FunctionName));
    }

    [Fact]
    public async Task NestedCall_FromARunningFunction_CarriesItsTenant_ThroughDI()
    {
        await using var host = InProcessHost.Create(null, b => b
            .AddFunction("resize", (ctx, _) => new ValueTask<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes($"resized for {ctx.Tenant}")), f => f with { Capabilities = [Resize] })
            .AddFunction("gallery", async (ctx, ct) =>
            {
                var nested = await ctx.InvokeCapabilityAsync(Resize, ctx.Payload, ct);
                var byName = await ctx.InvokeFunctionAsync("resize", ctx.Payload, ct);
                return Encoding.UTF8.GetBytes($"{nested.FunctionName}|{nested.Result.OutputAsString()}|{byName.OutputAsString()}");
            }));

        var result = await host.Executor.InvokeAsync("gallery", "img", new TenantId("acme"));

        Assert.Equal("resize|resized for acme|resized for acme", result.OutputAsString());
        Assert.Contains(host.Pools.GetActivePools(), p => p.Tenant == new TenantId("acme") && p.Function == "resize");
    }

    [Fact]
    public async Task Register_EmptyCapabilityName_Throws()
    {
        await using var host = TestHost.Create();
        Assert.Throws<ArgumentException>(() => host.Catalog.Register(new FunctionDefinition("f", new DelegateFunctionCode(TestHost.Noop)) { Capabilities = [" "] }));
    }
}
