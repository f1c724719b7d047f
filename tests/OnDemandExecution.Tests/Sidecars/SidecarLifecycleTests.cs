using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Sidecars;

public class SidecarLifecycleTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTimeOffset.UtcNow + HangGuard;
        while (!condition())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "condition not reached");
            await Task.Yield();
        }
    }

    [Fact]
    public async Task PrimaryLoadFailure_FailsTheCall_AndStopsTheSidecarStartedForIt()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop, f => f with
        {
            Sidecars = [new SidecarDefinition("log", new DelegateFunctionCode(TestHost.Noop))],
        }));
        host.Provider.OnLoad = (_, definition) => definition.Name == "f" ? throw new InvalidOperationException("bad image") : default;

        await Assert.ThrowsAsync<InstanceProviderException>(() => host.Executor.InvokeAsync("f", "x").AsTask());

        await EventuallyAsync(() => host.Pools.GetSnapshot().Live == 0);
        Assert.Equal(0, host.FunctionExecutor.Sidecars.RunningCount);
    }

    [Fact]
    public async Task RecycledPrimary_StopsItsSidecar()
    {
        await using var host = TestHost.Create(
            o => o.WarmingPoolSize = 1,
            b => b.AddFunction("f", TestHost.Noop, f => f with { KeepAlive = TimeSpan.FromMinutes(1), Sidecars = [new SidecarDefinition("log", new DelegateFunctionCode(TestHost.Noop))] }));
        host.Pools.WarmingPoolTarget = 0;
        await host.Executor.InvokeAsync("f", "x");
        Assert.Equal(1, host.FunctionExecutor.Sidecars.RunningCount);

        host.Pools.WarmingPoolTarget = 1; // the expired primary is recycled into the warming pool, not destroyed
        host.Time.Advance(TimeSpan.FromMinutes(5));
        await host.Pools.RunMaintenanceAsync();

        Assert.True(host.Pools.GetSnapshot().Recycled >= 1);
        Assert.Equal(0, host.FunctionExecutor.Sidecars.RunningCount);
    }

    [Fact]
    public async Task Shutdown_StopsEverySidecar()
    {
        var host = InProcessHost.Create(null, b => b.AddFunction("f", (ctx, ct) => ctx.InvokeSidecarAsync("log", ctx.Payload, ct), f => f with
        {
            Sidecars = [new SidecarDefinition("log", SidecarTests.EchoSidecar("log")), new SidecarDefinition("metrics", SidecarTests.EchoSidecar("metrics"), SidecarScope.PerUser)],
        }));
        await host.Executor.InvokeAsync("f", "x", new TenantId("a"));
        await host.Executor.InvokeAsync("f", "x", new TenantId("b"));
        var pools = host.PoolManager;
        Assert.Equal(4, host.FunctionExecutor.Sidecars.RunningCount);

        await host.DisposeAsync();

        Assert.Equal(0, pools.GetSnapshot().Live);
    }

    [Fact]
    public async Task Metrics_CountStartsStopsAndRefusals()
    {
        SidecarHandle? leaked = null;
        await using var host = InProcessHost.Create(null, b =>
        {
            b.Services.AddMetrics();
            b.AddFunction("f", (ctx, _) =>
            {
                leaked = ctx.GetSidecar("log");
                return new ValueTask<ReadOnlyMemory<byte>>(ReadOnlyMemory<byte>.Empty);
            }, f => f with { Sidecars = [new SidecarDefinition("log", SidecarTests.EchoSidecar("log"), SidecarScope.PerRequest)] });
        });
        var factory = host.Services.GetRequiredService<IMeterFactory>();
        using var started = new MetricCollector<long>(factory, OnDemandExecutionDiagnostics.Name, OnDemandExecutionDiagnostics.SidecarsStarted);
        using var stopped = new MetricCollector<long>(factory, OnDemandExecutionDiagnostics.Name, OnDemandExecutionDiagnostics.SidecarsStopped);
        using var denied = new MetricCollector<long>(factory, OnDemandExecutionDiagnostics.Name, OnDemandExecutionDiagnostics.SidecarAccessDenied);

        await host.Executor.InvokeAsync("f", "x");
        await Assert.ThrowsAsync<SidecarAccessDeniedException>(() => leaked!.InvokeAsync(default).AsTask());

        Assert.Equal("request", Assert.Single(started.GetMeasurementSnapshot()).Tags[OnDemandExecutionDiagnostics.SidecarScopeTag]);
        Assert.Single(stopped.GetMeasurementSnapshot());
        Assert.Single(denied.GetMeasurementSnapshot());
    }
}
