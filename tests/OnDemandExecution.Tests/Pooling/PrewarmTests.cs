using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Pooling;

public class PrewarmTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task PrewarmAsync_WhileARefillIsInFlight_WaitsForThePoolToFill()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var provider = new FakeInstanceProvider { OnCreate = async (_, ct) => await gate.Task.WaitAsync(ct) };
        await using var host = TestHost.Create(o => o.WarmingPoolSize = 3, provider: provider);

        var first = host.Pools.PrewarmAsync().AsTask();   // starts the refill; creations are held by the gate
        var second = host.Pools.PrewarmAsync().AsTask();  // must wait for the same refill, not return at once
        await Task.Yield();
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);

        gate.SetResult();
        await Task.WhenAll(first, second).WaitAsync(HangGuard);
        Assert.Equal(3, host.Pools.GetSnapshot().Warm);
        Assert.Equal(3, provider.Created);
    }

    [Fact]
    public async Task PrewarmAsync_CallerStopsWaiting_RefillGoesOn()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var provider = new FakeInstanceProvider { OnCreate = async (_, ct) => await gate.Task.WaitAsync(ct) };
        await using var host = TestHost.Create(o => o.WarmingPoolSize = 2, provider: provider);
        using var cts = new CancellationTokenSource();

        var waiting = host.Pools.PrewarmAsync(cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(HangGuard));

        gate.SetResult();
        await host.Pools.PrewarmAsync().AsTask().WaitAsync(HangGuard);
        Assert.Equal(2, host.Pools.GetSnapshot().Warm);
    }

    [Theory]
    [InlineData(true, 4)]
    [InlineData(false, 0)]
    public async Task HostStart_PrewarmOnStart_FillsTheWarmingPoolBeforeStartReturns(bool prewarmOnStart, int warmAfterStart)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var provider = new FakeInstanceProvider { OnCreate = async (_, ct) => await gate.Task.WaitAsync(ct) };
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddOnDemandExecution(o =>
        {
            o.WarmingPoolSize = 4;
            o.PrewarmOnStart = prewarmOnStart;
        }).AddProvider(_ => provider);
        using var app = builder.Build();

        var start = app.StartAsync();
        if (prewarmOnStart)
        {
            Assert.False(start.IsCompleted); // held by the creations
        }

        var snapshotAtStart = start.IsCompleted ? app.Services.GetRequiredService<IInstancePoolManager>().GetSnapshot() : default;
        gate.SetResult();
        await start.WaitAsync(HangGuard);
        if (prewarmOnStart)
        {
            Assert.Equal(warmAfterStart, app.Services.GetRequiredService<IInstancePoolManager>().GetSnapshot().Warm);
        }
        else
        {
            Assert.Equal(warmAfterStart, snapshotAtStart.Warm); // start did not wait for the pool
        }

        await app.StopAsync().WaitAsync(HangGuard);
        Assert.Equal(0, provider.Live);
    }

    [Fact]
    public async Task AcquireAsync_WarmInstanceThatDiedWhileWaiting_IsReplacedWithoutFailingTheCall()
    {
        await using var host = TestHost.Create(o => o.WarmingPoolSize = 2);
        var pool = host.PoolManager;
        await pool.PrewarmAsync();
        var loads = 0;
        host.Provider.OnLoad = (_, _) => Interlocked.Increment(ref loads) == 1
            ? throw new InstanceDiedException("the guest exited while it waited")
            : ValueTask.CompletedTask;

        var lease = await pool.AcquireAsync(new FunctionDefinition("f", new DelegateFunctionCode(TestHost.Noop)), new TenantId("t"), CancellationToken.None);

        Assert.Equal(StartKind.WarmPool, lease.Kind);
        Assert.Equal(2, loads);
        Assert.Equal(1, host.Provider.Disposed); // the dead one
        Assert.Equal(1, pool.GetSnapshot().Destroyed);
    }
}
