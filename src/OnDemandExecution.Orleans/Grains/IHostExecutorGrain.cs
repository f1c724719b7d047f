using OnDemandExecution.Orleans.Routing;

namespace OnDemandExecution.Orleans.Grains;

/// <summary>
/// One host's entry point for calls and preloads routed to it by another host. Keyed by the silo address
/// (<see cref="SiloAddress.ToParsableString"/>) and placed on that silo (<see cref="HostAffinityPlacement"/>).
/// </summary>
internal interface IHostExecutorGrain : IGrainWithStringKey
{
    /// <summary>Runs a call on this host's executor. A stale route (no idle instance any more) runs with a warming-pool or cold start.</summary>
    [ResponseTimeout("00:15:00")]
    Task<RemoteResult> InvokeAsync(RemoteInvocation invocation, CancellationToken cancellationToken);

    /// <summary>Preloads instances on this host (<see cref="IInstancePoolManager.PreloadAsync"/>) and publishes the new capacity at once.</summary>
    [ResponseTimeout("00:05:00")]
    Task<int> PreloadAsync(string tenant, string function, int count, TimeSpan keepAlive);
}
