using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OnDemandExecution.Tests.TestSupport;
using static OnDemandExecution.Tests.TestSupport.Background;

namespace OnDemandExecution.Tests.Hardening;

/// <summary>Issue 14, defect 10: one tenant cannot starve the others.</summary>
public class TenantLimitTests
{
    private static readonly TenantId Hog = new("hog");

    [Fact]
    public async Task OneTenantsHungCalls_DoNotTakeTheWholeHost_OtherTenantsStillRun()
    {
        // The setup: MaxConcurrency 2, MaxInstances 16, one tenant's calls hang (ignoring their timeout).
        await using var host = TestHost.Create(
            o => (o.MaxInstances, o.StopWorkTimeout) = (16, TimeSpan.FromHours(1)), // abandoned instances stay busy for the whole test
            b => b.AddFunction("f", TestHost.Noop, f => f with { MaxConcurrency = 2, Timeout = TimeSpan.FromSeconds(1) }));
        var hang = new TaskCompletionSource<ReadOnlyMemory<byte>>();
        host.Provider.OnInvoke = (_, r, _) => r.Tenant == Hog ? new(hang.Task) : new(ReadOnlyMemory<byte>.Empty);
        host.Provider.OnStopWork = (_, _) => new(new TaskCompletionSource<bool>().Task); // never confirms: instances stay busy
        var hogOutcomes = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var call = host.Executor.InvokeAsync("f", "x", Hog).AsTask();
            host.Time.Advance(TimeSpan.FromSeconds(1));
            var ex = await Assert.ThrowsAnyAsync<OnDemandExecutionException>(() => call.WaitAsync(HangGuard));
            hogOutcomes.Add(ex.GetType().Name);
        }

        Assert.Equal(8, hogOutcomes.Count(o => o == nameof(InvocationTimeoutException))); // half of MaxInstances (the default share)
        Assert.Equal(12, hogOutcomes.Count(o => o == nameof(TenantLimitExceededException)));
        Assert.Equal(8, host.Pools.GetSnapshot().Busy);

        for (var t = 0; t < 10; t++)
        {
            var result = await host.Executor.InvokeAsync("f", "y", new TenantId("other-" + t));
            Assert.NotNull(result.InstanceId);
        }

        hang.SetResult(ReadOnlyMemory<byte>.Empty);
    }

    [Fact]
    public async Task TenantAtItsInstanceLimit_EvictsItsOwnIdleInstance_NeverAnotherTenants()
    {
        await using var host = TestHost.Create(o => (o.MaxInstances, o.MaxInstancesPerTenant) = (8, 2));
        var pool = host.PoolManager;
        FunctionDefinition Fn(string n) => new(n, new DelegateFunctionCode(TestHost.Noop));
        var other = await pool.AcquireAsync(Fn("f"), new TenantId("other"), CancellationToken.None);
        pool.Release(other.Slot, keep: true, "released");
        var a1 = await pool.AcquireAsync(Fn("f"), Hog, CancellationToken.None);
        var a2 = await pool.AcquireAsync(Fn("g"), Hog, CancellationToken.None);
        pool.Release(a1.Slot, keep: true, "released");

        var a3 = await pool.AcquireAsync(Fn("h"), Hog, CancellationToken.None);

        Assert.True(((FakeInstance)a1.Instance).IsDisposed); // its own least recently used idle instance made room
        Assert.False(((FakeInstance)other.Instance).IsDisposed);
        var ex = await Assert.ThrowsAsync<TenantLimitExceededException>(() => pool.AcquireAsync(Fn("i"), Hog, CancellationToken.None).AsTask());
        Assert.Equal(Hog, ex.Tenant);
        Assert.Equal(2, ex.Limit);
        Assert.Equal(nameof(OnDemandExecutionOptions.MaxInstancesPerTenant), ex.LimitName);
        pool.Release(a2.Slot, keep: false, "done");
        pool.Release(a3.Slot, keep: false, "done");
        await SettleAsync(pool);
    }

    [Fact]
    public async Task TenantAtItsCallLimit_IsRejected_OtherTenantsAreNot()
    {
        await using var host = TestHost.Create(
            o => o.MaxConcurrentCallsPerTenant = 2,
            b => b.AddFunction("f", TestHost.Noop, f => f with { MaxConcurrency = 1, MaxQueueLength = 10 }));
        var gate = new TaskCompletionSource<ReadOnlyMemory<byte>>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Provider.OnInvoke = (_, _, _) => new(gate.Task);
        var running = host.Executor.InvokeAsync("f", "1", Hog).AsTask();
        var queued = host.Executor.InvokeAsync("f", "2", Hog).AsTask();

        var ex = await Assert.ThrowsAsync<TenantLimitExceededException>(() => host.Executor.InvokeAsync("f", "3", Hog).AsTask());
        Assert.Equal(nameof(OnDemandExecutionOptions.MaxConcurrentCallsPerTenant), ex.LimitName);
        var otherTenant = host.Executor.InvokeAsync("f", "4", new TenantId("other")).AsTask(); // queued, not refused
        Assert.False(otherTenant.IsCompleted);

        gate.SetResult(ReadOnlyMemory<byte>.Empty);
        await Task.WhenAll(running, queued, otherTenant).WaitAsync(HangGuard);
        Assert.Equal(0, host.FunctionExecutor.TenantCalls.CountOf(Hog));
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(300, null)]
    [InlineData(null, 0)]
    public void Options_PerTenantLimitsOutOfRange_FailValidationNamingTheOption(int? instances, int? calls)
    {
        var services = new ServiceCollection();
        services.AddOnDemandExecution(o => (o.MaxInstances, o.MaxInstancesPerTenant, o.MaxConcurrentCallsPerTenant) = (256, instances, calls));
        using var sp = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<OnDemandExecutionOptions>>().Value);

        Assert.Contains(instances is not null ? "MaxInstancesPerTenant" : "MaxConcurrentCallsPerTenant", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_Defaults_GiveOneTenantHalfTheHost()
    {
        var o = new OnDemandExecutionOptions { MaxInstances = 16 };
        Assert.Equal(8, o.InstancesPerTenantLimit);
        Assert.Equal(544, o.CallsPerTenantLimit);
    }
}
