using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Platform;

/// <summary>The health check on fake time, through DI and <see cref="HealthCheckService"/>.</summary>
public class HealthCheckTests
{
    [Fact]
    public async Task FreshPoolsWithFullWarmingPool_AreHealthy()
    {
        await using var host = Create(o => o.WarmingPoolSize = 2);
        await host.Pools.RunMaintenanceAsync();

        var report = await CheckAsync(host);

        Assert.Equal(HealthStatus.Healthy, report.Status);
        Assert.True(report.Entries["ondemand-execution"].Data.ContainsKey("default"));
    }

    [Fact]
    public async Task WarmingPoolBelowTarget_IsDegradedOnlyAfterItStayedBelowForTheThreshold()
    {
        await using var host = Create(o =>
        {
            o.WarmingPoolSize = 2;
            o.MaxInstances = 2;
        });
        await host.Pools.RunMaintenanceAsync();
        Assert.Equal(2, host.Pools.GetSnapshot().Warm);

        // Two tenants take both warm instances; they stay idle (kept alive), and the refill never evicts them: no room.
        await host.Executor.InvokeAsync("f", "x", new TenantId("a"));
        await host.Executor.InvokeAsync("f", "x", new TenantId("b"));
        await host.Pools.RunMaintenanceAsync();
        Assert.Equal(0, host.Pools.GetSnapshot().Warm);
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host)).Status);

        host.Time.Advance(TimeSpan.FromSeconds(29));
        await host.Pools.RunMaintenanceAsync();
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host)).Status);

        host.Time.Advance(TimeSpan.FromSeconds(1));
        await host.Pools.RunMaintenanceAsync();
        var report = await CheckAsync(host);
        Assert.Equal(HealthStatus.Degraded, report.Status);
        Assert.Contains("below its target", report.Entries["ondemand-execution"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WarmingPoolRefilled_IsHealthyAgain()
    {
        var failing = true;
        await using var host = Create(o => o.WarmingPoolSize = 1);
        host.Provider.OnCreate = (_, _) => failing ? throw new InvalidOperationException("no capacity") : ValueTask.CompletedTask;
        await host.Pools.RunMaintenanceAsync();
        host.Time.Advance(TimeSpan.FromMinutes(1));
        await host.Pools.RunMaintenanceAsync();
        Assert.NotEqual(HealthStatus.Healthy, (await CheckAsync(host)).Status);

        failing = false;
        await host.Pools.RunMaintenanceAsync();

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host)).Status);
    }

    [Fact]
    public async Task CreatesKeepFailing_WhileInstancesRemain_IsDegraded()
    {
        var failing = false;
        await using var host = Create(o => o.WarmingPoolSize = 0);
        host.Provider.OnCreate = (_, _) => failing ? throw new InvalidOperationException("quota exceeded") : ValueTask.CompletedTask;
        await host.Executor.InvokeAsync("f", "x", new TenantId("a")); // one instance stays idle
        failing = true;

        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<InstanceProviderException>(() => host.Executor.InvokeAsync("f", "x", new TenantId("b" + i)).AsTask());
        }

        await host.Pools.RunMaintenanceAsync();
        var report = await CheckAsync(host);
        Assert.Equal(HealthStatus.Degraded, report.Status);
        Assert.Contains("quota exceeded", report.Entries["ondemand-execution"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProviderCannotCreateAnything_IsUnhealthy()
    {
        await using var host = Create(o => o.WarmingPoolSize = 0);
        host.Provider.OnCreate = (_, _) => throw new InvalidOperationException("hypervisor gone");

        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<InstanceProviderException>(() => host.Executor.InvokeAsync("f", "x").AsTask());
        }

        await host.Pools.RunMaintenanceAsync();
        var report = await CheckAsync(host);
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Contains("cannot create", report.Entries["ondemand-execution"].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OneCreateSucceeding_ResetsTheFailureCount()
    {
        var failing = true;
        await using var host = Create(o => o.WarmingPoolSize = 0);
        host.Provider.OnCreate = (_, _) => failing ? throw new InvalidOperationException("flaky") : ValueTask.CompletedTask;
        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<InstanceProviderException>(() => host.Executor.InvokeAsync("f", "x").AsTask());
        }

        failing = false;
        await host.Executor.InvokeAsync("f", "x");
        await host.Pools.RunMaintenanceAsync();

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host)).Status);
    }

    [Fact]
    public async Task MaintenanceLate_IsDegradedAfterTheConfiguredIntervals()
    {
        await using var host = Create(o => o.MaintenanceInterval = TimeSpan.FromSeconds(10), h => h.MaintenanceLateIntervals = 3);
        await host.Pools.RunMaintenanceAsync();

        host.Time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host)).Status);

        host.Time.Advance(TimeSpan.FromSeconds(1));
        var report = await CheckAsync(host);
        Assert.Equal(HealthStatus.Degraded, report.Status);
        Assert.Contains("no maintenance pass", report.Entries["ondemand-execution"].Description, StringComparison.Ordinal);

        await host.Pools.RunMaintenanceAsync();
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host)).Status);
    }

    [Fact]
    public async Task MaintenanceNeverRan_IsDegradedOnceTheIntervalsPassSinceStart()
    {
        await using var host = Create(o => o.MaintenanceInterval = TimeSpan.FromSeconds(1));
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host)).Status);

        host.Time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal(HealthStatus.Degraded, (await CheckAsync(host)).Status);
    }

    [Fact]
    public async Task SecondProviderFailing_MakesTheCheckUnhealthyAndNamesIt()
    {
        var sandbox = new FakeInstanceProvider { OnCreate = (_, _) => throw new InvalidOperationException("no kvm") };
        await using var host = Create(configure: b => b
            .AddProvider("sandbox", _ => sandbox)
            .AddFunction(new FunctionDefinition("g", new ProgramFunctionCode("cat")) { ProviderName = "sandbox" }));
        await host.Pools.RunMaintenanceAsync();
        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<InstanceProviderException>(() => host.Executor.InvokeAsync("g", "x").AsTask());
        }

        await host.Executor.InvokeAsync("f", "x");
        await host.Services.GetRequiredKeyedService<IInstancePoolManager>("sandbox").RunMaintenanceAsync();

        var entry = (await CheckAsync(host)).Entries["ondemand-execution"];
        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("provider 'sandbox'", entry.Description, StringComparison.Ordinal);
        Assert.DoesNotContain("provider 'default'", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidThresholds_FailValidationNamingTheOption()
    {
        await using var host = Create(health: h => h.MaintenanceLateIntervals = 0);

        var ex = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<OnDemandExecutionHealthCheckOptions>>().Value);

        Assert.Contains("OnDemandExecutionHealthCheckOptions.MaintenanceLateIntervals must be at least 1 (was 0)", ex.Message, StringComparison.Ordinal);
    }

    private static TestHost Create(Action<OnDemandExecutionOptions>? options = null, Action<OnDemandExecutionHealthCheckOptions>? health = null, Action<IOnDemandExecutionBuilder>? configure = null) =>
        TestHost.Create(options, b =>
        {
            b.Services.AddLogging();
            b.Services.AddHealthChecks().AddOnDemandExecutionHealthChecks(health);
            b.AddFunction("f", TestHost.Noop);
            configure?.Invoke(b);
        });

    private static Task<HealthReport> CheckAsync(TestHost host) => host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
}
