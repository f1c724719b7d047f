namespace OnDemandExecution.Orleans.Hosting;

/// <summary>This silo as a host: its own pools (undecorated), its address and name, and its counters.</summary>
internal sealed class LocalHost(IInstancePoolManager pools, ILocalSiloDetails silo)
{
    private long _entered;
    private long _routedAway;
    private long _served;
    private long _servedForOthers;
    private long _warm;
    private long _warmPool;
    private long _cold;
    private long _staleRoutes;
    private long _failed;
    private long _hostUnavailable;
    private long _preloadsForwarded;
    private long _reportsPublished;

    /// <summary>The silo's own pool manager, never the cluster decorator.</summary>
    public IInstancePoolManager Pools { get; } = pools;

    public SiloAddress Address => silo.SiloAddress;

    public string Name => silo.Name;

    public string Key => silo.SiloAddress.ToParsableString();

    public void Entered() => Interlocked.Increment(ref _entered);

    public void RoutedAway() => Interlocked.Increment(ref _routedAway);

    public void Failed(bool hostUnavailable)
    {
        Interlocked.Increment(ref _failed);
        if (hostUnavailable)
        {
            Interlocked.Increment(ref _hostUnavailable);
        }
    }

    public void PreloadForwarded() => Interlocked.Increment(ref _preloadsForwarded);

    public void ReportPublished() => Interlocked.Increment(ref _reportsPublished);

    public void Served(InvocationResult result, bool forOther, RouteKind route)
    {
        Interlocked.Increment(ref _served);
        if (forOther)
        {
            Interlocked.Increment(ref _servedForOthers);
        }

        switch (result.StartKind)
        {
            case StartKind.Warm:
                Interlocked.Increment(ref _warm);
                break;
            case StartKind.WarmPool:
                Interlocked.Increment(ref _warmPool);
                break;
            default:
                Interlocked.Increment(ref _cold);
                break;
        }

        if (route == RouteKind.Warm && result.StartKind != StartKind.Warm && result.Origin == ResultOrigin.Executed)
        {
            Interlocked.Increment(ref _staleRoutes);
        }
    }

    public ClusterHostStatistics Snapshot() => new(
        Volatile.Read(ref _entered),
        Volatile.Read(ref _routedAway),
        Volatile.Read(ref _served),
        Volatile.Read(ref _servedForOthers),
        Volatile.Read(ref _warm),
        Volatile.Read(ref _warmPool),
        Volatile.Read(ref _cold),
        Volatile.Read(ref _staleRoutes),
        Volatile.Read(ref _failed),
        Volatile.Read(ref _hostUnavailable),
        Volatile.Read(ref _preloadsForwarded),
        Volatile.Read(ref _reportsPublished));
}
