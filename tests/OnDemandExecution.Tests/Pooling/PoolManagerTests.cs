using System.Collections.Concurrent;
using System.Reflection;
using OnDemandExecution.Pooling;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Pooling;

public class PoolManagerTests
{
    // A guard against a hung test, never a timing assertion.
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private static readonly TenantId A = new("tenant-a");
    private static readonly TenantId B = new("tenant-b");
    private static readonly TenantId C = new("tenant-c");

    // ---- start kinds -------------------------------------------------------------------------------------------

    [Fact]
    public async Task AcquireAsync_EmptyPools_ColdStartsAnInstanceLoadedForTheTenant()
    {
        await using var host = TestHost.Create();
        var pool = host.PoolManager;

        var lease = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);

        Assert.Equal(StartKind.Cold, lease.Kind);
        Assert.Equal(InstanceState.Busy, lease.Slot.State);
        var fake = Fake(lease);
        Assert.Equal("f", fake.LoadedFunction);
        Assert.Equal(A, fake.Tenant);
        Assert.Equal(1, host.Provider.Created);
        var s = pool.GetSnapshot();
        Assert.Equal(1, s.Busy);
        Assert.Equal(1, s.Created);
        AssertBalanced(host);
    }

    [Fact]
    public async Task AcquireAsync_IdleInstanceOfSameTenantAndFunction_IsAWarmHitOnTheSameInstance()
    {
        await using var host = TestHost.Create();
        var pool = host.PoolManager;
        var first = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        pool.Release(first.Slot, keep: true, "released");
        Assert.Equal(1, pool.GetSnapshot().Idle);

        var second = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);

        Assert.Equal(StartKind.Warm, second.Kind);
        Assert.Same(first.Slot, second.Slot);
        Assert.Same(first.Instance, second.Instance);
        Assert.Equal(TimeSpan.Zero, second.Provisioning);
        Assert.Equal(TimeSpan.Zero, second.CodeLoad);
        Assert.Equal(1, Fake(second).Loads); // not loaded again
        Assert.Equal(1, host.Provider.Created);
        Assert.Equal(0, pool.GetSnapshot().Idle);
        AssertBalanced(host);
    }

    [Fact]
    public async Task AcquireAsync_WarmingPoolHasAnInstance_TakesItAndLoadsTheCode()
    {
        await using var host = TestHost.Create(o => o.WarmingPoolSize = 1);
        var pool = host.PoolManager;
        await pool.PrewarmAsync();
        var prewarmed = Assert.Single(host.Provider.Instances.Values);

        var lease = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        await SettleAsync(pool);

        Assert.Equal(StartKind.WarmPool, lease.Kind);
        Assert.Same(prewarmed, lease.Instance);
        Assert.Equal(TimeSpan.Zero, lease.Provisioning);
        Assert.Equal("f", prewarmed.LoadedFunction);
        Assert.Equal(A, prewarmed.Tenant);
        AssertBalanced(host);
    }

    [Fact]
    public async Task AcquireAsync_ColdStart_MeasuresProvisioningAndCodeLoadOnVirtualTime()
    {
        await using var host = TestHost.Create();
        host.Provider.OnCreate = (_, _) =>
        {
            host.Time.Advance(TimeSpan.FromSeconds(2));
            return default;
        };
        host.Provider.OnLoad = (_, _) =>
        {
            host.Time.Advance(TimeSpan.FromMilliseconds(300));
            return default;
        };

        var lease = await host.PoolManager.AcquireAsync(Fn("f"), A, CancellationToken.None);

        Assert.Equal(StartKind.Cold, lease.Kind);
        Assert.Equal(TimeSpan.FromSeconds(2), lease.Provisioning);
        Assert.Equal(TimeSpan.FromMilliseconds(300), lease.CodeLoad);
    }

    // ---- warming pool ------------------------------------------------------------------------------------------

    [Fact]
    public async Task PrewarmAsync_FillsTheWarmingPoolToItsSize()
    {
        await using var host = TestHost.Create(o =>
        {
            o.WarmingPoolSize = 5;
            o.MaxConcurrentProvisioning = 2;
        });
        var pool = host.PoolManager;

        await pool.PrewarmAsync();

        var s = pool.GetSnapshot();
        Assert.Equal(5, s.Warm);
        Assert.Equal(0, s.Provisioning);
        Assert.Equal(5, host.Provider.Created);
        Assert.All(host.Provider.Specs, spec => Assert.Equal(new OnDemandExecutionOptions().WarmInstance.MemoryMb, spec.MemoryMb));
        Assert.All(host.Provider.Instances.Values, i => Assert.Null(i.LoadedFunction));

        await pool.PrewarmAsync();

        Assert.Equal(5, host.Provider.Created); // already full
        AssertBalanced(host);
    }

    [Fact]
    public async Task PrewarmAsync_CreationFails_StopsAfterOneBatchAndMaintenanceRetries()
    {
        await using var host = TestHost.Create(o =>
        {
            o.WarmingPoolSize = 6;
            o.MaxConcurrentProvisioning = 2;
        });
        var pool = host.PoolManager;
        host.Provider.OnCreate = (_, _) => throw new InvalidOperationException("provider down");

        await pool.PrewarmAsync();

        Assert.Equal(0, pool.GetSnapshot().Warm);
        Assert.Equal(2, host.Provider.Specs.Count); // one batch, then it backs off
        Assert.Equal(0, pool.GetSnapshot().Live);

        host.Provider.OnCreate = null;
        await pool.RunMaintenanceAsync();

        Assert.Equal(6, pool.GetSnapshot().Warm);
        AssertBalanced(host);
    }

    [Fact]
    public async Task AcquireAsync_TakesFromWarmingPool_PoolIsRefilled()
    {
        await using var host = TestHost.Create(o => o.WarmingPoolSize = 2);
        var pool = host.PoolManager;
        await pool.PrewarmAsync();

        var lease = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        await SettleAsync(pool);

        Assert.Equal(StartKind.WarmPool, lease.Kind);
        var s = pool.GetSnapshot();
        Assert.Equal(2, s.Warm);
        Assert.Equal(1, s.Busy);
        Assert.Equal(3, host.Provider.Created);
        AssertBalanced(host);
    }

    [Fact]
    public async Task AcquireAsync_ColdStartWithWarmingPoolEnabled_AlsoFillsThePool()
    {
        await using var host = TestHost.Create(o => o.WarmingPoolSize = 2);
        var pool = host.PoolManager;

        var lease = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        await SettleAsync(pool);

        Assert.Equal(StartKind.Cold, lease.Kind);
        Assert.Equal(2, pool.GetSnapshot().Warm);
        AssertBalanced(host);
    }

    [Theory]
    [InlineData(InstanceHealth.Dead)]
    [InlineData(InstanceHealth.Degraded)]
    public async Task RunMaintenanceAsync_UnhealthyWarmInstance_IsDestroyedAndReplaced(InstanceHealth health)
    {
        await using var host = TestHost.Create(o => o.WarmingPoolSize = 2);
        var pool = host.PoolManager;
        await pool.PrewarmAsync();
        var sick = host.Provider.Instances["fake-1"];
        var fine = host.Provider.Instances["fake-2"];
        sick.Health = health;
        host.Time.Advance(new OnDemandExecutionOptions().HealthCheckInterval); // new instances are checked once they are due

        await pool.RunMaintenanceAsync();

        Assert.True(sick.IsDisposed);
        Assert.False(fine.IsDisposed);
        var s = pool.GetSnapshot();
        Assert.Equal(2, s.Warm);
        Assert.Equal(1, s.Destroyed);
        Assert.Equal(3, host.Provider.Created);
        AssertBalanced(host);

        // The dropped instance is never handed out.
        var lease1 = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        var lease2 = await pool.AcquireAsync(Fn("g"), A, CancellationToken.None);
        await SettleAsync(pool);
        Assert.NotSame(sick, lease1.Instance);
        Assert.NotSame(sick, lease2.Instance);
    }

    [Fact]
    public async Task RunMaintenanceAsync_HealthyWarmInstances_AreKept()
    {
        await using var host = TestHost.Create(o => o.WarmingPoolSize = 3);
        var pool = host.PoolManager;
        await pool.PrewarmAsync();

        await pool.RunMaintenanceAsync();
        await pool.RunMaintenanceAsync();

        Assert.Equal(3, pool.GetSnapshot().Warm);
        Assert.Equal(3, host.Provider.Created);
        Assert.Equal(0, host.Provider.Disposed);
    }

    // ---- tenant isolation --------------------------------------------------------------------------------------

    [Fact]
    public async Task AcquireAsync_IdleInstanceOfAnotherTenant_IsNeverReturned()
    {
        await using var host = TestHost.Create();
        var pool = host.PoolManager;
        var a = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        pool.Release(a.Slot, keep: true, "released");

        var b = await pool.AcquireAsync(Fn("f"), B, CancellationToken.None);

        Assert.Equal(StartKind.Cold, b.Kind);
        Assert.NotSame(a.Instance, b.Instance);
        Assert.Equal(B, Fake(b).Tenant);
        pool.Release(b.Slot, keep: true, "released");

        var a2 = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        var b2 = await pool.AcquireAsync(Fn("f"), B, CancellationToken.None);
        Assert.Same(a.Instance, a2.Instance);
        Assert.Same(b.Instance, b2.Instance);
        Assert.Equal(new[] { A }, Fake(a2).TenantHistory);
        Assert.Equal(new[] { B }, Fake(b2).TenantHistory);
    }

    [Fact]
    public async Task AcquireAsync_IdleInstanceOfAnotherFunction_IsNotReturned()
    {
        await using var host = TestHost.Create();
        var pool = host.PoolManager;
        var f = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        pool.Release(f.Slot, keep: true, "released");

        var g = await pool.AcquireAsync(Fn("g"), A, CancellationToken.None);

        Assert.Equal(StartKind.Cold, g.Kind);
        Assert.NotSame(f.Instance, g.Instance);
        Assert.Equal("f", Fake(f).LoadedFunction);
        Assert.Equal("g", Fake(g).LoadedFunction);
    }

    [Fact]
    public async Task AcquireRelease_ManyTenantsConcurrently_EachInstanceServesOneTenant()
    {
        await using var host = TestHost.Create(o => o.MaxInstances = 1000);
        var pool = host.PoolManager;
        TenantId[] tenants = [A, B, C, new("tenant-d")];
        FunctionDefinition[] functions = [Fn("f"), Fn("g")];
        var mismatches = 0;

        async Task WorkerAsync(int worker)
        {
            for (var i = 0; i < 50; i++)
            {
                var tenant = tenants[(worker + i) % tenants.Length];
                var function = functions[i % functions.Length];
                var lease = await pool.AcquireAsync(function, tenant, CancellationToken.None);
                var fake = Fake(lease);
                if (fake.Tenant != tenant || fake.LoadedFunction != function.Name || lease.Slot.Tenant != tenant)
                {
                    Interlocked.Increment(ref mismatches);
                }

                await Task.Yield();
                pool.Release(lease.Slot, keep: true, "released");
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(() => WorkerAsync(w)))).WaitAsync(HangGuard);

        Assert.Equal(0, mismatches);
        Assert.All(host.Provider.Instances.Values, i =>
        {
            Assert.Single(i.TenantHistory);
            Assert.Equal(1, i.Loads);
        });
        var s = pool.GetSnapshot();
        Assert.Equal(0, s.Busy);
        Assert.Equal(s.Created, s.Idle);
        AssertBalanced(host);
    }

    // ---- keep-alive --------------------------------------------------------------------------------------------

    [Fact]
    public async Task RunMaintenanceAsync_KeepAlive_ExpiresOnVirtualTimeWithPerFunctionOverride()
    {
        await using var host = TestHost.Create(o => o.KeepAlive = TimeSpan.FromMinutes(10));
        var pool = host.PoolManager;
        var usual = await pool.AcquireAsync(Fn("usual"), A, CancellationToken.None);
        var brief = await pool.AcquireAsync(Fn("brief") with { KeepAlive = TimeSpan.FromSeconds(30) }, A, CancellationToken.None);
        pool.Release(usual.Slot, keep: true, "released");
        pool.Release(brief.Slot, keep: true, "released");

        host.Time.Advance(TimeSpan.FromSeconds(29));
        await pool.RunMaintenanceAsync();
        Assert.Equal(2, pool.GetSnapshot().Idle);

        host.Time.Advance(TimeSpan.FromSeconds(2)); // 31 s
        await pool.RunMaintenanceAsync();
        Assert.True(Fake(brief).IsDisposed);
        Assert.False(Fake(usual).IsDisposed);
        Assert.Equal(1, pool.GetSnapshot().Idle);

        host.Time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(32)); // 9 min 59 s
        await pool.RunMaintenanceAsync();
        Assert.False(Fake(usual).IsDisposed);
        Assert.Equal(1, pool.GetSnapshot().Idle);

        host.Time.Advance(TimeSpan.FromSeconds(2)); // 10 min 1 s
        await pool.RunMaintenanceAsync();
        Assert.True(Fake(usual).IsDisposed);
        var s = pool.GetSnapshot();
        Assert.Equal(0, s.Idle);
        Assert.Equal(2, s.Destroyed);
        AssertBalanced(host);
    }

    [Fact]
    public async Task RunMaintenanceAsync_UseRestartsKeepAlive()
    {
        await using var host = TestHost.Create(o => o.KeepAlive = TimeSpan.FromMinutes(1));
        var pool = host.PoolManager;
        var lease = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        pool.Release(lease.Slot, keep: true, "released");

        host.Time.Advance(TimeSpan.FromSeconds(50));
        lease = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        pool.Release(lease.Slot, keep: true, "released");
        host.Time.Advance(TimeSpan.FromSeconds(50)); // 100 s since first use, 50 s since last
        await pool.RunMaintenanceAsync();

        Assert.Equal(1, pool.GetSnapshot().Idle);
        Assert.False(Fake(lease).IsDisposed);
    }

    [Fact]
    public async Task RunMaintenanceAsync_BusyInstancePastKeepAlive_IsNotExpired()
    {
        await using var host = TestHost.Create(o => o.KeepAlive = TimeSpan.FromMinutes(1));
        var pool = host.PoolManager;
        var lease = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);

        host.Time.Advance(TimeSpan.FromMinutes(5));
        await pool.RunMaintenanceAsync();

        Assert.Equal(InstanceState.Busy, lease.Slot.State);
        Assert.False(Fake(lease).IsDisposed);
    }

    [Fact]
    public async Task RunMaintenanceAsync_InfiniteFunctionKeepAlive_NeverExpires()
    {
        await using var host = TestHost.Create(o => o.KeepAlive = TimeSpan.FromMinutes(1));
        var pool = host.PoolManager;
        var lease = await pool.AcquireAsync(Fn("f") with { KeepAlive = Timeout.InfiniteTimeSpan }, A, CancellationToken.None);
        pool.Release(lease.Slot, keep: true, "released");

        host.Time.Advance(TimeSpan.FromDays(30));
        await pool.RunMaintenanceAsync();

        Assert.Equal(1, pool.GetSnapshot().Idle);
        Assert.False(Fake(lease).IsDisposed);
    }

    [Fact]
    public async Task AcquireAsync_AfterExpiry_ColdStartsANewInstance()
    {
        await using var host = TestHost.Create(o => o.KeepAlive = TimeSpan.FromMinutes(1));
        var pool = host.PoolManager;
        var first = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        pool.Release(first.Slot, keep: true, "released");
        host.Time.Advance(TimeSpan.FromMinutes(2));
        await pool.RunMaintenanceAsync();

        var second = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);

        Assert.Equal(StartKind.Cold, second.Kind);
        Assert.NotSame(first.Instance, second.Instance);
        AssertBalanced(host);
    }

    // ---- retire: recycle or destroy ----------------------------------------------------------------------------

    [Theory]
    [InlineData(true, true, 1, true)] // the pool needs it and the provider can scrub it: recycled
    [InlineData(false, true, 1, false)] // the provider cannot recycle: destroyed
    [InlineData(true, false, 1, false)] // recycling failed: destroyed
    [InlineData(true, true, 0, false)] // no warming pool: destroyed
    public async Task RunMaintenanceAsync_ExpiredInstance_RecycledOnlyWhenPoolNeedsItAndProviderCan(
        bool supportsRecycle, bool recycleSucceeds, int warmingPoolSize, bool expectRecycled)
    {
        await using var host = TestHost.Create(o =>
        {
            o.WarmingPoolSize = warmingPoolSize;
            o.KeepAlive = TimeSpan.FromMinutes(1);
        });
        var pool = host.PoolManager;
        host.Provider.Capabilities = new() { Isolation = IsolationLevel.Process, SupportsRecycle = supportsRecycle };
        host.Provider.RecycleSucceeds = recycleSucceeds;
        var creations = 0;
        host.Provider.OnCreate = (_, _) =>
        {
            // Only the cold start succeeds, so the warming pool stays empty and needs an instance.
            if (Interlocked.Increment(ref creations) > 1)
            {
                throw new InvalidOperationException("no capacity");
            }

            return default;
        };
        var lease = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        await SettleAsync(pool);
        pool.Release(lease.Slot, keep: true, "released");
        var fake = Fake(lease);

        host.Time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        await pool.RunMaintenanceAsync();

        var s = pool.GetSnapshot();
        Assert.Equal(0, s.Idle);
        AssertBalanced(host);
        if (expectRecycled)
        {
            Assert.Equal(1, fake.Recycles);
            Assert.False(fake.IsDisposed);
            Assert.Null(fake.LoadedFunction);
            Assert.Equal(InstanceState.Warm, lease.Slot.State);
            Assert.Equal(1, s.Warm);
            Assert.Equal(1, s.Recycled);
            Assert.Equal(0, s.Destroyed);
        }
        else
        {
            Assert.True(fake.IsDisposed);
            Assert.Equal(supportsRecycle && warmingPoolSize > 0 ? 1 : 0, fake.Recycles);
            Assert.Equal(0, s.Warm);
            Assert.Equal(0, s.Recycled);
            Assert.Equal(1, s.Destroyed);
            Assert.Equal(0, host.Provider.Live);
        }
    }

    [Fact]
    public async Task RunMaintenanceAsync_ExpiredInstanceWhenWarmingPoolIsFull_IsDestroyed()
    {
        await using var host = TestHost.Create(o =>
        {
            o.WarmingPoolSize = 1;
            o.KeepAlive = TimeSpan.FromMinutes(1);
        });
        var pool = host.PoolManager;
        var lease = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        await SettleAsync(pool);
        Assert.Equal(1, pool.GetSnapshot().Warm);
        pool.Release(lease.Slot, keep: true, "released");

        host.Time.Advance(TimeSpan.FromMinutes(2));
        await pool.RunMaintenanceAsync();

        Assert.True(Fake(lease).IsDisposed);
        Assert.Equal(0, Fake(lease).Recycles);
        Assert.Equal(1, pool.GetSnapshot().Warm);
        AssertBalanced(host);
    }

    [Fact]
    public async Task AcquireAsync_RecycledInstance_ServesAnotherTenantOnlyAfterRecycle()
    {
        await using var host = TestHost.Create(o =>
        {
            o.WarmingPoolSize = 1;
            o.KeepAlive = TimeSpan.FromMinutes(1);
        });
        var pool = host.PoolManager;
        var creations = 0;
        host.Provider.OnCreate = (_, _) => Interlocked.Increment(ref creations) > 1 ? throw new InvalidOperationException("no capacity") : default(ValueTask);
        var a = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        await SettleAsync(pool);
        pool.Release(a.Slot, keep: true, "released");
        var fake = Fake(a);

        // Still assigned to A: B gets no instance (all further creations fail), and the history shows A only.
        await Assert.ThrowsAsync<InstanceProviderException>(() => pool.AcquireAsync(Fn("f"), B, CancellationToken.None).AsTask());
        await SettleAsync(pool);
        Assert.Equal(new[] { A }, fake.TenantHistory);

        host.Time.Advance(TimeSpan.FromMinutes(2));
        await pool.RunMaintenanceAsync();
        Assert.Equal(1, fake.Recycles);
        var b = await pool.AcquireAsync(Fn("f"), B, CancellationToken.None);
        await SettleAsync(pool);

        Assert.Equal(StartKind.WarmPool, b.Kind);
        Assert.Same(fake, b.Instance);
        Assert.Equal(new[] { A, B }, fake.TenantHistory);
        Assert.Equal(B, fake.Tenant);
    }

    // ---- capacity ----------------------------------------------------------------------------------------------

    [Fact]
    public async Task AcquireAsync_AtMaxInstances_EvictsTheLeastRecentlyUsedIdleInstance()
    {
        await using var host = TestHost.Create(o => o.MaxInstances = 2);
        var pool = host.PoolManager;
        var a = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        pool.Release(a.Slot, keep: true, "released");
        host.Time.Advance(TimeSpan.FromSeconds(1));
        var b = await pool.AcquireAsync(Fn("f"), B, CancellationToken.None);
        pool.Release(b.Slot, keep: true, "released");
        host.Time.Advance(TimeSpan.FromSeconds(1));
        var a2 = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None); // A's instance is now the most recent
        Assert.Equal(StartKind.Warm, a2.Kind);
        pool.Release(a2.Slot, keep: true, "released");
        host.Time.Advance(TimeSpan.FromSeconds(1));

        var c = await pool.AcquireAsync(Fn("f"), C, CancellationToken.None);

        Assert.Equal(StartKind.Cold, c.Kind);
        Assert.True(Fake(b).IsDisposed);
        Assert.False(Fake(a).IsDisposed);
        var s = pool.GetSnapshot();
        Assert.Equal(2, s.Live);
        Assert.Equal(1, s.Destroyed);
        AssertBalanced(host);

        // B's instance is gone for good: B cold-starts (evicting A's, the only idle one).
        var b2 = await pool.AcquireAsync(Fn("f"), B, CancellationToken.None);
        Assert.Equal(StartKind.Cold, b2.Kind);
        Assert.True(Fake(a).IsDisposed);
        AssertBalanced(host);
    }

    [Fact]
    public async Task AcquireAsync_AtMaxInstancesAllBusy_ThrowsInstanceCapacityExceededException()
    {
        await using var host = TestHost.Create(o => (o.MaxInstances, o.MaxInstancesPerTenant) = (2, 2)); // the host's limit, not the tenant's share
        var pool = host.PoolManager;
        var first = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        _ = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);

        var ex = await Assert.ThrowsAsync<InstanceCapacityExceededException>(() => pool.AcquireAsync(Fn("f"), B, CancellationToken.None).AsTask());

        Assert.Equal(2, ex.MaxInstances);
        Assert.Contains("MaxInstances", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, host.Provider.Created);
        Assert.Equal(0, pool.GetSnapshot().Provisioning);

        // Once one is idle, it is evicted for the newcomer.
        pool.Release(first.Slot, keep: true, "released");
        var third = await pool.AcquireAsync(Fn("f"), B, CancellationToken.None);
        Assert.Equal(StartKind.Cold, third.Kind);
        Assert.True(Fake(first).IsDisposed);
        AssertBalanced(host);
    }

    [Fact]
    public async Task AcquireAsync_AtMaxInstancesWithOnlyWarmInstances_EvictsAWarmInstance()
    {
        await using var host = TestHost.Create(o =>
        {
            o.MaxInstances = 1;
            o.WarmingPoolSize = 1;
        });
        var pool = host.PoolManager;
        await pool.PrewarmAsync();
        var warm = Assert.Single(host.Provider.Instances.Values);

        // Needs more memory than a warm instance has, so it cannot use it: the warm one makes room.
        var lease = await pool.AcquireAsync(Fn("big") with { MemoryMb = 4096 }, A, CancellationToken.None);
        await SettleAsync(pool);

        Assert.Equal(StartKind.Cold, lease.Kind);
        Assert.True(warm.IsDisposed);
        var s = pool.GetSnapshot();
        Assert.Equal(1, s.Live);
        Assert.Equal(0, s.Warm); // the refill found no room
        AssertBalanced(host);
    }

    [Fact]
    public async Task Refill_AtMaxInstances_DoesNotEvictWarmInstancesToCreateWarmInstances()
    {
        await using var host = TestHost.Create(o =>
        {
            o.MaxInstances = 2;
            o.WarmingPoolSize = 2;
        });
        var pool = host.PoolManager;
        await pool.PrewarmAsync();

        // Taking one leaves the pool one short with no room: the refill must give up, not swap warm for warm forever.
        var lease = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        await SettleAsync(pool);
        await pool.RunMaintenanceAsync();

        Assert.Equal(StartKind.WarmPool, lease.Kind);
        Assert.Equal(2, host.Provider.Created);
        var s = pool.GetSnapshot();
        Assert.Equal(1, s.Warm);
        Assert.Equal(0, s.Destroyed);
        AssertBalanced(host);
    }

    [Fact]
    public async Task Release_NotKept_DestroysTheInstanceAndFreesCapacity()
    {
        await using var host = TestHost.Create(o => o.MaxInstances = 1);
        var pool = host.PoolManager;
        var lease = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);

        pool.Release(lease.Slot, keep: false, "failed");

        Assert.True(Fake(lease).IsDisposed);
        Assert.Equal(InstanceState.Destroyed, lease.Slot.State);
        Assert.Equal(0, pool.GetSnapshot().Live);
        var next = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        Assert.Equal(StartKind.Cold, next.Kind);
        AssertBalanced(host);
    }

    [Fact]
    public async Task ReleaseAfterInterrupt_StopConfirmed_DestroysTheInstanceOnlyWhenTheCallReturns_AndNotReusedAfterIgnoringItsToken()
    {
        await using var host = TestHost.Create();
        var pool = host.PoolManager;
        var lease = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        var call = new TaskCompletionSource();

        pool.ReleaseAfterInterrupt(lease.Slot, call.Task, endedUsable: false, TimeSpan.FromMinutes(10));

        Assert.False(Fake(lease).IsDisposed);
        Assert.Equal(1, pool.GetSnapshot().Busy);
        call.SetResult(); // it ran on to success: it ignored its token, so it is not trusted again
        await SettleAsync(pool);
        Assert.True(Fake(lease).IsDisposed);
        Assert.Equal(0, pool.GetSnapshot().Live);
        AssertBalanced(host);
    }

    [Fact]
    public async Task ReleaseAfterInterrupt_StopNotConfirmed_DestroysTheInstanceAtOnce()
    {
        await using var host = TestHost.Create();
        host.Provider.OnStopWork = (_, _) => new(false);
        var pool = host.PoolManager;
        var lease = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        var call = new TaskCompletionSource();

        pool.ReleaseAfterInterrupt(lease.Slot, call.Task, endedUsable: false, TimeSpan.FromMinutes(10));
        await SettleAsync(pool);

        Assert.True(Fake(lease).IsDisposed); // disposing it is what stops the work left running
        Assert.Equal(0, pool.GetSnapshot().Live);
        call.SetResult();
        AssertBalanced(host);
    }

    // ---- provider failures -------------------------------------------------------------------------------------

    [Fact]
    public async Task AcquireAsync_CreateFails_ThrowsInstanceProviderExceptionAndLeaksNoCapacity()
    {
        await using var host = TestHost.Create(o => o.MaxInstances = 1);
        var pool = host.PoolManager;
        host.Provider.OnCreate = (_, _) => throw new InvalidOperationException("quota exhausted");

        for (var i = 0; i < 3; i++)
        {
            var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => pool.AcquireAsync(Fn("f"), A, CancellationToken.None).AsTask());
            Assert.IsType<InvalidOperationException>(ex.InnerException);
            Assert.Equal("fake", ex.ProviderName);
            Assert.Contains("quota exhausted", ex.Message, StringComparison.Ordinal);
        }

        var s = pool.GetSnapshot();
        Assert.Equal(0, s.Live);
        Assert.Equal(0, s.Created);

        host.Provider.OnCreate = null;
        var lease = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        Assert.Equal(StartKind.Cold, lease.Kind);
        AssertBalanced(host);
    }

    [Fact]
    public async Task AcquireAsync_ProviderThrowsInstanceProviderException_IsPassedThrough()
    {
        await using var host = TestHost.Create();
        var thrown = new InstanceProviderException("image missing") { ProviderName = "fake" };
        host.Provider.OnCreate = (_, _) => throw thrown;

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => host.PoolManager.AcquireAsync(Fn("f"), A, CancellationToken.None).AsTask());

        Assert.Same(thrown, ex);
    }

    [Fact]
    public async Task AcquireAsync_CallerCancelsDuringCreate_ThrowsOperationCanceledAndLeaksNoCapacity()
    {
        await using var host = TestHost.Create(o => o.MaxInstances = 1);
        var pool = host.PoolManager;
        host.Provider.OnCreate = (_, ct) => new ValueTask(Task.Delay(Timeout.InfiniteTimeSpan, ct));
        using var cts = new CancellationTokenSource();

        var acquire = pool.AcquireAsync(Fn("f"), A, cts.Token).AsTask();
        Assert.False(acquire.IsCompleted);
        await cts.CancelAsync();

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => acquire.WaitAsync(HangGuard));
        Assert.IsNotType<InstanceProviderException>(ex);
        Assert.Equal(0, pool.GetSnapshot().Live);

        host.Provider.OnCreate = null;
        Assert.Equal(StartKind.Cold, (await pool.AcquireAsync(Fn("f"), A, CancellationToken.None)).Kind);
    }

    [Fact]
    public async Task AcquireAsync_ProviderHangsPastInstanceStartTimeout_ThrowsInstanceProviderException()
    {
        await using var host = TestHost.Create(o =>
        {
            o.InstanceStartTimeout = TimeSpan.FromSeconds(5);
            o.MaxInstances = 1;
        });
        var pool = host.PoolManager;
        host.Provider.OnCreate = (_, ct) => new ValueTask(Task.Delay(Timeout.InfiniteTimeSpan, ct));

        var acquire = pool.AcquireAsync(Fn("f"), A, CancellationToken.None).AsTask();
        host.Time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(acquire.IsCompleted);
        host.Time.Advance(TimeSpan.FromSeconds(1));

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => acquire.WaitAsync(HangGuard));
        Assert.Contains("InstanceStartTimeout", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<OperationCanceledException>(ex.InnerException);
        Assert.Equal(0, pool.GetSnapshot().Live);

        host.Provider.OnCreate = null;
        Assert.Equal(StartKind.Cold, (await pool.AcquireAsync(Fn("f"), A, CancellationToken.None)).Kind);
        AssertBalanced(host);
    }

    [Fact]
    public async Task AcquireAsync_ProviderSlowerThanInstanceStartTimeout_ThrowsInstanceProviderException()
    {
        await using var host = TestHost.Create(o => o.InstanceStartTimeout = TimeSpan.FromSeconds(5));
        var pool = host.PoolManager;
        host.Provider.OnCreate = (_, ct) => new ValueTask(Task.Delay(TimeSpan.FromSeconds(10), host.Time, ct));

        var acquire = pool.AcquireAsync(Fn("f"), A, CancellationToken.None).AsTask();
        host.Time.Advance(TimeSpan.FromSeconds(5));

        await Assert.ThrowsAsync<InstanceProviderException>(() => acquire.WaitAsync(HangGuard));
        Assert.Equal(0, host.Provider.Created);
    }

    [Fact]
    public async Task AcquireAsync_ProviderWithinInstanceStartTimeout_Succeeds()
    {
        await using var host = TestHost.Create(o => o.InstanceStartTimeout = TimeSpan.FromSeconds(5));
        var pool = host.PoolManager;
        host.Provider.OnCreate = (_, ct) => new ValueTask(Task.Delay(TimeSpan.FromSeconds(3), host.Time, ct));

        var acquire = pool.AcquireAsync(Fn("f"), A, CancellationToken.None).AsTask();
        host.Time.Advance(TimeSpan.FromSeconds(3));
        var lease = await acquire.WaitAsync(HangGuard);

        Assert.Equal(StartKind.Cold, lease.Kind);
        Assert.Equal(TimeSpan.FromSeconds(3), lease.Provisioning);

        // The start timeout was disarmed with the creation: time passing later changes nothing.
        host.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(InstanceState.Busy, lease.Slot.State);
    }

    [Fact]
    public async Task AcquireAsync_LoadFails_DestroysTheInstanceAndThrowsInstanceProviderException()
    {
        await using var host = TestHost.Create(o => o.MaxInstances = 1);
        var pool = host.PoolManager;
        host.Provider.OnLoad = (_, _) => throw new FormatException("corrupt code");

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => pool.AcquireAsync(Fn("f"), A, CancellationToken.None).AsTask());

        Assert.IsType<FormatException>(ex.InnerException);
        Assert.Equal("f", ex.FunctionName);
        Assert.Contains("corrupt code", ex.Message, StringComparison.Ordinal);
        var instance = Assert.Single(host.Provider.Instances.Values);
        Assert.True(instance.IsDisposed);
        var s = pool.GetSnapshot();
        Assert.Equal(0, s.Assigned);
        Assert.Equal(0, s.Live);
        Assert.Equal(1, s.Destroyed);
        Assert.Equal(0, host.Provider.Live);

        host.Provider.OnLoad = null;
        Assert.Equal(StartKind.Cold, (await pool.AcquireAsync(Fn("f"), A, CancellationToken.None)).Kind);
        AssertBalanced(host);
    }

    [Fact]
    public async Task AcquireAsync_LoadThrowsInstanceProviderException_IsPassedThrough()
    {
        await using var host = TestHost.Create();
        var thrown = new InstanceProviderException("no such image");
        host.Provider.OnLoad = (_, _) => throw thrown;

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => host.PoolManager.AcquireAsync(Fn("f"), A, CancellationToken.None).AsTask());

        Assert.Same(thrown, ex);
        Assert.Equal(0, host.Provider.Live);
    }

    [Fact]
    public async Task AcquireAsync_LoadFailsOnWarmPoolInstance_DestroysItAndThePoolRefills()
    {
        await using var host = TestHost.Create(o => o.WarmingPoolSize = 1);
        var pool = host.PoolManager;
        await pool.PrewarmAsync();
        var warm = Assert.Single(host.Provider.Instances.Values);
        host.Provider.OnLoad = (_, _) => throw new FormatException("corrupt code");

        await Assert.ThrowsAsync<InstanceProviderException>(() => pool.AcquireAsync(Fn("f"), A, CancellationToken.None).AsTask());
        await SettleAsync(pool);

        Assert.True(warm.IsDisposed);
        Assert.Equal(1, pool.GetSnapshot().Warm);
        Assert.Equal(2, host.Provider.Created);
        AssertBalanced(host);
    }

    // ---- instance size -----------------------------------------------------------------------------------------

    [Fact]
    public async Task AcquireAsync_FunctionNeedsMoreMemoryThanWarmInstances_ColdStartsWithThatMemory()
    {
        await using var host = TestHost.Create(o =>
        {
            o.WarmingPoolSize = 1;
            o.WarmInstance = new InstanceSpec { MemoryMb = 256, VCpuCount = 2 };
        });
        var pool = host.PoolManager;
        await pool.PrewarmAsync();
        var warm = Assert.Single(host.Provider.Instances.Values);

        var big = await pool.AcquireAsync(Fn("big") with { MemoryMb = 1024 }, A, CancellationToken.None);
        await SettleAsync(pool);

        Assert.Equal(StartKind.Cold, big.Kind);
        Assert.NotSame(warm, big.Instance);
        Assert.Equal(2, host.Provider.Specs.Count);
        Assert.Equal(1024, host.Provider.Specs[1].MemoryMb);
        Assert.Equal(2, host.Provider.Specs[1].VCpuCount);
        Assert.Equal(1, pool.GetSnapshot().Warm); // the warm instance was left alone
        Assert.Null(warm.LoadedFunction);

        var small = await pool.AcquireAsync(Fn("small") with { MemoryMb = 256 }, A, CancellationToken.None);
        await SettleAsync(pool);
        Assert.Equal(StartKind.WarmPool, small.Kind);
        Assert.Same(warm, small.Instance);
    }

    // ---- shutdown ----------------------------------------------------------------------------------------------

    [Fact]
    public async Task DisposeAsync_DestroysIdleAndWarmInstances_AndBusyOnesOnRelease()
    {
        await using var host = TestHost.Create(o => o.WarmingPoolSize = 2);
        var pool = host.PoolManager;
        await pool.PrewarmAsync();
        var busy = await pool.AcquireAsync(Fn("f"), A, CancellationToken.None);
        await SettleAsync(pool);
        var idle = await pool.AcquireAsync(Fn("g"), A, CancellationToken.None);
        await SettleAsync(pool);
        pool.Release(idle.Slot, keep: true, "released");
        var before = pool.GetSnapshot();
        Assert.Equal((2L, 1L, 1L), (before.Warm, before.Idle, before.Busy));
        Assert.Equal(4, host.Provider.Live);

        await pool.DisposeAsync();

        Assert.Equal(1, host.Provider.Live);
        Assert.False(Fake(busy).IsDisposed);
        Assert.True(Fake(idle).IsDisposed);
        var after = pool.GetSnapshot();
        Assert.Equal((0L, 0L, 1L), (after.Warm, after.Idle, after.Busy));

        pool.Release(busy.Slot, keep: true, "released");

        Assert.True(Fake(busy).IsDisposed);
        Assert.Equal(0, host.Provider.Live);
        Assert.Equal(0, pool.GetSnapshot().Live);
        AssertBalanced(host);
    }

    [Fact]
    public async Task DisposeAsync_ThenUse_AcquireAndPrewarmThrowMaintenanceDoesNothing()
    {
        await using var host = TestHost.Create(o => o.WarmingPoolSize = 1);
        var pool = host.PoolManager;

        await pool.DisposeAsync();
        await pool.DisposeAsync(); // idempotent

        await Assert.ThrowsAsync<ObjectDisposedException>(() => pool.AcquireAsync(Fn("f"), A, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pool.PrewarmAsync().AsTask());
        await pool.RunMaintenanceAsync();
        Assert.Equal(0, host.Provider.Created);
    }

    // ---- bookkeeping -------------------------------------------------------------------------------------------

    [Fact]
    public async Task GetSnapshot_AfterAMixOfOperations_CreatedMinusDestroyedEqualsLive()
    {
        await using var host = TestHost.Create(o =>
        {
            o.WarmingPoolSize = 2;
            o.MaxInstances = 4;
            o.KeepAlive = TimeSpan.FromMinutes(1);
        });
        var pool = host.PoolManager;
        await pool.PrewarmAsync();
        var leases = new List<PoolLease>();
        foreach (var (fn, tenant) in new[] { ("f", A), ("g", A), ("f", B), ("h", C) })
        {
            leases.Add(await pool.AcquireAsync(Fn(fn), tenant, CancellationToken.None));
            await SettleAsync(pool);
            AssertBalanced(host);
        }

        pool.Release(leases[0].Slot, keep: true, "released");
        pool.Release(leases[1].Slot, keep: false, "failed");
        pool.Release(leases[2].Slot, keep: true, "released");
        AssertBalanced(host);
        host.Time.Advance(TimeSpan.FromMinutes(2));
        await pool.RunMaintenanceAsync();
        AssertBalanced(host);
        pool.Release(leases[3].Slot, keep: true, "released");
        await pool.DisposeAsync();

        var s = pool.GetSnapshot();
        Assert.Equal(0, s.Live);
        Assert.Equal(s.Created, s.Destroyed);
        Assert.Equal(0, host.Provider.Live);
        Assert.Equal(host.Provider.Created, s.Created);
    }

    private static FunctionDefinition Fn(string name) => new(name, new DelegateFunctionCode(TestHost.Noop));

    private static FakeInstance Fake(PoolLease lease) => Assert.IsType<FakeInstance>(lease.Instance);

    private static void AssertBalanced(TestHost host)
    {
        var s = host.PoolManager.GetSnapshot();
        Assert.Equal(s.Created - s.Destroyed, s.Live);
        Assert.Equal(host.Provider.Live, s.Live);
    }

    /// <summary>Waits for the pool's background work (warming-pool refills, deferred releases) to finish.</summary>
    /// <remarks>The pool keeps no public handle on that work; its private tracking set is the only sync point.</remarks>
    private static async Task SettleAsync(PoolManager pool)
    {
        var field = typeof(PoolManager).GetField("_background", BindingFlags.NonPublic | BindingFlags.Instance);
        Assert.NotNull(field);
        var background = Assert.IsType<ConcurrentDictionary<Task, byte>>(field.GetValue(pool));
        Task[] pending;
        while ((pending = background.Keys.Where(t => !t.IsCompleted).ToArray()).Length > 0)
        {
            try
            {
                await Task.WhenAll(pending).WaitAsync(HangGuard);
            }
            catch (Exception ex) when (ex is not TimeoutException)
            {
                // The pool logs and swallows its own background failures; only completion matters here.
            }
        }
    }
}
