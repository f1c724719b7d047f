using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.TestingHost;
using OnDemandExecution.Orleans.Hosting;
using OnDemandExecution.Orleans.Routing;

namespace OnDemandExecution.Orleans.Tests;

/// <summary>
/// An in-process Orleans cluster whose silos each run the single-host library with its own in-process provider, joined
/// by UseOnDemandExecutionCluster. Reports are exchanged only when a test says so (<see cref="SyncAsync"/>), so views are
/// exactly as stale as the test makes them.
/// </summary>
public sealed class ClusterHarness : IAsyncDisposable
{
    /// <summary>Calls whose payload is "hold" wait for this gate (shared by every silo: they run in this process).</summary>
    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public InProcessTestCluster Cluster { get; }

    public static readonly TenantId Acme = new("acme");

    private ClusterHarness(InProcessTestCluster cluster) => Cluster = cluster;

    public static async Task<ClusterHarness> StartAsync(int silos, int warmingPool = 1, bool preTriggers = false, Microsoft.Extensions.Caching.Distributed.IDistributedCache? sharedResults = null, SharedGrainStorage? sharedHistory = null)
    {
        ClusterHarness? harness = null;
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSilo((options, silo) =>
        {
            if (sharedResults is not null)
            {
                // Idempotent results in one cache that every silo shares (Redis or SQL Server across machines).
                var siloName = options.SiloName;
                silo.Services.AddSingleton(sharedResults);
                silo.Services.AddOnDemandExecution()
                    .AddFunction("quote", (ctx, ct) => new ValueTask<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes($"{siloName}:{ctx.Tenant}:{Encoding.UTF8.GetString(ctx.Payload.Span)}")), d => d with { Idempotency = new IdempotencyDefinition() })
                    .UseDistributedIdempotencyCache();
            }

            silo.Services.AddOnDemandExecution(o =>
                {
                    o.WarmingPoolSize = warmingPool;
                    o.MaintenanceInterval = TimeSpan.FromMilliseconds(200);
                })
                .AddFunction("echo", async (ctx, ct) =>
                {
                    if (Encoding.UTF8.GetString(ctx.Payload.Span) == "hold")
                    {
                        await harness!.Gate.Task.WaitAsync(ct);
                    }

                    return ctx.Payload;
                })
                .AddFunction("invoice", (ctx, ct) => new ValueTask<ReadOnlyMemory<byte>>(ctx.Payload), d => d with { KeepAlive = TimeSpan.FromMilliseconds(1) });
            if (preTriggers)
            {
                silo.Services.AddLogging(l => l.AddFakeLogging().SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Debug));
                silo.Services.AddOnDemandExecution().AddPreTriggers(o =>
                {
                    o.ObservationWindow = TimeSpan.FromSeconds(3);
                    o.MinimumLift = 1;
                    o.PreloadLead = TimeSpan.Zero;
                    o.GraceWindow = TimeSpan.FromSeconds(30);
                });
            }

            if (sharedHistory is not null)
            {
                // The pre-trigger history in grains, persisted to storage that outlives every silo (a database's role).
                silo.Services.AddKeyedSingleton<global::Orleans.Storage.IGrainStorage>(
                    ClusterPreTriggerHistoryOptions.DefaultStorageName,
                    (sp, _) => sharedHistory.View(sp.GetRequiredService<global::Orleans.Serialization.DeepCopier>()));
                silo.UseClusterPreTriggerHistory(o => o.IndexWriteInterval = TimeSpan.Zero);
            }

            silo.UseOnDemandExecutionCluster(o => o.PublishInterval = Timeout.InfiniteTimeSpan);
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 1;
                o.NumVotesForDeathDeclaration = 1;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(1);
                o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(1);
            });
        });
        harness = new ClusterHarness(builder.Build());
        await harness.Cluster.DeployAsync();
        return harness;
    }

    public IReadOnlyList<InProcessSiloHandle> Silos => Cluster.Silos;

    public static IServiceProvider Services(InProcessSiloHandle silo) => silo.ServiceProvider;

    public static IClusterFunctionExecutor Executor(InProcessSiloHandle silo) => silo.ServiceProvider.GetRequiredService<IClusterFunctionExecutor>();

    internal static LocalHost Host(InProcessSiloHandle silo) => silo.ServiceProvider.GetRequiredService<LocalHost>();

    internal static ClusterCapacityView View(InProcessSiloHandle silo) => silo.ServiceProvider.GetRequiredService<ClusterCapacityView>();

    public static FunctionDefinition Function(InProcessSiloHandle silo, string name) =>
        silo.ServiceProvider.GetRequiredService<IFunctionCatalog>().TryGetFunction(name, out var d) ? d : throw new InvalidOperationException(name);

    /// <summary>Every silo publishes, then every silo pulls: all views show every host's current capacity.</summary>
    public async Task SyncAsync()
    {
        foreach (var silo in Silos.Where(s => s.IsActive))
        {
            await silo.ServiceProvider.GetRequiredService<CapacityPublisher>().ExchangeAsync(force: true);
        }

        foreach (var silo in Silos.Where(s => s.IsActive))
        {
            await silo.ServiceProvider.GetRequiredService<CapacityPublisher>().ExchangeAsync(force: false);
        }
    }

    /// <summary>Preloads <paramref name="count"/> instances of a function on one silo's own pools.</summary>
    public static async Task<int> PreloadAsync(InProcessSiloHandle silo, string function, int count, TenantId tenant) =>
        await Host(silo).Pools.PreloadAsync(Function(silo, function), tenant, count, TimeSpan.FromMinutes(10));

    public static long Idle(InProcessSiloHandle silo, string function, TenantId tenant) =>
        Host(silo).Pools.GetActivePools().Where(p => p.Tenant == tenant && p.Function == function).Sum(p => p.Idle);

    /// <summary>Waits (a bounded number of polls) for a condition that other silos make true; fails the test if it never does.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, int polls = 600)
    {
        for (var i = 0; i < polls; i++)
        {
            if (condition())
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"Never happened: {what}");
    }

    public static InvocationRequest Call(string function, string payload, TenantId tenant) => new(function, Encoding.UTF8.GetBytes(payload), tenant);

    public async ValueTask DisposeAsync()
    {
        Gate.TrySetResult();
        await Cluster.DisposeAsync();
    }
}
