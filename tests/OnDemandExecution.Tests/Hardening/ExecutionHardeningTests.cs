using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Tests.Sidecars;
using OnDemandExecution.Tests.TestSupport;
using static OnDemandExecution.Tests.TestSupport.Background;

namespace OnDemandExecution.Tests.Hardening;

/// <summary>Regression tests of issue 14's defects on the call path: 1, 2, 6, 7 and 9, and pre-start rejection metrics.</summary>
public class ExecutionHardeningTests
{
    private static readonly TenantId A = new("tenant-a");

    // ---- defect 1: a timeout above the timer limit ---------------------------------------------------------------

    [Fact]
    public async Task AddFunction_TimeoutAboveTheTimerLimit_IsRefusedNamingTheFunctionAndTheLimit()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("long", TestHost.Noop, f => f with { Timeout = TimeSpan.FromDays(49.8) }));

        var ex = Assert.Throws<ArgumentException>(() => host.Catalog);

        Assert.Contains("'long'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Timeout", ex.Message, StringComparison.Ordinal);
        Assert.Contains("49.7 days", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_InfiniteOrLongestTimeout_IsAccepted()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop));
        host.Catalog.Register(new FunctionDefinition("forever", new DelegateFunctionCode(TestHost.Noop)) { Timeout = Timeout.InfiniteTimeSpan });
        host.Catalog.Register(new FunctionDefinition("longest", new DelegateFunctionCode(TestHost.Noop)) { Timeout = TimeSpan.FromMilliseconds(uint.MaxValue - 1) });

        Assert.Equal("longest:x", (await host.Executor.InvokeAsync("longest", "x")).OutputAsString());
        Assert.Equal(0, host.Pools.GetSnapshot().Busy);
    }

    [Fact]
    public async Task InvokeAsync_TheTimeoutCannotBeArmed_TheInstanceIsStillReturned()
    {
        var time = new TimerFailingTimeProvider();
        var provider = new FakeInstanceProvider();
        var services = new ServiceCollection().AddSingleton<TimeProvider>(time);
        services.AddOnDemandExecution(o => o.WarmingPoolSize = 0).AddProvider(_ => provider).AddFunction("f", TestHost.Noop);
        await using var sp = services.BuildServiceProvider();
        var executor = sp.GetRequiredService<IFunctionExecutor>();
        var pools = sp.GetRequiredService<IInstancePoolManager>();
        await executor.InvokeAsync("f", "1"); // leaves one idle instance: the next call is a warm hit, arming only its timeout

        time.FailTimers = true;
        await Assert.ThrowsAsync<InvalidOperationException>(() => executor.InvokeAsync("f", "2").AsTask());
        time.FailTimers = false;

        var s = pools.GetSnapshot();
        Assert.Equal(0, s.Busy); // not left busy forever
        Assert.Equal(1, s.Idle);
        Assert.Equal(StartKind.Warm, (await executor.InvokeAsync("f", "3")).StartKind);
    }

    // ---- defect 2: sidecar pools and user functions ---------------------------------------------------------------

    [Fact]
    public async Task Sidecar_IsNeverServedByTheIdleInstanceOfAUserFunctionNamedLikeItsPool()
    {
        await using var host = InProcessHost.Create(null, b => b
            .AddFunction("sidecar.log", (_, _) => new ValueTask<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes("USER")))
            .AddFunction("f", async (ctx, ct) => await ctx.InvokeSidecarAsync("log", ctx.Payload, ct), f => f with { Sidecars = [new SidecarDefinition("log", SidecarTests.EchoSidecar("log"))] }));
        var tenant = new TenantId("t");
        await host.Executor.InvokeAsync("sidecar.log", "x", tenant); // an idle user instance under that name

        var result = await host.Executor.InvokeAsync("f", "hello", tenant);

        Assert.StartsWith("log:t:", result.OutputAsString(), StringComparison.Ordinal); // the sidecar's code, not the user's
        Assert.Equal(1, host.Pools.GetActivePools().Single(p => p.Function == "sidecar.log").Idle); // the user's instance still idle
    }

    // ---- defect 6: an idle instance that died while idle -----------------------------------------------------------

    [Fact]
    public async Task InvokeAsync_IdleInstanceDiedWhileIdle_IsSkipped_AndTheCallSucceedsOnAnother()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop));
        var first = await host.Executor.InvokeAsync("f", "1", A);
        var dead = host.Provider.Instances[first.InstanceId];
        dead.Alive = false; // its process exited while it was idle; the provider's flag says so

        var second = await host.Executor.InvokeAsync("f", "2", A);

        Assert.Equal("f:2", second.OutputAsString());
        Assert.NotEqual(first.InstanceId, second.InstanceId);
        Assert.Equal(StartKind.Cold, second.StartKind);
        Assert.True(dead.IsDisposed);
        Assert.Equal(0, dead.Invocations - 1); // never invoked again
        await SettleAsync(host.PoolManager);
        Assert.Equal(1, host.Pools.GetSnapshot().Live);
    }

    [Fact]
    public async Task InvokeAsync_EveryIdleInstanceDead_ColdStartsWithinTheSameCall()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop, f => f with { MaxConcurrency = 8 }));
        var gate = new TaskCompletionSource<ReadOnlyMemory<byte>>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Provider.OnInvoke = (_, _, _) => new(gate.Task);
        var calls = Enumerable.Range(0, 6).Select(i => host.Executor.InvokeAsync("f", "x", A).AsTask()).ToArray();
        gate.SetResult(ReadOnlyMemory<byte>.Empty);
        await Task.WhenAll(calls).WaitAsync(HangGuard);
        foreach (var instance in host.Provider.Instances.Values)
        {
            instance.Alive = false;
        }

        host.Provider.OnInvoke = (_, r, _) => new(Encoding.UTF8.GetBytes("ok"));
        var result = await host.Executor.InvokeAsync("f", "y", A);

        Assert.Equal("ok", result.OutputAsString());
        Assert.Equal(StartKind.Cold, result.StartKind);
    }

    // ---- defect 7: reuse after a timeout only when the provider confirms the work stopped ----------------------------

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task Timeout_TheInstanceIsReusedOnlyWhenItsProviderConfirmsTheWorkStopped(bool confirms, bool reused)
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop, f => f with { Timeout = TimeSpan.FromSeconds(1) }));
        host.Provider.OnStopWork = (_, _) => new(confirms);
        host.Provider.OnInvoke = async (_, _, ct) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, ct); // honours its token: the host-side call ends at once
            return ReadOnlyMemory<byte>.Empty;
        };
        var call = host.Executor.InvokeAsync("f", "1", A).AsTask();
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<InvocationTimeoutException>(() => call.WaitAsync(HangGuard));
        await SettleAsync(host.PoolManager);
        var first = Assert.Single(host.Provider.Instances.Values);
        Assert.Equal(1, first.StopWorkCalls);

        host.Provider.OnInvoke = (_, _, _) => new(ReadOnlyMemory<byte>.Empty);
        var next = await host.Executor.InvokeAsync("f", "2", A);

        Assert.Equal(reused, next.InstanceId == first.Id);
        Assert.Equal(!reused, first.IsDisposed);
        Assert.Equal(reused ? StartKind.Warm : StartKind.Cold, next.StartKind);
    }

    [Fact]
    public async Task CallerCancellation_ProviderDoesNotConfirm_TheInstanceIsDestroyed()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop));
        host.Provider.OnStopWork = (_, _) => new(false);
        host.Provider.OnInvoke = async (_, _, ct) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return ReadOnlyMemory<byte>.Empty;
        };
        using var cts = new CancellationTokenSource();
        var call = host.Executor.InvokeAsync("f", "1", A, cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(HangGuard));
        await SettleAsync(host.PoolManager);

        Assert.True(Assert.Single(host.Provider.Instances.Values).IsDisposed);
        Assert.Equal(0, host.Pools.GetSnapshot().Live);
    }

    // ---- defect 9: synchronous disposal of the service provider ------------------------------------------------------

    [Fact]
    public async Task ServiceProvider_DisposedSynchronously_DoesNotThrow_AndDisposesEveryInstance()
    {
        var host = TestHost.Create(o => o.WarmingPoolSize = 2, b => b.AddFunction("f", TestHost.Noop, f => f with { Sidecars = [new SidecarDefinition("log", new DelegateFunctionCode(TestHost.Noop))] }));
        await host.Pools.PrewarmAsync();
        host.Provider.OnInvoke = (_, _, _) => new(ReadOnlyMemory<byte>.Empty);
        await host.Executor.InvokeAsync("f", "1", A);
        Assert.True(host.Provider.Live > 0);

        var pool = host.PoolManager;

        host.Services.Dispose();

        await SettleAsync(pool);
        Assert.Equal(0, host.Provider.Live);
    }

    // ---- rejections before a call starts are counted under their outcome ------------------------------------------

    [Fact]
    public async Task Rejections_BeforeTheCallStarts_AreCountedUnderTheirOutcome()
    {
        await using var host = TestHost.Create(configure: b =>
        {
            b.Services.AddMetrics();
            b.AddFunction("f", TestHost.Noop, f => f with { MaxPayloadBytes = 4 });
        });
        using var invocations = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), OnDemandExecutionDiagnostics.Name, OnDemandExecutionDiagnostics.Invocations);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAsync<FunctionNotFoundException>(() => host.Executor.InvokeAsync("nope", "x").AsTask());
        await Assert.ThrowsAsync<PayloadTooLargeException>(() => host.Executor.InvokeAsync("f", "too long").AsTask());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.Executor.InvokeAsync("f", "x", cancellationToken: cancelled.Token).AsTask());

        var outcomes = invocations.GetMeasurementSnapshot()
            .Select(m => ((string)m.Tags[OnDemandExecutionDiagnostics.FunctionNameTag]!, (string)m.Tags[OnDemandExecutionDiagnostics.OutcomeTag]!, m.Value))
            .ToArray();
        Assert.Equal([("(unknown)", "not_found", 1L), ("f", "payload_too_large", 1L), ("f", "cancelled", 1L)], outcomes);
    }

    /// <summary>A fake clock whose timers can be made to fail (as an out-of-range timeout would).</summary>
    private sealed class TimerFailingTimeProvider : FakeTimeProvider
    {
        public bool FailTimers { get; set; }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            FailTimers ? throw new InvalidOperationException("timer refused") : base.CreateTimer(callback, state, dueTime, period);
    }
}
