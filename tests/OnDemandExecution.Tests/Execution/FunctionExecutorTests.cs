using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OnDemandExecution.Execution;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Execution;

public class FunctionExecutorTests
{
    // A guard against hangs only: every awaited call here completes on virtual time or a TaskCompletionSource.
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan CreateCost = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan LoadCost = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan RunCost = TimeSpan.FromMilliseconds(30);

    [Fact]
    public async Task InvokeAsync_FirstCall_IsColdWithProvisioningLoadAndExecutionTimings()
    {
        await using var host = CreateHostWithCosts(warmingPoolSize: 0);

        var result = await host.Executor.InvokeAsync("f", "hi");

        Assert.Equal(StartKind.Cold, result.StartKind);
        Assert.Equal("f:hi", result.OutputAsString());
        Assert.Equal(TimeSpan.Zero, result.Timings.QueueWait);
        Assert.Equal(CreateCost, result.Timings.Provisioning);
        Assert.Equal(LoadCost, result.Timings.CodeLoad);
        Assert.Equal(RunCost, result.Timings.Execution);
        Assert.Equal(CreateCost + LoadCost + RunCost, result.Timings.Total);
        Assert.True(result.Timings.Total >= result.Timings.Execution);
        Assert.True(host.Provider.Instances.ContainsKey(result.InstanceId));
    }

    [Fact]
    public async Task InvokeAsync_SecondCallSameTenant_IsWarmHitOnSameInstanceWithoutProvisioningOrLoad()
    {
        await using var host = CreateHostWithCosts(warmingPoolSize: 0);
        var first = await host.Executor.InvokeAsync("f", "1");

        var second = await host.Executor.InvokeAsync("f", "2");

        Assert.Equal(StartKind.Warm, second.StartKind);
        Assert.Equal(first.InstanceId, second.InstanceId);
        Assert.Equal(TimeSpan.Zero, second.Timings.Provisioning);
        Assert.Equal(TimeSpan.Zero, second.Timings.CodeLoad);
        Assert.Equal(RunCost, second.Timings.Execution);
        Assert.Equal(RunCost, second.Timings.Total);
        Assert.Equal(1, host.Provider.Created);
    }

    [Fact]
    public async Task InvokeAsync_OtherTenant_DoesNotReuseTheFirstTenantsInstance()
    {
        await using var host = CreateHostWithCosts(warmingPoolSize: 0);
        var a = await host.Executor.InvokeAsync("f", "1", new TenantId("a"));

        var b = await host.Executor.InvokeAsync("f", "1", new TenantId("b"));

        Assert.Equal(StartKind.Cold, b.StartKind);
        Assert.NotEqual(a.InstanceId, b.InstanceId);
    }

    [Fact]
    public async Task InvokeAsync_WarmingPoolHasInstance_IsWarmPoolStartWithLoadButNoProvisioning()
    {
        await using var host = TestHost.Create(
            o => o.WarmingPoolSize = 1,
            b => b.AddFunction("f", TestHost.Noop));
        await host.Pools.PrewarmAsync();
        Assert.Equal(1, host.Pools.GetSnapshot().Warm);
        host.Provider.OnLoad = (_, _) =>
        {
            host.Time.Advance(LoadCost);
            return ValueTask.CompletedTask;
        };

        var result = await host.Executor.InvokeAsync("f", "x");

        Assert.Equal(StartKind.WarmPool, result.StartKind);
        Assert.Equal(TimeSpan.Zero, result.Timings.Provisioning);
        Assert.Equal(LoadCost, result.Timings.CodeLoad);
        Assert.True(result.Timings.Total >= result.Timings.Execution);
        Assert.Equal("fake-1", result.InstanceId);
    }

    [Fact]
    public async Task InvokeAsync_UnknownFunction_ThrowsFunctionNotFoundWithName()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop));

        var ex = await Assert.ThrowsAsync<FunctionNotFoundException>(() => host.Executor.InvokeAsync("missing", "x").AsTask());

        Assert.Equal("missing", ex.FunctionName);
        Assert.Equal(0, host.Provider.Created);
    }

    [Fact]
    public async Task InvokeAsync_PayloadOverFunctionLimit_ThrowsPayloadTooLargeWithSizes()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop, f => f with { MaxPayloadBytes = 4 }));

        var ex = await Assert.ThrowsAsync<PayloadTooLargeException>(() => host.Executor.InvokeAsync("f", new byte[5]).AsTask());

        Assert.Equal("f", ex.FunctionName);
        Assert.Equal(5, ex.PayloadBytes);
        Assert.Equal(4, ex.LimitBytes);
        Assert.Equal(0, host.Provider.Created);
    }

    [Fact]
    public async Task InvokeAsync_PayloadAtFunctionLimit_Runs()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop, f => f with { MaxPayloadBytes = 4 }));

        var result = await host.Executor.InvokeAsync("f", "abcd");

        Assert.Equal("f:abcd", result.OutputAsString());
    }

    [Fact]
    public async Task InvokeAsync_PayloadOverDefaultLimit_ThrowsPayloadTooLargeWithDefaultLimit()
    {
        await using var host = TestHost.Create(o => o.DefaultMaxPayloadBytes = 8, b => b.AddFunction("f", TestHost.Noop));

        var ex = await Assert.ThrowsAsync<PayloadTooLargeException>(() => host.Executor.InvokeAsync("f", new byte[9]).AsTask());

        Assert.Equal(9, ex.PayloadBytes);
        Assert.Equal(8, ex.LimitBytes);
    }

    [Fact]
    public async Task InvokeAsync_OneRunningAndOneQueued_ThirdThrowsQueueFull()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop, f => f with { MaxConcurrency = 1, MaxQueueLength = 1 }));
        var release = Hold(host.Provider);
        var gate = GateOf(host, "f");

        var running = host.Executor.InvokeAsync("f", "1").AsTask();
        var queued = host.Executor.InvokeAsync("f", "2").AsTask();
        Assert.Equal(1, gate.InFlight);
        Assert.Equal(1, gate.Queued);

        var ex = await Assert.ThrowsAsync<QueueFullException>(() => host.Executor.InvokeAsync("f", "3").AsTask());

        Assert.Equal("f", ex.FunctionName);
        Assert.Equal(1, ex.QueueLength);
        Assert.False(running.IsCompleted);
        Assert.False(queued.IsCompleted);

        release.SetResult();
        var first = await running.WaitAsync(HangGuard);
        var second = await queued.WaitAsync(HangGuard);
        Assert.Equal(StartKind.Cold, first.StartKind);
        Assert.Equal(StartKind.Warm, second.StartKind);
        Assert.Equal(first.InstanceId, second.InstanceId);
        Assert.Equal(0, gate.InFlight);
        Assert.Equal(0, gate.Queued);
    }

    [Fact]
    public async Task InvokeAsync_FunctionHonoursTokenPastTimeout_ThrowsInvocationTimeoutAndKeepsInstance()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop, f => f with { Timeout = TimeSpan.FromSeconds(5) }));
        var hang = true;
        host.Provider.OnInvoke = async (i, r, ct) =>
        {
            if (hang)
            {
                await Task.Delay(Timeout.Infinite, ct);
            }

            return Encoding.UTF8.GetBytes(i.Id);
        };

        var call = host.Executor.InvokeAsync("f", "x").AsTask();
        host.Time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.False(call.IsCompleted);
        host.Time.Advance(TimeSpan.FromSeconds(0.2));

        var ex = await Assert.ThrowsAsync<InvocationTimeoutException>(() => call.WaitAsync(HangGuard));
        Assert.Equal("f", ex.FunctionName);
        Assert.Equal(TimeSpan.FromSeconds(5), ex.Timeout);
        Assert.Equal(1, host.Provider.Live);
        var timedOut = Assert.Single(host.Provider.Instances.Values);

        // The function stops when it sees the token, which may be just after the caller was answered.
        await WaitUntilAsync(() => host.Pools.GetSnapshot().Idle == 1);
        Assert.False(timedOut.IsDisposed);
        Assert.Equal(0, host.Pools.GetSnapshot().Destroyed);
        hang = false;
        var next = await host.Executor.InvokeAsync("f", "y").AsTask().WaitAsync(HangGuard);
        Assert.Equal(StartKind.Warm, next.StartKind);
        Assert.Equal(timedOut.Id, next.InstanceId);
    }

    [Fact]
    public async Task InvokeAsync_FunctionIgnoresTokenPastTimeout_ThrowsPromptlyAndDestroysInstanceWhenCallReturns()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop, f => f with { Timeout = TimeSpan.FromSeconds(5) }));
        var stuck = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Provider.OnInvoke = async (_, _, _) =>
        {
            await stuck.Task; // ignores the token
            return ReadOnlyMemory<byte>.Empty;
        };
        var gate = GateOf(host, "f");

        var call = host.Executor.InvokeAsync("f", "x").AsTask();
        host.Time.Advance(TimeSpan.FromSeconds(6));

        await Assert.ThrowsAsync<InvocationTimeoutException>(() => call.WaitAsync(HangGuard));
        Assert.False(stuck.Task.IsCompleted); // the caller did not wait for the function
        Assert.Equal(0, gate.InFlight);
        var abandoned = Assert.Single(host.Provider.Instances.Values);
        Assert.False(abandoned.IsDisposed); // still running: not destroyed under the call
        Assert.Equal(1, host.Pools.GetSnapshot().Busy);

        // A new call must not get the abandoned instance.
        host.Provider.OnInvoke = (i, _, _) => new(Encoding.UTF8.GetBytes(i.Id));
        var next = await host.Executor.InvokeAsync("f", "y").AsTask().WaitAsync(HangGuard);
        Assert.NotEqual(abandoned.Id, next.InstanceId);
        Assert.Equal(StartKind.Cold, next.StartKind);

        stuck.SetResult();
        await WaitUntilAsync(() => abandoned.IsDisposed);
        Assert.Equal(1, host.Provider.Live);
        var snapshot = host.Pools.GetSnapshot();
        Assert.Equal(0, snapshot.Busy);
        Assert.Equal(1, snapshot.Destroyed);
    }

    [Fact]
    public async Task InvokeAsync_CallerCancelsWhileQueued_ThrowsOperationCanceledAndLeavesQueue()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop, f => f with { MaxConcurrency = 1, MaxQueueLength = 4 }));
        var release = Hold(host.Provider);
        var gate = GateOf(host, "f");
        var running = host.Executor.InvokeAsync("f", "1").AsTask();
        using var cts = new CancellationTokenSource();
        var queued = host.Executor.InvokeAsync("f", "2", cancellationToken: cts.Token).AsTask();
        Assert.Equal(1, gate.Queued);

        await cts.CancelAsync();

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued.WaitAsync(HangGuard));
        Assert.Equal(cts.Token, ex.CancellationToken);
        Assert.Equal(0, gate.Queued);
        Assert.Equal(1, gate.InFlight);
        release.SetResult();
        await running.WaitAsync(HangGuard);
        Assert.Equal(0, gate.InFlight);
        Assert.Equal(1, host.Provider.Created); // the cancelled request never got an instance
    }

    [Fact]
    public async Task InvokeAsync_CallerCancelsWhileRunning_ThrowsOperationCanceledNotTimeoutAndReturnsPermit()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop, f => f with { MaxConcurrency = 1, MaxQueueLength = 0 }));
        var hang = true;
        host.Provider.OnInvoke = async (i, _, ct) =>
        {
            if (hang)
            {
                await Task.Delay(Timeout.Infinite, ct);
            }

            return Encoding.UTF8.GetBytes(i.Id);
        };
        var gate = GateOf(host, "f");
        using var cts = new CancellationTokenSource();
        var call = host.Executor.InvokeAsync("f", "1", cancellationToken: cts.Token).AsTask();
        Assert.Equal(1, gate.InFlight);

        await cts.CancelAsync();

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(HangGuard));
        Assert.Equal(cts.Token, ex.CancellationToken);
        Assert.Equal(0, gate.InFlight);

        // The permit is back: with MaxQueueLength 0 a request would be rejected if it were still held.
        await WaitUntilAsync(() => host.Pools.GetSnapshot().Idle == 1);
        hang = false;
        var next = await host.Executor.InvokeAsync("f", "2").AsTask().WaitAsync(HangGuard);
        Assert.Equal(StartKind.Warm, next.StartKind); // the function honoured the token: its instance stays
        Assert.Equal(1, host.Provider.Created);
    }

    [Fact]
    public async Task InvokeAsync_FunctionThrowsFunctionExecutionException_RethrowsAndKeepsInstance()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop));
        string? failedOn = null;
        host.Provider.OnInvoke = (i, r, _) =>
        {
            if (r.Payload.Span[0] == (byte)'!')
            {
                failedOn = i.Id;
                throw new FunctionExecutionException("user code failed") { FunctionName = "f" };
            }

            return new(Encoding.UTF8.GetBytes(i.Id));
        };

        var ex = await Assert.ThrowsAsync<FunctionExecutionException>(() => host.Executor.InvokeAsync("f", "!").AsTask());
        var next = await host.Executor.InvokeAsync("f", "ok");

        Assert.Equal("user code failed", ex.Message);
        Assert.NotNull(failedOn);
        Assert.Equal(StartKind.Warm, next.StartKind);
        Assert.Equal(failedOn, next.InstanceId);
        Assert.Equal(1, host.Provider.Live);
    }

    [Fact]
    public async Task InvokeAsync_InstanceDies_RethrowsAndDestroysInstance()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop));
        FakeInstance? died = null;
        host.Provider.OnInvoke = (i, r, _) =>
        {
            if (r.Payload.Span[0] == (byte)'!')
            {
                died = i;
                throw new InstanceDiedException("gone") { InstanceId = i.Id };
            }

            return new(Encoding.UTF8.GetBytes(i.Id));
        };

        await Assert.ThrowsAsync<InstanceDiedException>(() => host.Executor.InvokeAsync("f", "!").AsTask());
        var next = await host.Executor.InvokeAsync("f", "ok");

        Assert.NotNull(died);
        Assert.True(died.IsDisposed);
        Assert.NotEqual(died.Id, next.InstanceId);
        Assert.Equal(StartKind.Cold, next.StartKind);
        Assert.Equal(1, host.Provider.Live);
    }

    [Fact]
    public async Task InvokeAsync_InstanceThrowsOtherException_ThrowsInstanceProviderExceptionAndDestroysInstance()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop));
        FakeInstance? faulty = null;
        host.Provider.OnInvoke = (i, r, _) =>
        {
            if (r.Payload.Span[0] == (byte)'!')
            {
                faulty = i;
                throw new IOException("channel broke");
            }

            return new(Encoding.UTF8.GetBytes(i.Id));
        };

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => host.Executor.InvokeAsync("f", "!").AsTask());
        var next = await host.Executor.InvokeAsync("f", "ok");

        Assert.IsType<IOException>(ex.InnerException);
        Assert.Equal("fake", ex.ProviderName);
        Assert.Equal("f", ex.FunctionName);
        Assert.NotNull(faulty);
        Assert.True(faulty.IsDisposed);
        Assert.NotEqual(faulty.Id, next.InstanceId);
        Assert.Equal(1, host.Provider.Live);
    }

    [Fact]
    public async Task InvokeAsync_FunctionCancelledByItsOwnToken_ThrowsFunctionExecutionExceptionAndKeepsInstance()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop));
        string? failedOn = null;
        host.Provider.OnInvoke = (i, r, _) =>
        {
            if (r.Payload.Span[0] == (byte)'!')
            {
                failedOn = i.Id;
                throw new OperationCanceledException("the function's own timeout");
            }

            return new(Encoding.UTF8.GetBytes(i.Id));
        };

        var ex = await Assert.ThrowsAsync<FunctionExecutionException>(() => host.Executor.InvokeAsync("f", "!").AsTask());
        var next = await host.Executor.InvokeAsync("f", "ok");

        Assert.IsType<OperationCanceledException>(ex.InnerException);
        Assert.Equal(failedOn, next.InstanceId);
        Assert.Equal(StartKind.Warm, next.StartKind);
    }

    [Fact]
    public async Task InvokeAsync_ProviderCreationFails_ThrowsInstanceProviderExceptionAndLeavesNothing()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop));
        host.Provider.OnCreate = (_, _) => throw new InvalidOperationException("no capacity on host");
        var gate = GateOf(host, "f");

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => host.Executor.InvokeAsync("f", "x").AsTask());

        Assert.Equal("fake", ex.ProviderName);
        Assert.IsType<InvalidOperationException>(ex.InnerException);
        Assert.Equal(0, gate.InFlight);
        var snapshot = host.Pools.GetSnapshot();
        Assert.Equal(0, snapshot.Live);
        Assert.Equal(0, snapshot.Created);
    }

    [Fact]
    public async Task InvokeAsync_LoadFails_ThrowsInstanceProviderExceptionAndDestroysInstance()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop));
        host.Provider.OnLoad = (_, _) => throw new InvalidOperationException("bad image");

        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => host.Executor.InvokeAsync("f", "x").AsTask());

        Assert.Equal("f", ex.FunctionName);
        Assert.Equal(0, host.Provider.Live);
        Assert.Equal(0, host.Pools.GetSnapshot().Live);
    }

    [Fact]
    public async Task InvokeAsync_AllInstancesBusyAtMaxInstances_ThrowsInstanceCapacityExceeded()
    {
        await using var host = TestHost.Create(
            o => (o.MaxInstances, o.MaxInstancesPerTenant) = (1, 1), // the host's limit, not the tenant's share
            b => b.AddFunction("f", TestHost.Noop).AddFunction("g", TestHost.Noop));
        var release = Hold(host.Provider);
        var running = host.Executor.InvokeAsync("f", "1").AsTask();

        var ex = await Assert.ThrowsAsync<InstanceCapacityExceededException>(() => host.Executor.InvokeAsync("g", "1").AsTask());

        Assert.Equal(1, ex.MaxInstances);
        release.SetResult();
        await running.WaitAsync(HangGuard);
        Assert.Equal(0, GateOf(host, "g").InFlight);
    }

    [Fact]
    public async Task DisposeAsync_AfterInvocations_DestroysEveryInstance()
    {
        var host = CreateHostWithCosts(warmingPoolSize: 2);
        await host.Pools.PrewarmAsync();
        await host.Executor.InvokeAsync("f", "1", new TenantId("a"));
        await host.Executor.InvokeAsync("f", "1", new TenantId("b"));
        Assert.True(host.Provider.Live >= 2);

        await host.DisposeAsync();

        Assert.Equal(0, host.Provider.Live);
    }

    private static TestHost CreateHostWithCosts(int warmingPoolSize)
    {
        var host = TestHost.Create(o => o.WarmingPoolSize = warmingPoolSize, b => b.AddFunction("f", TestHost.Noop));
        host.Provider.OnCreate = (_, _) =>
        {
            host.Time.Advance(CreateCost);
            return ValueTask.CompletedTask;
        };
        host.Provider.OnLoad = (_, _) =>
        {
            host.Time.Advance(LoadCost);
            return ValueTask.CompletedTask;
        };
        host.Provider.OnInvoke = (_, r, _) =>
        {
            host.Time.Advance(RunCost);
            return new(Encoding.UTF8.GetBytes(r.FunctionName + ":" + Encoding.UTF8.GetString(r.Payload.Span)));
        };
        return host;
    }

    /// <summary>Makes every invocation wait until the returned source completes.</summary>
    private static TaskCompletionSource Hold(FakeInstanceProvider provider)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        provider.OnInvoke = async (i, _, _) =>
        {
            await release.Task;
            return Encoding.UTF8.GetBytes(i.Id);
        };
        return release;
    }

    private static FunctionGate GateOf(TestHost host, string name)
    {
        Assert.True(host.Catalog.TryGetFunction(name, out var function));
        return host.FunctionExecutor.GetGate(function);
    }

    /// <summary>Waits for work that completes on another thread (a continuation); a bounded wait-until, not a timing assertion.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 2000 && !condition(); i++)
        {
            await Task.Delay(5);
        }

        Assert.True(condition(), "The condition did not become true.");
    }
}
