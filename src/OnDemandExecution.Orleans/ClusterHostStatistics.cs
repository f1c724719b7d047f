namespace OnDemandExecution.Orleans;

/// <summary>One host's cluster counters since it started.</summary>
/// <param name="Entered">Calls that entered the cluster on this host (its <see cref="IClusterFunctionExecutor"/> or its client ingress).</param>
/// <param name="RoutedAway">Of those, calls sent to another host.</param>
/// <param name="Served">Calls this host ran, its own and other hosts'.</param>
/// <param name="ServedForOthers">Of those, calls another host sent here.</param>
/// <param name="Warm">Of the calls served, warm starts.</param>
/// <param name="WarmPool">Of the calls served, warming-pool starts.</param>
/// <param name="Cold">Of the calls served, cold starts.</param>
/// <param name="StaleRoutes">Calls sent here for an idle instance that was gone on arrival (stale view): they ran anyway, not warm.</param>
/// <param name="Failed">Calls entered here that ended with an exception (any host).</param>
/// <param name="HostUnavailable">Of those, calls whose host left the cluster (<see cref="ClusterHostUnavailableException"/>).</param>
/// <param name="PreloadsForwarded">Preloads (pre-trigger and keep-alive policies) this host sent to another host.</param>
/// <param name="ReportsPublished">Capacity reports this host published.</param>
public readonly record struct ClusterHostStatistics(
    long Entered,
    long RoutedAway,
    long Served,
    long ServedForOthers,
    long Warm,
    long WarmPool,
    long Cold,
    long StaleRoutes,
    long Failed,
    long HostUnavailable,
    long PreloadsForwarded,
    long ReportsPublished);
