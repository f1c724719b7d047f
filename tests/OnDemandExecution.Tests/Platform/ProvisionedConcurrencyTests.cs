using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Platform;

public class ProvisionedConcurrencyTests
{
    private static readonly TenantId A = new("tenant-a");
    private static readonly TenantId B = new("tenant-b");

    // 2026-01-05 is a Monday.
    private static readonly DateTimeOffset MondayMorning = new(2026, 1, 5, 7, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Maintenance_LoadsTheFloorForEachTenant_AndCallsAreWarmHits()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop, f => f with
        {
            ProvisionedConcurrency = new ProvisionedConcurrency(2) { Tenants = [A, B] },
        }));

        await host.Pools.RunMaintenanceAsync();

        var snapshot = host.Pools.GetSnapshot();
        Assert.Equal(4, snapshot.Idle);
        Assert.Equal(4, snapshot.Provisioned);
        Assert.All(host.Pools.GetActivePools(), p => Assert.Equal(2, p.Idle));
        var result = await host.Executor.InvokeAsync("f", "x", A);
        Assert.Equal(StartKind.Warm, result.StartKind);
        Assert.Equal(4, host.Provider.Created);
    }

    [Fact]
    public async Task ProvisionedInstances_NeverExpire_WhileOnDemandOnesDo()
    {
        await using var host = TestHost.Create(
            o => o.KeepAlive = TimeSpan.FromMinutes(1),
            b => b.AddFunction("f", TestHost.Noop, f => f with { ProvisionedConcurrency = new ProvisionedConcurrency(1) }));
        await host.Pools.RunMaintenanceAsync();
        var provisioned = Assert.Single(host.Provider.Instances.Values);

        // Two overlapping calls: one on the provisioned instance, one on an on-demand instance started for it.
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Provider.OnInvoke = async (_, _, ct) =>
        {
            await hold.Task.WaitAsync(ct);
            return ReadOnlyMemory<byte>.Empty;
        };
        var calls = new[] { host.Executor.InvokeAsync("f", "1").AsTask(), host.Executor.InvokeAsync("f", "2").AsTask() };
        while (host.Pools.GetSnapshot().Busy < 2)
        {
            await Task.Yield();
        }

        hold.SetResult();
        await Task.WhenAll(calls);
        Assert.Equal(2, host.Pools.GetSnapshot().Idle);

        host.Time.Advance(TimeSpan.FromHours(1));
        await host.Pools.RunMaintenanceAsync();

        var snapshot = host.Pools.GetSnapshot();
        Assert.Equal(1, snapshot.Idle);
        Assert.Equal(1, snapshot.Provisioned);
        Assert.False(provisioned.IsDisposed);
        Assert.Equal(2, host.Provider.Created);
    }

    [Fact]
    public async Task ProvisionedInstance_IsNeverEvictedForAnotherFunctionsColdStart()
    {
        await using var host = TestHost.Create(
            o => o.MaxInstances = 1,
            b => b.AddFunction("f", TestHost.Noop, f => f with { ProvisionedConcurrency = new ProvisionedConcurrency(1) })
                .AddFunction("g", TestHost.Noop));
        await host.Pools.RunMaintenanceAsync();

        await Assert.ThrowsAsync<InstanceCapacityExceededException>(() => host.Executor.InvokeAsync("g", "x").AsTask());

        Assert.Equal(1, host.Pools.GetSnapshot().Provisioned);
        Assert.Equal(StartKind.Warm, (await host.Executor.InvokeAsync("f", "x")).StartKind);
    }

    [Fact]
    public async Task OnDemandIdleInstance_IsStillEvictedForAColdStart()
    {
        await using var host = TestHost.Create(
            o => (o.MaxInstances, o.MaxInstancesPerTenant) = (2, 2),
            b => b.AddFunction("f", TestHost.Noop, f => f with { ProvisionedConcurrency = new ProvisionedConcurrency(1) })
                .AddFunction("g", TestHost.Noop)
                .AddFunction("h", TestHost.Noop));
        await host.Pools.RunMaintenanceAsync();
        var f = Assert.Single(host.Provider.Instances.Values);
        host.Time.Advance(TimeSpan.FromSeconds(1));
        await host.Executor.InvokeAsync("g", "x");

        // h needs room: g's on-demand instance is evicted although f's provisioned one was used less recently.
        Assert.Equal(StartKind.Cold, (await host.Executor.InvokeAsync("h", "x")).StartKind);

        Assert.False(f.IsDisposed);
        Assert.Equal(1, host.Provider.Disposed);
    }

    [Fact]
    public async Task Schedule_FloorFollowsTheWindowOnTheTimeProvider()
    {
        var window = new ProvisionedWindow(new TimeOnly(8, 0), new TimeOnly(18, 0))
        {
            Days = [DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday],
        };
        await using var host = TestHost.Create(
            o => o.KeepAlive = TimeSpan.FromMinutes(5),
            b => b.AddFunction("f", TestHost.Noop, f => f with { ProvisionedConcurrency = new ProvisionedConcurrency(3) { Schedule = [window] } }));
        host.Time.SetUtcNow(MondayMorning);

        await host.Pools.RunMaintenanceAsync();
        Assert.Equal(0, host.Pools.GetSnapshot().Live);

        host.Time.Advance(TimeSpan.FromHours(1)); // 08:00: the window opens
        await host.Pools.RunMaintenanceAsync();
        Assert.Equal(3, host.Pools.GetSnapshot().Provisioned);
        Assert.Equal(3, host.Pools.GetSnapshot().Idle);

        host.Time.Advance(TimeSpan.FromHours(10)); // 18:00: closed; the instances become on-demand...
        await host.Pools.RunMaintenanceAsync();
        Assert.Equal(0, host.Pools.GetSnapshot().Provisioned);
        Assert.Equal(3, host.Pools.GetSnapshot().Idle);

        host.Time.Advance(TimeSpan.FromMinutes(5)); // ...and expire with the keep-alive
        await host.Pools.RunMaintenanceAsync();
        Assert.Equal(0, host.Pools.GetSnapshot().Live);

        host.Time.SetUtcNow(new DateTimeOffset(2026, 1, 10, 9, 0, 0, TimeSpan.Zero)); // Saturday 09:00: no window
        await host.Pools.RunMaintenanceAsync();
        Assert.Equal(0, host.Pools.GetSnapshot().Live);
    }

    [Fact]
    public async Task ProvisionedInstanceThatDied_IsReplacedAtTheNextPass()
    {
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop, f => f with { ProvisionedConcurrency = new ProvisionedConcurrency(1) }));
        await host.Pools.RunMaintenanceAsync();
        host.Provider.OnInvoke = (i, _, _) => throw new InstanceDiedException("gone") { InstanceId = i.Id };

        await Assert.ThrowsAsync<InstanceDiedException>(() => host.Executor.InvokeAsync("f", "x").AsTask());
        Assert.Equal(0, host.Pools.GetSnapshot().Provisioned);
        await host.Pools.RunMaintenanceAsync();

        Assert.Equal(1, host.Pools.GetSnapshot().Provisioned);
        Assert.Equal(2, host.Provider.Created);
        Assert.Equal(1, host.Provider.Live);
    }

    [Fact]
    public async Task NoKeepAlivePolicy_RetiresOnDemandInstancesButKeepsTheFloor()
    {
        await using var host = TestHost.Create(configure: b => b
            .AddFunction("f", TestHost.Noop, f => f with { ProvisionedConcurrency = new ProvisionedConcurrency(1) })
            .UseNoKeepAlive());
        await host.Pools.RunMaintenanceAsync();

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(StartKind.Warm, (await host.Executor.InvokeAsync("f", "x")).StartKind);
        }

        Assert.Equal(1, host.Pools.GetSnapshot().Idle);
        Assert.Equal(1, host.Provider.Created);
    }

    [Fact]
    public async Task IdleOnDemandInstances_AreAdoptedIntoTheFloorBeforeNewOnesAreLoaded()
    {
        FunctionDefinition? f = null;
        await using var host = TestHost.Create(configure: b => b.AddFunction("f", TestHost.Noop));
        await host.Executor.InvokeAsync("f", "x");
        Assert.True(host.Catalog.TryGetFunction("f", out f));

        host.PoolManager.TrackProvisioned(f with { ProvisionedConcurrency = new ProvisionedConcurrency(2) });
        await host.Pools.RunMaintenanceAsync();

        Assert.Equal(2, host.Pools.GetSnapshot().Provisioned);
        Assert.Equal(2, host.Provider.Created); // one adopted, one loaded
    }

    [Fact]
    public async Task ProvisionedGauge_CountsTheFloorSeparatelyFromOnDemandInstances()
    {
        await using var host = TestHost.Create(configure: b =>
        {
            b.Services.AddMetrics();
            b.AddFunction("f", TestHost.Noop, f => f with { ProvisionedConcurrency = new ProvisionedConcurrency(2) })
                .AddFunction("g", TestHost.Noop);
        });
        await host.Pools.RunMaintenanceAsync();
        await host.Executor.InvokeAsync("g", "x");
        using var provisioned = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), OnDemandExecutionDiagnostics.Name, OnDemandExecutionDiagnostics.PoolProvisioned);
        using var size = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), OnDemandExecutionDiagnostics.Name, OnDemandExecutionDiagnostics.PoolSize);

        provisioned.RecordObservableInstruments();
        size.RecordObservableInstruments();

        Assert.Equal(2, provisioned.LastMeasurement?.Value);
        Assert.Equal(3, size.GetMeasurementSnapshot().Where(m => Equals(m.Tags[OnDemandExecutionDiagnostics.StateTag], "idle")).Sum(m => m.Value));
    }

    [Fact]
    public async Task Register_FloorsAboveTheProvidersMaxInstances_IsRejectedNamingTheOption()
    {
        await using var host = TestHost.Create(o => o.MaxInstances = 5, b => b.AddFunction("f", TestHost.Noop, f => f with { ProvisionedConcurrency = new ProvisionedConcurrency(2) { Tenants = [A, B] } }));

        var ex = Assert.Throws<ArgumentException>(() => host.Catalog.Register(new FunctionDefinition("g", new DelegateFunctionCode(TestHost.Noop)) { ProvisionedConcurrency = new ProvisionedConcurrency(2) }));

        Assert.Contains("ProvisionedConcurrency", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxInstances (5)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_FloorAboveThePerTenantLimit_IsRejectedNamingTheOption()
    {
        await using var host = TestHost.Create(o => (o.MaxInstances, o.MaxInstancesPerTenant) = (10, 2));

        var ex = Assert.Throws<ArgumentException>(() => host.Catalog.Register(new FunctionDefinition("g", new DelegateFunctionCode(TestHost.Noop)) { ProvisionedConcurrency = new ProvisionedConcurrency(3) }));

        Assert.Contains("MaxInstancesPerTenant", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_DuplicateTenants_IsRejected()
    {
        await using var host = TestHost.Create();
        Assert.Throws<ArgumentException>(() => host.Catalog.Register(new FunctionDefinition("g", new DelegateFunctionCode(TestHost.Noop)) { ProvisionedConcurrency = new ProvisionedConcurrency(1) { Tenants = [A, A] } }));
    }

    [Fact]
    public void ProvisionedConcurrency_BadArguments_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProvisionedConcurrency(-1));
        Assert.Throws<ArgumentException>(() => new ProvisionedWindow(new TimeOnly(8, 0), new TimeOnly(8, 0)));
    }

    [Theory]
    [InlineData("2026-01-05T22:30:00Z", true)]  // Monday night: opened Monday
    [InlineData("2026-01-06T05:59:00Z", true)]  // Tuesday morning: still Monday's window
    [InlineData("2026-01-06T06:00:00Z", false)] // closed
    [InlineData("2026-01-05T05:00:00Z", false)] // Monday morning: Sunday did not open one
    [InlineData("2026-01-10T23:00:00Z", false)] // Saturday: not an opening day
    public void Window_PastMidnight_BelongsToTheDayItOpened(string at, bool open)
    {
        var window = new ProvisionedWindow(new TimeOnly(22, 0), new TimeOnly(6, 0)) { Days = [DayOfWeek.Monday, DayOfWeek.Tuesday] };
        Assert.Equal(open, window.Contains(DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture)));
    }
}
