namespace OnDemandExecution.Orleans;

/// <summary>
/// Runs calls anywhere in the cluster: on the host with an idle instance of the (tenant, function), else on one with
/// warming-pool capacity, else on the least loaded. Registered on every silo by <c>UseOnDemandExecutionCluster</c>; its
/// <see cref="IFunctionExecutor.InvokeAsync"/> is the routed call. A call that finds its host's view stale runs on that
/// host anyway (warming pool or cold); a call whose host dies ends with <see cref="ClusterHostUnavailableException"/>.
/// </summary>
public interface IClusterFunctionExecutor : IFunctionExecutor
{
    /// <summary>Routes and runs a call, and says where it ran and why.</summary>
    /// <param name="request">The call.</param>
    /// <param name="cancellationToken">Cancels the call, on whichever host it runs.</param>
    /// <returns>The result, the host and the route.</returns>
    ValueTask<RoutedInvocationResult> InvokeRoutedAsync(InvocationRequest request, CancellationToken cancellationToken = default);

    /// <summary>The name of this host (its silo).</summary>
    string HostName { get; }

    /// <summary>This host's counters.</summary>
    /// <returns>A snapshot.</returns>
    ClusterHostStatistics GetStatistics();
}
