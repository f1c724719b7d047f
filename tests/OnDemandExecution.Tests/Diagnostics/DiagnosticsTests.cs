using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Diagnostics;

/// <summary>
/// Metrics are collected from the meter each test's own <see cref="IMeterFactory"/> creates, so tests running in
/// parallel never see each other's measurements; spans come from one static source, so they are told apart by a
/// function name unique to the test.
/// </summary>
public class DiagnosticsTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Invocations_ColdThenWarmSuccess_RecordCountAndDurationWithTags()
    {
        await using var host = CreateHost(b => b.AddFunction("f", TestHost.Noop));
        host.Provider.OnInvoke = (_, _, _) =>
        {
            host.Time.Advance(TimeSpan.FromSeconds(2));
            return new(ReadOnlyMemory<byte>.Empty);
        };
        using var count = Collect<long>(host, OnDemandExecutionDiagnostics.Invocations);
        using var duration = Collect<double>(host, OnDemandExecutionDiagnostics.InvocationDuration);

        await host.Executor.InvokeAsync("f", "1");
        await host.Executor.InvokeAsync("f", "2");

        var counts = count.GetMeasurementSnapshot();
        Assert.Equal(2, counts.Count);
        Assert.All(counts, m => Assert.Equal(1, m.Value));
        Assert.Single(counts, m => m.ContainsTags(Tags("f", "cold", "success")));
        Assert.Single(counts, m => m.ContainsTags(Tags("f", "warm", "success")));
        var durations = duration.GetMeasurementSnapshot();
        Assert.Equal(2, durations.Count);
        Assert.All(durations, m => Assert.Equal(2.0, m.Value, 9));
        Assert.Single(durations, m => m.ContainsTags(Tags("f", "warm", "success")));
        Assert.DoesNotContain(counts, m => m.Tags.ContainsKey(OnDemandExecutionDiagnostics.TenantTag));
    }

    [Fact]
    public async Task Invocations_WarmPoolStart_RecordsStartKindPool()
    {
        await using var host = CreateHost(b => b.AddFunction("f", TestHost.Noop), o => o.WarmingPoolSize = 1);
        await host.Pools.PrewarmAsync();
        using var count = Collect<long>(host, OnDemandExecutionDiagnostics.Invocations);

        await host.Executor.InvokeAsync("f", "1");

        Assert.True(count.LastMeasurement?.ContainsTags(Tags("f", "pool", "success")));
    }

    [Theory]
    [InlineData("function", "function_error")]
    [InlineData("died", "instance_died")]
    [InlineData("provider", "provider_error")]
    public async Task Invocations_InstanceFails_RecordOutcomeOfTheFailure(string failure, string outcome)
    {
        await using var host = CreateHost(b => b.AddFunction("f", TestHost.Noop));
        host.Provider.OnInvoke = (_, _, _) => throw failure switch
        {
            "function" => new FunctionExecutionException("user code failed"),
            "died" => new InstanceDiedException("gone"),
            _ => new IOException("channel broke"),
        };
        using var count = Collect<long>(host, OnDemandExecutionDiagnostics.Invocations);
        using var duration = Collect<double>(host, OnDemandExecutionDiagnostics.InvocationDuration);

        await Assert.ThrowsAnyAsync<OnDemandExecutionException>(() => host.Executor.InvokeAsync("f", "1").AsTask());

        var m = Assert.Single(count.GetMeasurementSnapshot());
        Assert.Equal(1, m.Value);
        Assert.True(m.ContainsTags(Tags("f", "cold", outcome)));
        Assert.True(Assert.Single(duration.GetMeasurementSnapshot()).ContainsTags(Tags("f", "cold", outcome)));
    }

    [Fact]
    public async Task Invocations_Timeout_RecordOutcomeTimeout()
    {
        await using var host = CreateHost(b => b.AddFunction("f", TestHost.Noop, f => f with { Timeout = TimeSpan.FromSeconds(1) }));
        host.Provider.OnInvoke = async (_, _, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return ReadOnlyMemory<byte>.Empty;
        };
        using var count = Collect<long>(host, OnDemandExecutionDiagnostics.Invocations);

        var call = host.Executor.InvokeAsync("f", "1").AsTask();
        host.Time.Advance(TimeSpan.FromSeconds(2));
        await Assert.ThrowsAsync<InvocationTimeoutException>(() => call.WaitAsync(HangGuard));

        Assert.True(Assert.Single(count.GetMeasurementSnapshot()).ContainsTags(Tags("f", "cold", "timeout")));
    }

    [Fact]
    public async Task Invocations_QueueFullAndCancelledWhileQueued_RecordOutcomesWithoutStartKind()
    {
        await using var host = CreateHost(b => b.AddFunction("f", TestHost.Noop, f => f with { MaxConcurrency = 1, MaxQueueLength = 1 }));
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Provider.OnInvoke = async (_, _, _) =>
        {
            await release.Task;
            return ReadOnlyMemory<byte>.Empty;
        };
        using var count = Collect<long>(host, OnDemandExecutionDiagnostics.Invocations);
        using var queue = Collect<long>(host, OnDemandExecutionDiagnostics.QueueLength);

        var running = host.Executor.InvokeAsync("f", "1").AsTask();
        using var cts = new CancellationTokenSource();
        var queued = host.Executor.InvokeAsync("f", "2", cancellationToken: cts.Token).AsTask();
        await Assert.ThrowsAsync<QueueFullException>(() => host.Executor.InvokeAsync("f", "3").AsTask());
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued.WaitAsync(HangGuard));
        release.SetResult();
        await running.WaitAsync(HangGuard);

        var counts = count.GetMeasurementSnapshot();
        Assert.Equal(3, counts.Count);
        Assert.Single(counts, m => m.ContainsTags(Tags("f", "none", "queue_full")));
        Assert.Single(counts, m => m.ContainsTags(Tags("f", "none", "cancelled")));
        Assert.Single(counts, m => m.ContainsTags(Tags("f", "cold", "success")));
        var queueChanges = queue.GetMeasurementSnapshot();
        Assert.Equal([1L, -1L], queueChanges.Select(m => m.Value));
        Assert.All(queueChanges, m => Assert.True(m.MatchesTags(new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.FunctionNameTag, "f"))));
    }

    [Fact]
    public async Task Invocations_ProviderCannotCreate_RecordProviderErrorWithoutStartKind()
    {
        await using var host = CreateHost(b => b.AddFunction("f", TestHost.Noop));
        host.Provider.OnCreate = (_, _) => throw new InvalidOperationException("no capacity on host");
        using var count = Collect<long>(host, OnDemandExecutionDiagnostics.Invocations);
        using var created = Collect<long>(host, OnDemandExecutionDiagnostics.InstancesCreated);

        await Assert.ThrowsAsync<InstanceProviderException>(() => host.Executor.InvokeAsync("f", "1").AsTask());

        Assert.True(Assert.Single(count.GetMeasurementSnapshot()).ContainsTags(Tags("f", "none", "provider_error")));
        Assert.Empty(created.GetMeasurementSnapshot());
    }

    [Fact]
    public async Task InstanceCounters_ColdStartThenDeath_RecordCreatedAndDestroyedWithProviderAndReason()
    {
        await using var host = CreateHost(b => b.AddFunction("f", TestHost.Noop));
        host.Provider.OnInvoke = (_, _, _) => throw new InstanceDiedException("gone");
        using var created = Collect<long>(host, OnDemandExecutionDiagnostics.InstancesCreated);
        using var destroyed = Collect<long>(host, OnDemandExecutionDiagnostics.InstancesDestroyed);
        using var start = Collect<double>(host, OnDemandExecutionDiagnostics.StartDuration);

        await Assert.ThrowsAsync<InstanceDiedException>(() => host.Executor.InvokeAsync("f", "1").AsTask());

        var c = Assert.Single(created.GetMeasurementSnapshot());
        Assert.True(c.MatchesTags(new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.ProviderTag, "fake")));
        var d = Assert.Single(destroyed.GetMeasurementSnapshot());
        Assert.True(d.MatchesTags(
            new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.ProviderTag, "fake"),
            new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.ReasonTag, "died")));
        Assert.True(Assert.Single(start.GetMeasurementSnapshot()).MatchesTags(new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.StartKindTag, "cold")));
    }

    [Fact]
    public async Task PoolSizeGauge_InstancesInEachState_ObservesEveryState()
    {
        // Functions needing more memory than warm instances always start cold, so the warming pool stays at one.
        await using var host = CreateHost(
            b => b.AddFunction("idle", TestHost.Noop, f => f with { MemoryMb = 512 })
                .AddFunction("busy", TestHost.Noop, f => f with { MemoryMb = 512 })
                .AddFunction("starting", TestHost.Noop, f => f with { MemoryMb = 1024 }),
            o => o.WarmingPoolSize = 1);
        await host.Pools.PrewarmAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Provider.OnInvoke = async (_, r, _) =>
        {
            if (r.FunctionName == "busy")
            {
                await release.Task;
            }

            return ReadOnlyMemory<byte>.Empty;
        };
        host.Provider.OnCreate = async (spec, _) =>
        {
            if (spec.MemoryMb == 1024)
            {
                await release.Task;
            }
        };
        using var gauge = Collect<long>(host, OnDemandExecutionDiagnostics.PoolSize);

        await host.Executor.InvokeAsync("idle", "1");
        var busy = host.Executor.InvokeAsync("busy", "1").AsTask();
        var starting = host.Executor.InvokeAsync("starting", "1").AsTask();
        gauge.RecordObservableInstruments();

        var observed = gauge.GetMeasurementSnapshot().ToDictionary(m => (string)m.Tags[OnDemandExecutionDiagnostics.StateTag]!, m => m.Value);
        Assert.Equal(1, observed["warm"]);
        Assert.Equal(1, observed["idle"]);
        Assert.Equal(1, observed["busy"]);
        Assert.Equal(1, observed["provisioning"]);
        Assert.Equal(0, observed["recycling"]);
        Assert.Equal(0, observed["assigned"]);
        Assert.Equal(host.Pools.GetSnapshot().Live, observed.Values.Sum());

        release.SetResult();
        await Task.WhenAll(busy, starting).WaitAsync(HangGuard);
        gauge.RecordObservableInstruments();
        var after = gauge.GetMeasurementSnapshot(clear: true).TakeLast(6).ToDictionary(m => (string)m.Tags[OnDemandExecutionDiagnostics.StateTag]!, m => m.Value);
        Assert.Equal(3, after["idle"]);
        Assert.Equal(0, after["busy"]);
        Assert.Equal(0, after["provisioning"]);
    }

    [Fact]
    public async Task InvokeSpan_SuccessfulColdStart_HasTagsAndCreateAndLoadChildren()
    {
        var name = "span-ok-" + Guid.NewGuid().ToString("N");
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = Listen(stopped);
        await using var host = CreateHost(b => b.AddFunction(name, TestHost.Noop));

        var result = await host.Executor.InvokeAsync(name, "x", new TenantId("acme"));

        var invoke = Assert.Single(stopped, a => a.OperationName == OnDemandExecutionDiagnostics.InvokeActivity && HasFunction(a, name));
        Assert.Equal("acme", invoke.GetTagItem(OnDemandExecutionDiagnostics.TenantTag));
        Assert.Equal("cold", invoke.GetTagItem(OnDemandExecutionDiagnostics.StartKindTag));
        Assert.Equal("success", invoke.GetTagItem(OnDemandExecutionDiagnostics.OutcomeTag));
        Assert.Equal(result.InstanceId, invoke.GetTagItem(OnDemandExecutionDiagnostics.InstanceTag));
        Assert.Equal(result.InvocationId, invoke.GetTagItem(OnDemandExecutionDiagnostics.InvocationIdTag));
        Assert.NotEqual(ActivityStatusCode.Error, invoke.Status);
        var children = stopped.Where(a => a.ParentSpanId == invoke.SpanId && a.TraceId == invoke.TraceId).ToList();
        var create = Assert.Single(children, a => a.OperationName == OnDemandExecutionDiagnostics.CreateInstanceActivity);
        Assert.Equal(result.InstanceId, create.GetTagItem(OnDemandExecutionDiagnostics.InstanceTag));
        Assert.Equal("fake", create.GetTagItem(OnDemandExecutionDiagnostics.ProviderTag));
        var load = Assert.Single(children, a => a.OperationName == OnDemandExecutionDiagnostics.LoadActivity);
        Assert.True(HasFunction(load, name));
    }

    [Fact]
    public async Task InvokeSpan_FunctionFails_HasErrorStatusAndOutcome()
    {
        var name = "span-fail-" + Guid.NewGuid().ToString("N");
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = Listen(stopped);
        await using var host = CreateHost(b => b.AddFunction(name, TestHost.Noop));
        host.Provider.OnInvoke = (_, _, _) => throw new FunctionExecutionException("user code failed");

        await Assert.ThrowsAsync<FunctionExecutionException>(() => host.Executor.InvokeAsync(name, "x").AsTask());

        var invoke = Assert.Single(stopped, a => a.OperationName == OnDemandExecutionDiagnostics.InvokeActivity && HasFunction(a, name));
        Assert.Equal(ActivityStatusCode.Error, invoke.Status);
        Assert.Equal("user code failed", invoke.StatusDescription);
        Assert.Equal("function_error", invoke.GetTagItem(OnDemandExecutionDiagnostics.OutcomeTag));
        Assert.Equal("default", invoke.GetTagItem(OnDemandExecutionDiagnostics.TenantTag));
    }

    private static TestHost CreateHost(Action<IOnDemandExecutionBuilder> configure, Action<OnDemandExecutionOptions>? options = null) =>
        TestHost.Create(options, b =>
        {
            b.Services.AddMetrics();
            configure(b);
        });

    private static MetricCollector<T> Collect<T>(TestHost host, string instrument)
        where T : struct =>
        new(host.Services.GetRequiredService<IMeterFactory>(), OnDemandExecutionDiagnostics.Name, instrument);

    private static KeyValuePair<string, object?>[] Tags(string function, string startKind, string outcome) =>
    [
        new(OnDemandExecutionDiagnostics.FunctionNameTag, function),
        new(OnDemandExecutionDiagnostics.StartKindTag, startKind),
        new(OnDemandExecutionDiagnostics.OutcomeTag, outcome),
    ];

    private static bool HasFunction(Activity activity, string name) =>
        Equals(activity.GetTagItem(OnDemandExecutionDiagnostics.FunctionNameTag), name);

    private static ActivityListener Listen(ConcurrentQueue<Activity> stopped)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == OnDemandExecutionDiagnostics.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }
}
