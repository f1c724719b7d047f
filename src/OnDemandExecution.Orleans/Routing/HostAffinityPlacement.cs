using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace OnDemandExecution.Orleans.Routing;

/// <summary>
/// Placement of the per-host executor grains: the grain's key is a silo address, and its one activation lives on that
/// silo. When that silo is not (or no longer) compatible, the caller's silo takes it: a call routed to a host that has
/// just left runs where it is instead of failing.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
internal sealed class HostAffinityPlacement : PlacementStrategy
{
    internal static HostAffinityPlacement Instance { get; } = new();
}

/// <summary>Marks a grain class as placed by <see cref="HostAffinityPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class HostAffinityPlacementAttribute : PlacementAttribute
{
    public HostAffinityPlacementAttribute()
        : base(HostAffinityPlacement.Instance)
    {
    }
}

internal sealed class HostAffinityPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString();
        var compatible = context.GetCompatibleSilos(target);
        try
        {
            var wanted = SiloAddress.FromParsableString(key);
            foreach (var silo in compatible)
            {
                if (silo.Equals(wanted))
                {
                    return Task.FromResult(silo);
                }
            }
        }
        catch (FormatException)
        {
            // Not a silo address: fall through to the local silo.
        }

        return Task.FromResult(Array.IndexOf(compatible, context.LocalSilo) >= 0 || compatible.Length == 0 ? context.LocalSilo : compatible[0]);
    }
}
