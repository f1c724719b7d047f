using Microsoft.Extensions.DependencyInjection;
using OnDemandExecution.Placement;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Placement;

/// <summary>A <see cref="TestHost"/> with the channel-quality placer and locations handed out round robin (or as asked for).</summary>
internal static class PlacementTestHost
{
    public static readonly InstanceLocation LocA = new("host-a", "seg-1");
    public static readonly InstanceLocation LocB = new("host-b", "seg-2");
    public static readonly InstanceLocation LocC = new("host-c", "seg-3");

    public static readonly TenantId Tenant = new("tenant");

    /// <summary>
    /// Builds a host. Instances are placed at <paramref name="locations"/> round robin, except a cold start that asks for a
    /// <see cref="InstanceSpec.PreferredLocation"/> when <paramref name="honourPreferred"/>. Probes measure real time
    /// (the placer's own clock, staleness, is the fake one).
    /// </summary>
    public static TestHost Create(
        Action<ChannelQualityPlacementOptions> placement,
        InstanceLocation[] locations,
        int warmingPoolSize = 0,
        bool honourPreferred = true,
        bool withPlacer = true,
        params FunctionDefinition[] functions)
    {
        var next = 0;
        var provider = new FakeInstanceProvider
        {
            Locate = (spec, _) => honourPreferred && spec.PreferredLocation is { } preferred
                ? preferred
                : locations[(Interlocked.Increment(ref next) - 1) % locations.Length],
        };

        return TestHost.Create(
            o =>
            {
                o.WarmingPoolSize = warmingPoolSize;
                o.MaxInstances = 64;
            },
            b =>
            {
                foreach (var function in functions)
                {
                    b.AddFunction(function);
                }

                if (withPlacer)
                {
                    b.Services.AddSingleton<IChannelQualityProbe>(new HttpProbe(TimeProvider.System));
                    b.Services.AddSingleton<IChannelQualityProbe>(new TcpConnectProbe(TimeProvider.System));
                    b.AddChannelQualityPlacement(o =>
                    {
                        o.ProbeFromLocalLocation = false;
                        o.ProbeTimeout = TimeSpan.FromSeconds(5);
                        placement(o);
                    });
                }
            },
            provider);
    }

    public static ChannelQualityPlacer Placer(this TestHost host) => host.Services.GetRequiredService<ChannelQualityPlacer>();

    public static FunctionDefinition Fn(string name, params (string Endpoint, double Likelihood)[] endpoints) =>
        new(name, new DelegateFunctionCode(TestHost.Noop))
        {
            TaskProfile = endpoints.Length == 0 ? null : new TaskProfile { AuxiliaryEndpoints = endpoints.ToDictionary(e => e.Endpoint, e => e.Likelihood) },
        };
}
