using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OnDemandExecution.Pooling;
using OnDemandExecution.Tests.TestSupport;
using static OnDemandExecution.Tests.Placement.PlacementTestHost;

namespace OnDemandExecution.Tests.Placement;

public class PlacementTests
{
    private const string Db = "http://orders-db/";
    private static readonly InstanceLocation[] ThreeLocations = [LocA, LocB, LocC];

    [Fact]
    public async Task Acquire_ProfileAboveThreshold_PicksIdleInstanceAtLocationWithBestProbedChannel()
    {
        await using var slow = new LoopbackHttpServer(TimeSpan.FromMilliseconds(60));
        await using var fast = new LoopbackHttpServer(TimeSpan.Zero);
        var function = Fn("orders", (Db, 0.9));
        await using var host = Create(
            o =>
            {
                o.AllowColdStartAtBestLocation = false; // this test is about ranking idle instances (fake cold starts take no time)
                o.ProbeRoutes.Add(new ChannelProbeRoute(LocA, Db, slow.Address));
                o.ProbeRoutes.Add(new ChannelProbeRoute(LocB, Db, fast.Address));
                o.ProbeRoutes.Add(new ChannelProbeRoute(LocC, Db, new Uri($"http://127.0.0.1:{RefusedPort.Get()}/")));
            },
            ThreeLocations,
            functions: function);
        var pool = host.PoolManager;
        await pool.PreloadAsync(function, Tenant, 3, Timeout.InfiniteTimeSpan); // one idle instance at A, B and C
        await ChannelProbeTests.WarmUpHttpAsync(fast.Address, slow.Address);
        for (var round = 0; round < 3; round++)
        {
            await host.Placer().ProbeAllAsync(CancellationToken.None);
        }

        for (var call = 0; call < 3; call++)
        {
            var lease = await pool.AcquireAsync(function, Tenant, CancellationToken.None);
            Assert.Equal(StartKind.Warm, lease.Kind);
            Assert.Equal(LocB, lease.Instance.Location);
            pool.Release(lease.Slot, keep: true, "released");
        }

        // Two concurrent calls: the second best (A, slow but working) before the refused one (C).
        var first = await pool.AcquireAsync(function, Tenant, CancellationToken.None);
        var second = await pool.AcquireAsync(function, Tenant, CancellationToken.None);
        Assert.Equal(LocB, first.Instance.Location);
        Assert.Equal(LocA, second.Instance.Location);
        pool.Release(first.Slot, keep: true, "released");
        pool.Release(second.Slot, keep: true, "released");
        Assert.Equal(3, host.Provider.Created);
    }

    [Fact]
    public async Task WarmHit_WithPlacer_AllocatesNothingPerAcquire_PlacedOrNot()
    {
        var placed = Fn("placed", (Db, 0.9));
        var plain = Fn("plain");
        await using var host = Create(o => o.AllowColdStartAtBestLocation = false, ThreeLocations, functions: [placed, plain]);
        var pool = host.PoolManager;
        await pool.PreloadAsync(placed, Tenant, 3, Timeout.InfiniteTimeSpan);
        await pool.PreloadAsync(plain, Tenant, 3, Timeout.InfiniteTimeSpan);
        Seed(host.Placer(), LocA, 50, LocB, 1, LocC, 200);
        Assert.True(host.Placer().TryGetPlan("placed", out _));
        Assert.False(host.Placer().TryGetPlan("plain", out _));

        const int Hits = 10_000;
        foreach (var function in new[] { placed, plain })
        {
            for (var i = 0; i < 200; i++)
            {
                WarmHit(pool, function); // warm up (tiering, first calls)
            }

            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < Hits; i++)
            {
                WarmHit(pool, function);
            }

            // The smallest object is 24 bytes, so anything allocated per acquire would show as >= 24 bytes a hit; one-time
            // runtime work (tiering, a table growing) may show up once and stays far below that.
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < Hits * 8L, $"{function.Name}: {allocated} bytes for {Hits} warm hits");
        }

        static void WarmHit(PoolManager pool, FunctionDefinition function)
        {
            var acquire = pool.AcquireAsync(function, Tenant, CancellationToken.None);
            if (!acquire.IsCompletedSuccessfully)
            {
                throw new InvalidOperationException("A warm hit completes synchronously.");
            }

            var lease = acquire.Result;
            if (lease.Kind != StartKind.Warm)
            {
                throw new InvalidOperationException($"Expected a warm hit, got {lease.Kind}."); // not Assert.Equal: it allocates
            }

            pool.Release(lease.Slot, keep: true, "released", Timeout.InfiniteTimeSpan);
        }
    }

    [Fact]
    public async Task Acquire_LikelihoodBelowThreshold_LeavesPlacementUnchanged()
    {
        var function = Fn("orders", (Db, 0.2));
        await using var placed = Create(o => o.LikelihoodThreshold = 0.5, ThreeLocations, functions: function);
        await using var plain = Create(_ => { }, ThreeLocations, withPlacer: false, functions: function);
        Seed(placed.Placer(), LocA, 50, LocB, 1, LocC, 200);

        var placedOrder = await AcquireSequence(placed, function);
        var plainOrder = await AcquireSequence(plain, function);

        Assert.False(placed.Placer().TryGetPlan("orders", out _));
        Assert.Equal(plainOrder, placedOrder);
    }

    [Fact]
    public async Task Acquire_NoProfile_IsNotPlaced()
    {
        var function = Fn("plain");
        await using var host = Create(_ => { }, ThreeLocations, functions: function);
        Seed(host.Placer(), LocA, 50, LocB, 1, LocC, 200);

        Assert.Empty(host.Placer().Plans);
    }

    [Fact]
    public async Task Acquire_EstimatesGoneStale_FallsBackToDefaultPlacement()
    {
        var function = Fn("orders", (Db, 0.9));
        await using var host = Create(o => o.StaleAfter = TimeSpan.FromSeconds(30), ThreeLocations, functions: function);
        var placer = host.Placer();
        Seed(placer, LocA, 50, LocB, 1, LocC, 200);
        Assert.True(placer.TryGetPlan("orders", out _));

        host.Time.Advance(TimeSpan.FromSeconds(31));
        placer.Recompute();

        Assert.False(placer.TryGetPlan("orders", out _));
        await host.PoolManager.PreloadAsync(function, Tenant, 2, Timeout.InfiniteTimeSpan);
        var lease = await host.PoolManager.AcquireAsync(function, Tenant, CancellationToken.None);
        Assert.Equal(StartKind.Warm, lease.Kind);
    }

    [Fact]
    public async Task Acquire_EveryChannelFailing_NoPlanAndCallsStillServed()
    {
        var function = Fn("orders", (Db, 0.9));
        var refused = new Uri($"http://127.0.0.1:{RefusedPort.Get()}/");
        await using var host = Create(
            o =>
            {
                o.ProbeRoutes.Add(new ChannelProbeRoute(LocA, Db, refused));
                o.ProbeRoutes.Add(new ChannelProbeRoute(LocB, Db, refused));
            },
            [LocA, LocB],
            functions: function);

        await host.Placer().ProbeAllAsync(CancellationToken.None);

        Assert.False(host.Placer().TryGetPlan("orders", out _)); // all equally bad: nothing to prefer
        var lease = await host.PoolManager.AcquireAsync(function, Tenant, CancellationToken.None);
        Assert.Equal(StartKind.Cold, lease.Kind);
    }

    [Fact]
    public async Task Acquire_BestLocationHasNoInstance_ColdStartsThereWhenChannelPenaltyExceedsColdStart()
    {
        var function = Fn("orders", (Db, 1.0));
        await using var host = Create(o => o.ColdStartEstimate = TimeSpan.FromMilliseconds(50), [LocA], functions: function);
        await host.PoolManager.PreloadAsync(function, Tenant, 1, Timeout.InfiniteTimeSpan); // idle at A only
        Seed(host.Placer(), LocA, 400, LocB, 2, null, 0);

        var lease = await host.PoolManager.AcquireAsync(function, Tenant, CancellationToken.None);

        Assert.Equal(StartKind.Cold, lease.Kind);
        Assert.Equal(LocB, lease.Instance.Location);
        Assert.Equal(LocB, host.Provider.Specs[^1].PreferredLocation);
    }

    [Fact]
    public async Task Acquire_BestLocationHasNoInstance_TakesWarmInstanceElsewhereWhenColdStartIsSlower()
    {
        var function = Fn("orders", (Db, 1.0));
        await using var host = Create(o => o.ColdStartEstimate = TimeSpan.FromSeconds(5), [LocA], functions: function);
        await host.PoolManager.PreloadAsync(function, Tenant, 1, Timeout.InfiniteTimeSpan);
        Seed(host.Placer(), LocA, 40, LocB, 2, null, 0);

        var lease = await host.PoolManager.AcquireAsync(function, Tenant, CancellationToken.None);

        Assert.Equal(StartKind.Warm, lease.Kind);
        Assert.Equal(LocA, lease.Instance.Location);
        Assert.Equal(1, host.Provider.Created);
    }

    [Fact]
    public async Task Acquire_NoIdleInstance_TakesWarmingPoolInstanceAtBestLocation()
    {
        var function = Fn("orders", (Db, 1.0));
        await using var host = Create(o => o.AllowColdStartAtBestLocation = false, ThreeLocations, warmingPoolSize: 3, functions: function);
        await host.PoolManager.PrewarmAsync();
        Seed(host.Placer(), LocA, 50, LocB, 1, LocC, 200);
        var prewarmed = host.Provider.Instances.Keys.ToHashSet();

        var lease = await host.PoolManager.AcquireAsync(function, Tenant, CancellationToken.None);

        Assert.Equal(StartKind.WarmPool, lease.Kind);
        Assert.Equal(LocB, lease.Instance.Location);
        Assert.Contains(lease.Instance.Id, prewarmed);

        // The start asked for a refill in the background; once it is done, the other two are still in the pool.
        await host.PoolManager.PrewarmAsync();
        var slots = host.PoolManager.Slots;
        var warm = slots.WarmIndices().Select(i => slots[i]!.Instance!.Id).ToList();
        Assert.Equal(3, warm.Count);
        Assert.Equal(2, warm.Count(prewarmed.Contains));
        Assert.DoesNotContain(lease.Instance.Id, warm);
    }

    [Fact]
    public async Task LearnedProfile_FromReportedAuxiliaryCalls_TurnsPlacementOn()
    {
        var function = Fn("learned"); // nothing declared
        await using var host = Create(o => o.MinObservedExecutions = 10, ThreeLocations, functions: function);
        var placer = host.Placer();
        host.Provider.OnInvoke = (instance, request, _) =>
        {
            placer.Report(new AuxiliaryCallReport(request.FunctionName, request.InvocationId, instance.Location, Db, TimeSpan.FromMilliseconds(instance.Location == LocB ? 1 : 30), true));
            placer.Report(new AuxiliaryCallReport(request.FunctionName, request.InvocationId, instance.Location, Db, TimeSpan.FromMilliseconds(instance.Location == LocB ? 1 : 30), true)); // counted once per invocation
            return new(ReadOnlyMemory<byte>.Empty);
        };
        await host.PoolManager.PreloadAsync(function, Tenant, 3, Timeout.InfiniteTimeSpan);
        Seed(placer, LocA, 30, LocB, 1, LocC, 30); // as probes would
        Assert.Empty(placer.Plans); // channels known, but no profile yet

        for (var i = 0; i < 12; i++)
        {
            await host.Executor.InvokeAsync(new InvocationRequest("learned", ReadOnlyMemory<byte>.Empty, Tenant));
        }

        placer.Recompute();
        Assert.Equal(1.0, placer.LearnedLikelihoods("learned")[Db], 6);
        Assert.True(placer.TryGetPlan("learned", out var plan));
        Assert.Equal(LocB, plan.Best);
    }

    [Fact]
    public void FunctionContext_ReportAuxiliaryCall_ReachesTheSink()
    {
        var sink = new RecordingSink();
        var context = new FunctionContext(new InvocationRequest("f", ReadOnlyMemory<byte>.Empty, Tenant), "i-1") { Location = LocA, AuxiliaryCalls = sink };

        context.ReportAuxiliaryCall(Db, TimeSpan.FromMilliseconds(3));

        var report = Assert.Single(sink.Reports);
        Assert.Equal(("f", LocA, Db, true), (report.FunctionName, report.Location, report.Endpoint, report.Succeeded));
    }

    [Fact]
    public async Task InProcessProvider_HandlerReports_TeachTheProfile()
    {
        var services = new ServiceCollection();
        services.AddOnDemandExecution(o => o.WarmingPoolSize = 0)
            .AddFunction("reporter", (ctx, _) =>
            {
                ctx.ReportAuxiliaryCall(Db, TimeSpan.FromMilliseconds(2));
                return new ValueTask<ReadOnlyMemory<byte>>(ReadOnlyMemory<byte>.Empty);
            })
            .AddChannelQualityPlacement(o => o.MinObservedExecutions = 2);
        await using var provider = services.BuildServiceProvider();
        var executor = provider.GetRequiredService<IFunctionExecutor>();

        for (var i = 0; i < 3; i++)
        {
            await executor.InvokeAsync(new InvocationRequest("reporter", ReadOnlyMemory<byte>.Empty, Tenant));
        }

        var placer = provider.GetRequiredService<OnDemandExecution.Placement.ChannelQualityPlacer>();
        Assert.Equal(1.0, placer.LearnedLikelihoods("reporter")[Db], 6);
        Assert.NotNull(placer.GetQuality(InstanceLocation.Local, Db));
    }

    [Fact]
    public async Task Options_Invalid_FailValidationWithTheOptionName()
    {
        var services = new ServiceCollection();
        services.AddOnDemandExecution().AddChannelQualityPlacement(o => o.LikelihoodThreshold = 1.5);
        await using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ChannelQualityPlacementOptions>>().Value);
        Assert.Contains("LikelihoodThreshold", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Feeds passive measurements (ms) for <see cref="Db"/> and recomputes the plans.</summary>
    private static void Seed(OnDemandExecution.Placement.ChannelQualityPlacer placer, InstanceLocation a, double aMs, InstanceLocation b, double bMs, InstanceLocation? c, double cMs)
    {
        placer.Record(a, Db, true, TimeSpan.FromMilliseconds(aMs));
        placer.Record(b, Db, true, TimeSpan.FromMilliseconds(bMs));
        if (c is not null)
        {
            placer.Record(c, Db, true, TimeSpan.FromMilliseconds(cMs));
        }

        placer.Recompute();
    }

    /// <summary>Preloads three instances and records which instance each of a fixed sequence of acquires gets.</summary>
    private static async Task<List<string>> AcquireSequence(TestHost host, FunctionDefinition function)
    {
        var pool = host.PoolManager;
        await pool.PreloadAsync(function, Tenant, 3, Timeout.InfiniteTimeSpan);
        var order = new List<string>();
        var held = new List<PoolLease>();
        for (var i = 0; i < 3; i++)
        {
            var lease = await pool.AcquireAsync(function, Tenant, CancellationToken.None);
            order.Add(lease.Instance.Id + "@" + lease.Instance.Location);
            held.Add(lease);
        }

        foreach (var lease in held)
        {
            pool.Release(lease.Slot, keep: true, "released");
        }

        var again = await pool.AcquireAsync(function, Tenant, CancellationToken.None);
        order.Add(again.Instance.Id + "@" + again.Instance.Location);
        pool.Release(again.Slot, keep: true, "released");
        return order;
    }

    private sealed class RecordingSink : IAuxiliaryCallSink
    {
        public List<AuxiliaryCallReport> Reports { get; } = [];

        public void Report(in AuxiliaryCallReport report) => Reports.Add(report);
    }
}
