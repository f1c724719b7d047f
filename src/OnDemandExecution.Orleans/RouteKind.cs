namespace OnDemandExecution.Orleans;

/// <summary>Why a call went to the host it went to.</summary>
public enum RouteKind
{
    /// <summary>No view of the cluster yet (or no live host in it): the call ran on the silo it entered.</summary>
    Local = 0,

    /// <summary>The host had an idle instance of the (tenant, function) loaded, as last published.</summary>
    Warm = 1,

    /// <summary>No host had one; the host had warming-pool capacity (the function's home among those that do).</summary>
    WarmingPool = 2,

    /// <summary>No host had either; the least loaded host.</summary>
    LeastLoaded = 3,
}
