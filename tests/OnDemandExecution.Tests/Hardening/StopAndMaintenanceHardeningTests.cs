using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OnDemandExecution.DependencyInjection;
using OnDemandExecution.Tests.TestSupport;
using static OnDemandExecution.Tests.TestSupport.Background;

namespace OnDemandExecution.Tests.Hardening;

/// <summary>Regression tests of issue 14's defects around the pools' lifetime: 3 (stop), 4 and 5 (maintenance), 8 (start timeout).</summary>
public class StopAndMaintenanceHardeningTests
{
    private static readonly TenantId A = new("tenant-a");

    private static FunctionDefinition Fn(string name) => new(name, new DelegateFunctionCode(TestHost.Noop));

    // ---- defect 3: stop honours its token and disposes what is stuck -----------------------------------------------

    [Fact]
    public async Task StopAsync_ACallIgnoresCancellation_ReturnsWhenItsTokenFires_AndDisposesTheInstance()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop, f => f with { Timeout = TimeSpan.FromSeconds(1) }));
        var never = new TaskCompletionSource<ReadOnlyMemory<byte>>();
        host.Provider.OnInvoke = (_, _, _) => new(never.Task); // ignores its token
        host.Provider.OnStopWork = (_, _) => new(new TaskCompletionSource<bool>().Task); // and the provider never answers
        var call = host.Executor.InvokeAsync("f", "1", A).AsTask();
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<InvocationTimeoutException>(() => call.WaitAsync(HangGuard));
        var stuck = Assert.Single(host.Provider.Instances.Values);

        using var stopToken = new CancellationTokenSource();
        var stop = host.PoolManager.StopAsync(stopToken.Token);
        Assert.False(stop.IsCompleted); // it waits for the abandoned call...
        await stopToken.CancelAsync();
        await stop.WaitAsync(HangGuard); // ...until its token fires

        Assert.True(stuck.IsDisposed);
        Assert.Equal(1, stuck.DisposeCalls);
        never.SetResult(ReadOnlyMemory<byte>.Empty); // the call ends at last: its instance is not disposed twice
        await Background.UntilAsync(() => host.PoolManager.GetSnapshot().Busy == 0, "the late release");
        Assert.Equal(1, stuck.DisposeCalls);
    }

    [Fact]
    public async Task StopAsync_AnInstanceDisposalHangs_ReturnsWhenItsTokenFires()
    {
        await using var host = TestHost.Create(o => o.WarmingPoolSize = 2);
        await host.Pools.PrewarmAsync();
        var hang = new TaskCompletionSource();
        host.Provider.OnDispose = _ => new(hang.Task);

        using var stopToken = new CancellationTokenSource();
        var stop = host.PoolManager.StopAsync(stopToken.Token);
        Assert.False(stop.IsCompleted);
        await stopToken.CancelAsync();
        await stop.WaitAsync(HangGuard);

        Assert.All(host.Provider.Instances.Values, i => Assert.Equal(1, i.DisposeCalls)); // both handed to the provider, once
        hang.SetResult();
    }

    [Fact]
    public async Task StopAsync_WithoutAToken_IsBoundedByShutdownTimeout()
    {
        await using var host = TestHost.Create(o => (o.WarmingPoolSize, o.ShutdownTimeout) = (1, TimeSpan.FromSeconds(3)));
        await host.Pools.PrewarmAsync();
        host.Provider.OnDispose = _ => new(new TaskCompletionSource().Task);

        var stop = host.PoolManager.StopAsync(CancellationToken.None);
        Assert.False(stop.IsCompleted);
        host.Time.Advance(TimeSpan.FromSeconds(3));
        await stop.WaitAsync(HangGuard);
    }

    [Fact]
    public async Task HostedServiceStop_AHungHealthCheck_ReturnsWithinItsToken()
    {
        await using var host = TestHost.Create(o => (o.WarmingPoolSize, o.PrewarmOnStart) = (1, true));
        host.Provider.OnCheckHealth = (_, _) => new(new TaskCompletionSource<InstanceHealth>().Task); // ignores its token
        var service = host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<PoolMaintenanceService>().Single();
        await service.StartAsync(CancellationToken.None);
        host.Time.Advance(host.Services.GetRequiredService<IOptions<OnDemandExecutionOptions>>().Value.HealthCheckInterval);
        await UntilAsync(() => host.Provider.Instances.Values.Any(i => i.HealthChecks > 0), "a health check started");

        using var stopToken = new CancellationTokenSource();
        await stopToken.CancelAsync();
        await service.StopAsync(stopToken.Token).WaitAsync(HangGuard);

        Assert.All(host.Provider.Instances.Values, i => Assert.True(i.IsDisposed));
    }

    // ---- defect 4: health checks with a timeout, bounded, without emptying the warming pool --------------------------

    [Fact]
    public async Task Maintenance_AHungHealthCheck_TimesOut_TheInstanceIsReplaced()
    {
        await using var host = TestHost.Create(o => (o.WarmingPoolSize, o.HealthCheckTimeout) = (2, TimeSpan.FromSeconds(2)));
        var pool = host.PoolManager;
        await pool.PrewarmAsync();
        var wedged = host.Provider.Instances["fake-1"];
        host.Provider.OnCheckHealth = (i, _) => i == wedged ? new(new TaskCompletionSource<InstanceHealth>().Task) : new(InstanceHealth.Healthy);
        host.Time.Advance(new OnDemandExecutionOptions().HealthCheckInterval);

        var pass = pool.RunMaintenanceAsync().AsTask();
        await UntilAsync(() => wedged.HealthChecks == 1, "the check started");
        Assert.False(pass.IsCompleted);
        host.Time.Advance(TimeSpan.FromSeconds(2));
        await pass.WaitAsync(HangGuard);

        Assert.True(wedged.IsDisposed);
        Assert.Equal(2, pool.GetSnapshot().Warm);
        Assert.Equal(3, host.Provider.Created);
    }

    [Fact]
    public async Task Maintenance_SlowHealthChecks_LeaveTheOtherWarmInstancesInService_AndCreateNoSurplus()
    {
        await using var host = TestHost.Create(o => (o.WarmingPoolSize, o.MaxConcurrentHealthChecks) = (4, 2));
        var pool = host.PoolManager;
        await pool.PrewarmAsync();
        var slow = new TaskCompletionSource<InstanceHealth>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Provider.OnCheckHealth = (_, _) => new(slow.Task);
        host.Time.Advance(new OnDemandExecutionOptions().HealthCheckInterval);

        var pass = pool.RunMaintenanceAsync().AsTask();
        await UntilAsync(() => host.Provider.Instances.Values.Count(i => i.HealthChecks > 0) == 2, "two checks started");

        Assert.Equal(2, pool.Slots.WarmCount); // two under check (at most MaxConcurrentHealthChecks), two in service
        var lease = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        Assert.Equal(StartKind.WarmPool, lease.Kind); // not a cold start although checks run
        slow.SetResult(InstanceHealth.Healthy);
        await pass.WaitAsync(HangGuard);
        await SettleAsync(pool);

        Assert.Equal(4, pool.GetSnapshot().Warm);
        Assert.Equal(5, host.Provider.Created); // one refill for the one taken; none for those under check
        pool.Release(lease.Slot, keep: false, "done");
    }

    [Fact]
    public async Task Maintenance_NewWarmInstances_AreNotCheckedBeforeTheyAreDue()
    {
        await using var host = TestHost.Create(o => o.WarmingPoolSize = 3);
        await host.Pools.PrewarmAsync();

        await host.Pools.RunMaintenanceAsync();

        Assert.All(host.Provider.Instances.Values, i => Assert.Equal(0, i.HealthChecks));
        Assert.Equal(3, host.Pools.GetSnapshot().Warm);
    }

    // ---- defect 5: idle expiry never waits behind provisioning ------------------------------------------------------

    [Fact]
    public async Task MaintenanceService_ExpiresIdleInstances_WhileARefillIsStuck()
    {
        await using var host = TestHost.Create(
            o => (o.WarmingPoolSize, o.PrewarmOnStart, o.MaintenanceInterval) = (0, false, TimeSpan.FromSeconds(1)),
            b => b.AddFunction("f", TestHost.Noop, f => f with { KeepAlive = TimeSpan.FromMilliseconds(1) }));
        await host.Executor.InvokeAsync("f", "1", A);
        var idle = Assert.Single(host.Provider.Instances.Values);
        var provisioning = new TaskCompletionSource();
        host.Provider.OnCreate = (_, _) => new(provisioning.Task); // every creation from now on hangs
        host.PoolManager.WarmingPoolTarget = 1;
        var service = host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<PoolMaintenanceService>().Single();
        await service.StartAsync(CancellationToken.None);

        await UntilAsync(() => host.Provider.Specs.Count == 2, "the first pass started a refill, which hangs");
        for (var round = 0; round < 50 && !idle.IsDisposed; round++)
        {
            host.Time.Advance(TimeSpan.FromSeconds(1)); // the next passes are due
            for (var look = 0; look < 2000 && !idle.IsDisposed; look++)
            {
                await Task.Yield();
            }
        }

        Assert.True(idle.IsDisposed); // expired though the refill's creation still hangs
        Assert.Equal(0, host.Pools.GetSnapshot().Idle);
        provisioning.SetResult();
        await service.StopAsync(CancellationToken.None);
    }

    // ---- defect 8: the provider start timeout is enforced on the caller's side -----------------------------------------

    [Fact]
    public async Task ColdStart_ProviderIgnoresItsToken_FailsAtInstanceStartTimeout_AndTheLateInstanceIsDisposed()
    {
        await using var host = TestHost.Create(o => o.InstanceStartTimeout = TimeSpan.FromMilliseconds(200));
        var slow = new TaskCompletionSource();
        host.Provider.OnCreate = (_, _) => new(slow.Task); // a 3 s create that ignores its token
        host.Provider.IgnoresCancellation = true;

        var acquire = host.PoolManager.AcquireAsync(Fn("f"), A, CancellationToken.None).AsTask();
        host.Time.Advance(TimeSpan.FromMilliseconds(200));

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => acquire.WaitAsync(HangGuard));
        Assert.Contains("InstanceStartTimeout", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, host.PoolManager.GetSnapshot().Live);

        slow.SetResult(); // the instance arrives late...
        await SettleAsync(host.PoolManager);
        Assert.Equal(1, host.Provider.Created);
        Assert.Equal(0, host.Provider.Live); // ...and is disposed
    }
}
