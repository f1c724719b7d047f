using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Placement;

namespace OnDemandExecution.Tests.Placement;

public class ChannelProbeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task TcpConnectProbe_ListenerSucceeds_RefusedPortFails()
    {
        await using var server = new LoopbackTcpServer();
        var probe = new TcpConnectProbe(TimeProvider.System);

        var open = await probe.ProbeAsync(server.Address, Timeout, CancellationToken.None);
        var refused = await probe.ProbeAsync(new Uri($"tcp://127.0.0.1:{RefusedPort.Get()}"), Timeout, CancellationToken.None);

        Assert.True(open.Succeeded, open.Error);
        Assert.False(refused.Succeeded);
        Assert.NotNull(refused.Error);
    }

    [Fact]
    public async Task HttpProbe_ReachesServer_RefusedPortFails()
    {
        await using var server = new LoopbackHttpServer(TimeSpan.Zero);
        using var probe = new HttpProbe(TimeProvider.System);

        var ok = await probe.ProbeAsync(server.Address, Timeout, CancellationToken.None);
        var refused = await probe.ProbeAsync(new Uri($"http://127.0.0.1:{RefusedPort.Get()}/"), Timeout, CancellationToken.None);

        Assert.True(ok.Succeeded, ok.Error);
        Assert.Equal(1, server.Requests);
        Assert.False(refused.Succeeded);
    }

    [Fact]
    public async Task HttpProbe_ServerSlowerThanTimeout_IsAFailure()
    {
        await using var server = new LoopbackHttpServer(TimeSpan.FromSeconds(5));
        using var probe = new HttpProbe(TimeProvider.System);

        var result = await probe.ProbeAsync(server.Address, TimeSpan.FromMilliseconds(50), CancellationToken.None);

        Assert.False(result.Succeeded);
    }

    [Fact]
    public void Probes_ChooseAddressesByScheme()
    {
        using var http = new HttpProbe(TimeProvider.System);
        var tcp = new TcpConnectProbe(TimeProvider.System);

        Assert.True(tcp.CanProbe(new Uri("tcp://db:5432")));
        Assert.False(tcp.CanProbe(new Uri("http://db/")));
        Assert.True(http.CanProbe(new Uri("https://storage/")));
        Assert.False(http.CanProbe(new Uri("tcp://db:5432")));
    }

    [Fact]
    public async Task ProbeAll_RanksRealEndpointsByInjectedDelay_AndRefusedLast()
    {
        await using var fast = new LoopbackHttpServer(TimeSpan.Zero);
        await using var slow = new LoopbackHttpServer(TimeSpan.FromMilliseconds(60));
        const string endpoint = "http://orders-db/";
        var placer = NewPlacer(
            new FakeTimeProvider(),
            o =>
            {
                o.ProbeRoutes.Add(new ChannelProbeRoute(PlacementTestHost.LocA, endpoint, slow.Address));
                o.ProbeRoutes.Add(new ChannelProbeRoute(PlacementTestHost.LocB, endpoint, fast.Address));
                o.ProbeRoutes.Add(new ChannelProbeRoute(PlacementTestHost.LocC, endpoint, new Uri($"http://127.0.0.1:{RefusedPort.Get()}/")));
            },
            new FunctionDefinition("f", new DelegateFunctionCode(Tests.TestSupport.TestHost.Noop))
            {
                TaskProfile = new TaskProfile { AuxiliaryEndpoints = new Dictionary<string, double> { [endpoint] = 0.9 } },
            });

        await WarmUpHttpAsync(fast.Address, slow.Address);
        for (var round = 0; round < 3; round++)
        {
            await placer.ProbeAllAsync(CancellationToken.None);
        }

        var a = placer.GetQuality(PlacementTestHost.LocA, endpoint)!.Value;
        var b = placer.GetQuality(PlacementTestHost.LocB, endpoint)!.Value;
        var c = placer.GetQuality(PlacementTestHost.LocC, endpoint)!.Value;
        Assert.Equal(0, a.FailureRate);
        Assert.Equal(0, b.FailureRate);
        Assert.Equal(1, c.FailureRate);
        Assert.True(b.RoundTrip < a.RoundTrip, $"fast {b.RoundTrip} should beat slow {a.RoundTrip}");
        Assert.True(placer.TryGetPlan("f", out var plan));
        Assert.Equal(PlacementTestHost.LocB, plan.Best);
        Assert.True(plan.PenaltyOf(PlacementTestHost.LocA) < plan.PenaltyOf(PlacementTestHost.LocC));
        Assert.Equal(4, slow.Requests);
    }

    [Fact]
    public async Task ProbeAll_TcpEndpoints_RefusedPortRanksBehindAListener()
    {
        await using var listener = new LoopbackTcpServer();
        const string endpoint = "tcp://cache:6379";
        var placer = NewPlacer(
            new FakeTimeProvider(),
            o =>
            {
                o.ProbeRoutes.Add(new ChannelProbeRoute(PlacementTestHost.LocA, endpoint, new Uri($"tcp://127.0.0.1:{RefusedPort.Get()}")));
                o.ProbeRoutes.Add(new ChannelProbeRoute(PlacementTestHost.LocB, endpoint, listener.Address));
            },
            PlacementTestHost.Fn("f", (endpoint, 1.0)));

        await placer.ProbeAllAsync(CancellationToken.None);

        Assert.True(placer.TryGetPlan("f", out var plan));
        Assert.Equal(PlacementTestHost.LocB, plan.Best);
    }

    [Fact]
    public async Task ProbeAll_ProbeThatThrows_CountsAsAFailureAndNothingEscapes()
    {
        const string endpoint = "custom://queue";
        var placer = NewPlacer(
            new FakeTimeProvider(),
            o => o.ProbeRoutes.Add(new ChannelProbeRoute(PlacementTestHost.LocA, endpoint, new Uri("custom://queue"))),
            [new ThrowingProbe()],
            PlacementTestHost.Fn("f", (endpoint, 1.0)));

        await placer.ProbeAllAsync(CancellationToken.None);

        var quality = placer.GetQuality(PlacementTestHost.LocA, endpoint)!.Value;
        Assert.Equal(1, quality.FailureRate);
        Assert.Null(quality.RoundTrip);
    }

    [Fact]
    public void Estimate_IsSmoothed_AndStaleWhenOld()
    {
        var time = new FakeTimeProvider();
        var placer = NewPlacer(time, o => o.StaleAfter = TimeSpan.FromSeconds(30));
        placer.Record(PlacementTestHost.LocA, "tcp://db:1", true, TimeSpan.FromMilliseconds(10));
        placer.Record(PlacementTestHost.LocA, "tcp://db:1", true, TimeSpan.FromMilliseconds(20));

        var quality = placer.GetQuality(PlacementTestHost.LocA, "tcp://db:1")!.Value;
        Assert.Equal(13, quality.RoundTrip!.Value.TotalMilliseconds, 6); // 0.7 * 10 + 0.3 * 20
        Assert.False(quality.IsStale);

        time.Advance(TimeSpan.FromSeconds(31));
        Assert.True(placer.GetQuality(PlacementTestHost.LocA, "tcp://db:1")!.Value.IsStale);
    }

    /// <summary>
    /// One probe of each address before measuring: the first HTTP request of the process pays for loading and compiling
    /// the HTTP stack, which would otherwise land on whichever probe ran first and could invert a ranking.
    /// </summary>
    internal static async Task WarmUpHttpAsync(params Uri[] addresses)
    {
        using var probe = new HttpProbe(TimeProvider.System);
        foreach (var address in addresses)
        {
            await probe.ProbeAsync(address, Timeout, CancellationToken.None);
        }
    }

    internal static ChannelQualityPlacer NewPlacer(FakeTimeProvider time, Action<ChannelQualityPlacementOptions> configure, params FunctionDefinition[] functions) =>
        NewPlacer(time, configure, null, functions);

    internal static ChannelQualityPlacer NewPlacer(FakeTimeProvider time, Action<ChannelQualityPlacementOptions> configure, IChannelQualityProbe[]? probes, params FunctionDefinition[] functions)
    {
        var options = new ChannelQualityPlacementOptions { ProbeFromLocalLocation = false, ProbeTimeout = Timeout };
        configure(options);
        var catalog = new StaticCatalog(functions);
        return new ChannelQualityPlacer(
            Options.Create(options),
            time,
            new OnDemandMetrics(),
            probes ?? [new HttpProbe(TimeProvider.System), new TcpConnectProbe(TimeProvider.System)],
            catalog);
    }

    private sealed class ThrowingProbe : IChannelQualityProbe
    {
        public bool CanProbe(Uri address) => true;

        public ValueTask<ChannelProbeResult> ProbeAsync(Uri address, TimeSpan timeout, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("probe broke");
    }

    private sealed class StaticCatalog(FunctionDefinition[] functions) : IFunctionCatalog
    {
        public IReadOnlyCollection<FunctionDefinition> Functions => functions;

        public bool TryGetFunction(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out FunctionDefinition? definition)
        {
            definition = Array.Find(functions, f => f.Name == name);
            return definition is not null;
        }

        public void Register(FunctionDefinition definition) => throw new NotSupportedException();
    }
}
