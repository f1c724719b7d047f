using OnDemandExecution.Orleans.Routing;

namespace OnDemandExecution.Orleans.Grains;

/// <summary>
/// The cluster's capacity directory: every host sends its report (when it changed) and pulls the view in one message
/// per publish interval. Key 0.
/// </summary>
internal interface ICapacityDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Stores <paramref name="report"/> (when not null) and returns the view when its version differs from <paramref name="knownVersion"/>.</summary>
    [AlwaysInterleave]
    Task<CapacityViewUpdate> ExchangeAsync(HostCapacityReport? report, long knownVersion);
}
