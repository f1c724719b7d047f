using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Sidecars;

public class SidecarTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    /// <summary>A sidecar that answers "{name}:{tenant}:{instance}:{payload}".</summary>
    internal static FunctionCode EchoSidecar(string name) => new DelegateFunctionCode((ctx, _) =>
        new ValueTask<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes($"{name}:{ctx.Tenant}:{ctx.InstanceId}:{Encoding.UTF8.GetString(ctx.Payload.Span)}")));

    /// <summary>A handler that sends its payload to the sidecar <paramref name="sidecar"/> and returns its answer.</summary>
    private static FunctionHandler CallsSidecar(string sidecar, TaskCompletionSource? gate = null) => async (ctx, ct) =>
    {
        if (gate is not null)
        {
            await gate.Task.WaitAsync(ct);
        }

        return await ctx.InvokeSidecarAsync(sidecar, ctx.Payload, ct);
    };

    private static string[] Parts(InvocationResult result) => result.OutputAsString().Split(':');

    [Fact]
    public async Task FunctionWithoutSidecars_ProvisionsNone()
    {
        await using var host = InProcessHost.Create(null, b => b.AddFunction("plain", TestHost.Noop));
        await host.Executor.InvokeAsync("plain", "x", new TenantId("a"));
        Assert.Equal(0, host.FunctionExecutor.Sidecars.RunningCount);
        Assert.Equal(1, host.Pools.GetSnapshot().Created);
    }

    [Fact]
    public async Task Handler_ReachesItsSidecar_StartedFromTheWarmingPool()
    {
        await using var host = InProcessHost.Create(
            o => o.WarmingPoolSize = 2,
            b => b.AddFunction("f", CallsSidecar("log"), f => f with { Sidecars = [new SidecarDefinition("log", EchoSidecar("log"))] }));
        await host.Pools.PrewarmAsync();
        host.Pools.WarmingPoolTarget = 0; // no background refill: only the two warm instances exist

        var result = await host.Executor.InvokeAsync("f", "hello", new TenantId("a"));

        var parts = Parts(result);
        Assert.Equal(["log", "a"], parts[..2]);
        Assert.Equal("hello", parts[3]);
        Assert.NotEqual(result.InstanceId, parts[2]); // its own instance
        Assert.Equal(StartKind.WarmPool, result.StartKind);
        Assert.Equal(2, host.Pools.GetSnapshot().Created); // primary and sidecar both came from the warming pool
        Assert.Equal(1, host.FunctionExecutor.Sidecars.RunningCount);
    }

    [Fact]
    public async Task PerTaskSidecar_IsSharedByOneTenantsInstances_AndStopsWithTheLastPrimary()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = InProcessHost.Create(null, b => b.AddFunction("f", CallsSidecar("log", gate), f => f with { Sidecars = [new SidecarDefinition("log", EchoSidecar("log"))] }));
        var a = new TenantId("a");
        var first = host.Executor.InvokeAsync("f", "1", a).AsTask();
        var second = host.Executor.InvokeAsync("f", "2", a).AsTask();
        var other = host.Executor.InvokeAsync("f", "3", new TenantId("b")).AsTask();
        gate.SetResult();
        var results = await Task.WhenAll(first, second, other).WaitAsync(HangGuard);

        Assert.NotEqual(results[0].InstanceId, results[1].InstanceId); // two primaries of tenant a...
        Assert.Equal(Parts(results[0])[2], Parts(results[1])[2]);     // ...share one sidecar
        Assert.NotEqual(Parts(results[0])[2], Parts(results[2])[2]);  // tenant b has its own
        Assert.Equal("b", Parts(results[2])[1]);
        Assert.Equal(2, host.FunctionExecutor.Sidecars.RunningCount);

        await host.ExpireIdleAsync();

        Assert.Equal(0, host.FunctionExecutor.Sidecars.RunningCount);
        Assert.Equal(0, host.Pools.GetSnapshot().Live);
    }

    [Fact]
    public async Task PerUserSidecar_IsSharedAcrossATenantsFunctions_AndStopsWithItsLastPrimary()
    {
        var log = new SidecarDefinition("log", EchoSidecar("log"), SidecarScope.PerUser); // equal definitions (same code) share
        await using var host = InProcessHost.Create(null, b => b
            .AddFunction("short", CallsSidecar("log"), f => f with { KeepAlive = TimeSpan.FromMinutes(1), Sidecars = [log] })
            .AddFunction("long", CallsSidecar("log"), f => f with { KeepAlive = TimeSpan.FromHours(1), Sidecars = [log] }));
        var a = new TenantId("a");
        var viaShort = await host.Executor.InvokeAsync("short", "x", a);
        var viaLong = await host.Executor.InvokeAsync("long", "x", a);
        Assert.Equal(Parts(viaShort)[2], Parts(viaLong)[2]); // equal per-user definitions: one sidecar for the tenant

        await host.ExpireIdleAsync(TimeSpan.FromMinutes(5)); // "short" expires, "long" stays
        Assert.Equal(1, host.FunctionExecutor.Sidecars.RunningCount);
        var again = await host.Executor.InvokeAsync("short", "y", a);
        Assert.Equal(Parts(viaLong)[2], Parts(again)[2]);

        await host.ExpireIdleAsync(TimeSpan.FromHours(2));
        Assert.Equal(0, host.FunctionExecutor.Sidecars.RunningCount);
        Assert.Equal(0, host.Pools.GetSnapshot().Live);
    }

    [Fact]
    public async Task PerRequestSidecar_StopsWhenItsRequestEnds()
    {
        await using var host = InProcessHost.Create(null, b => b.AddFunction("f", CallsSidecar("proxy"), f => f with { Sidecars = [new SidecarDefinition("proxy", EchoSidecar("proxy"), SidecarScope.PerRequest)] }));
        var a = new TenantId("a");
        var first = await host.Executor.InvokeAsync("f", "1", a);
        Assert.Equal(0, host.FunctionExecutor.Sidecars.RunningCount);
        var second = await host.Executor.InvokeAsync("f", "2", a);
        Assert.NotEqual(Parts(first)[2], Parts(second)[2]);
        var snapshot = host.Pools.GetSnapshot();
        Assert.Equal(1, snapshot.Live); // only the primary is left, idle
        Assert.Equal(2, snapshot.Destroyed);
    }

    [Fact]
    public async Task SidecarWithADedicatedProvider_IsCreatedByIt_AndDisposedWithItsPrimary()
    {
        var dedicated = new FakeInstanceProvider();
        await using var host = InProcessHost.Create(null, b => b.AddFunction("f", CallsSidecar("secrets"), f => f with
        {
            Sidecars = [new SidecarDefinition("secrets", new ProgramFunctionCode("/bin/secrets-proxy")) { Provider = dedicated }],
        }));

        var result = await host.Executor.InvokeAsync("f", "token", new TenantId("a"));

        Assert.Equal("sidecar:secrets:token", result.OutputAsString()); // the fake provider echoes "{function}:{payload}"
        Assert.Equal(1, dedicated.Created);
        Assert.Equal(new TenantId("a"), dedicated.Instances.Values.Single().Tenant);
        await host.ExpireIdleAsync();
        Assert.Equal(1, dedicated.Disposed);
    }

    [Fact]
    public async Task SidecarStartFailure_FailsTheCall_AndTheNextCallStartsItAgain()
    {
        var dedicated = new FakeInstanceProvider();
        var failures = 1;
        dedicated.OnCreate = (_, _) => Interlocked.Decrement(ref failures) >= 0 ? throw new InstanceProviderException("no capacity") : default;
        await using var host = InProcessHost.Create(null, b => b.AddFunction("f", CallsSidecar("log"), f => f with
        {
            Sidecars = [new SidecarDefinition("log", new ProgramFunctionCode("log")) { Provider = dedicated }],
        }));

        await Assert.ThrowsAsync<InstanceProviderException>(() => host.Executor.InvokeAsync("f", "1", new TenantId("a")).AsTask());
        var result = await host.Executor.InvokeAsync("f", "2", new TenantId("a"));

        Assert.Equal("sidecar:log:2", result.OutputAsString());
        Assert.Equal(1, dedicated.Created);
        Assert.Equal(1, host.Pools.GetSnapshot().Idle); // the first call's primary was kept
    }

    [Fact]
    public async Task SidecarHandle_AfterItsInvocationEnded_IsRefused()
    {
        SidecarHandle? leaked = null;
        await using var host = InProcessHost.Create(null, b => b.AddFunction("f", (ctx, _) =>
        {
            leaked = ctx.GetSidecar("log");
            return new ValueTask<ReadOnlyMemory<byte>>(ReadOnlyMemory<byte>.Empty);
        }, f => f with { Sidecars = [new SidecarDefinition("log", EchoSidecar("log"))] }));
        await host.Executor.InvokeAsync("f", "x", new TenantId("a"));

        Assert.NotNull(leaked);
        await Assert.ThrowsAsync<SidecarAccessDeniedException>(() => leaked.InvokeAsync(Encoding.UTF8.GetBytes("late")).AsTask());
    }

    [Fact]
    public async Task HandlerFacingApi_WithAForgedContext_IsRefused()
    {
        await using var host = InProcessHost.Create(null, b => b.AddFunction("f", async (ctx, ct) =>
        {
            // A context the handler builds itself, claiming another tenant: never trusted.
            var forged = new FunctionContext(new InvocationRequest(ctx.FunctionName, ctx.Payload, new TenantId("victim")), ctx.InstanceId);
            await Assert.ThrowsAsync<SidecarAccessDeniedException>(() => forged.InvokeSidecarAsync("log", ctx.Payload, ct).AsTask());
            return Encoding.UTF8.GetBytes("checked");
        }, f => f with { Sidecars = [new SidecarDefinition("log", EchoSidecar("log"))] }));

        var result = await host.Executor.InvokeAsync("f", "x", new TenantId("a"));
        Assert.Equal("checked", result.OutputAsString());
    }

    [Fact]
    public async Task GetSidecar_OfAnUndeclaredName_Throws()
    {
        await using var host = InProcessHost.Create(null, b => b.AddFunction("f", async (ctx, ct) =>
        {
            Assert.Throws<ArgumentException>(() => ctx.GetSidecar("nope"));
            return await ctx.InvokeSidecarAsync("log", ctx.Payload, ct);
        }, f => f with { Sidecars = [new SidecarDefinition("log", EchoSidecar("log"))] }));

        await host.Executor.InvokeAsync("f", "x", new TenantId("a"));
    }

    [Fact]
    public async Task Register_DuplicateSidecarNames_OrUnloadableSidecarCode_Throw()
    {
        await using var host = TestHost.Create(); // the fake provider loads delegate and program code, not handler types
        var log = new SidecarDefinition("log", new DelegateFunctionCode(TestHost.Noop));
        Assert.Throws<ArgumentException>(() => host.Catalog.Register(new FunctionDefinition("dup", new DelegateFunctionCode(TestHost.Noop)) { Sidecars = [log, log] }));
        Assert.Throws<ArgumentException>(() => host.Catalog.Register(new FunctionDefinition("bad", new DelegateFunctionCode(TestHost.Noop))
        {
            Sidecars = [new SidecarDefinition("x", new HandlerTypeFunctionCode(typeof(object)))],
        }));
        Assert.Throws<ArgumentException>(() => new SidecarDefinition("bad name", new DelegateFunctionCode(TestHost.Noop)));
    }
}
