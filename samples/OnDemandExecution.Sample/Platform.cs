using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OnDemandExecution;

namespace OnDemandExecution.Sample;

/// <summary>
/// The platform features: a second provider beside the default one (here a second in-process provider standing in for
/// KVM or OCI, so the sample runs anywhere), a function with provisioned concurrency on it, and the health check.
/// </summary>
internal static class Platform
{
    public const string SandboxProvider = "tenant-sandbox";
    public const string ScriptFunction = "tenant-script";
    public const string CheckoutFunction = "checkout";
    public const int Floor = 2;

    public static IOnDemandExecutionBuilder AddPlatformFunctions(this IOnDemandExecutionBuilder builder, TenantId floorTenant)
    {
        builder.Services.AddHealthChecks().AddOnDemandExecutionHealthChecks();
        return builder
            .AddInProcessProvider(SandboxProvider, pool =>
            {
                pool.WarmingPoolSize = 1;
                pool.MaxInstances = 12;
                pool.KeepAlive = TimeSpan.FromSeconds(2);
            })
            .AddFunction(ScriptFunction, ScriptAsync, f => f with { ProviderName = SandboxProvider })
            .AddFunction(CheckoutFunction, CheckoutAsync, f => f with
            {
                ProviderName = SandboxProvider,
                KeepAlive = TimeSpan.FromMilliseconds(1), // on-demand instances go at once: only the floor stays
                ProvisionedConcurrency = new ProvisionedConcurrency(Floor) { Tenants = [floorTenant] },
            });
    }

    public static async Task<PlatformReport> RunAsync(IServiceProvider services, IReadOnlyList<TenantId> tenants, TenantId floorTenant)
    {
        var executor = services.GetRequiredService<IFunctionExecutor>();
        var defaultPools = services.GetRequiredService<IInstancePoolManager>();
        var sandbox = services.GetRequiredKeyedService<IInstancePoolManager>(SandboxProvider);
        var report = new PlatformReport();

        // One pass by hand so the floor is loaded before the calls (the hosted service keeps it up in the background).
        await sandbox.RunMaintenanceAsync();
        report.FloorBefore = sandbox.GetSnapshot().Provisioned;

        for (var round = 0; round < 3; round++)
        {
            foreach (var tenant in tenants)
            {
                report.ScriptOutputsOk &= (await executor.InvokeAsync(ScriptFunction, "x", tenant)).OutputAsString() == $"sandboxed:{tenant}";
            }
        }

        for (var i = 0; i < 6; i++)
        {
            var kind = (await executor.InvokeAsync(CheckoutFunction, "cart", floorTenant)).StartKind;
            report.CheckoutStarts[kind] = report.CheckoutStarts.GetValueOrDefault(kind) + 1;
        }

        report.FloorAfter = sandbox.GetSnapshot().Provisioned;
        report.SandboxFunctions = sandbox.GetActivePools().Select(p => p.Function).Distinct().Order(StringComparer.Ordinal).ToArray();
        report.DefaultHoldsSandboxFunctions = defaultPools.GetActivePools().Any(p => p.Function is ScriptFunction or CheckoutFunction);
        report.SandboxSnapshot = sandbox.GetSnapshot();
        var health = await services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        report.Health = health.Status;
        report.HealthDescription = health.Entries.Values.FirstOrDefault().Description ?? string.Empty;
        return report;
    }

    private static ValueTask<ReadOnlyMemory<byte>> ScriptAsync(FunctionContext context, CancellationToken cancellationToken) =>
        new(Encoding.UTF8.GetBytes($"sandboxed:{context.Tenant}"));

    private static ValueTask<ReadOnlyMemory<byte>> CheckoutAsync(FunctionContext context, CancellationToken cancellationToken) =>
        new(Encoding.UTF8.GetBytes("ok"));
}

/// <summary>What the platform phase observed.</summary>
internal sealed class PlatformReport
{
    public long FloorBefore { get; set; }

    public long FloorAfter { get; set; }

    public bool ScriptOutputsOk { get; set; } = true;

    public Dictionary<StartKind, int> CheckoutStarts { get; } = [];

    public string[] SandboxFunctions { get; set; } = [];

    public bool DefaultHoldsSandboxFunctions { get; set; }

    public PoolSnapshot SandboxSnapshot { get; set; }

    public HealthStatus Health { get; set; }

    public string HealthDescription { get; set; } = string.Empty;

    /// <summary>Prints the section; true when each feature behaved as it must (behaviour only, never durations).</summary>
    public bool Print(TextWriter w)
    {
        void Line(FormattableString text) => w.WriteLine(FormattableString.Invariant(text).TrimEnd());
        w.WriteLine();
        Line($"Two providers (default in-process, and \"{Platform.SandboxProvider}\" with its own pools) and provisioned concurrency");
        Line($"  {Platform.SandboxProvider} pools: {SandboxSnapshot.Live} live ({SandboxSnapshot.Provisioned} provisioned), created {SandboxSnapshot.Created}; functions held: {string.Join(", ", SandboxFunctions)}");
        Line($"  default pools hold a {Platform.SandboxProvider} function: {(DefaultHoldsSandboxFunctions ? "YES (wrong)" : "no")}");
        Line($"  {Platform.CheckoutFunction}: floor of {Platform.Floor} loaded before the calls: {FloorBefore}, after: {FloorAfter}; 6 calls: {string.Join(", ", CheckoutStarts.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}"))}");
        Line($"  health check: {Health} ({HealthDescription})");

        var providersOk = ScriptOutputsOk && !DefaultHoldsSandboxFunctions
            && SandboxFunctions.SequenceEqual(new[] { Platform.CheckoutFunction, Platform.ScriptFunction });
        var floorOk = FloorBefore == Platform.Floor && FloorAfter == Platform.Floor
            && CheckoutStarts.GetValueOrDefault(StartKind.Warm) == 6;
        var healthOk = Health != HealthStatus.Unhealthy; // degraded may happen on a loaded machine (a late pass); unhealthy may not
        Line($"  platform: providers {(providersOk ? "OK" : "FAILED")}, provisioned {(floorOk ? "OK" : "FAILED")}, health {(healthOk ? "OK" : "FAILED")}");
        return providersOk && floorOk && healthOk;
    }
}
