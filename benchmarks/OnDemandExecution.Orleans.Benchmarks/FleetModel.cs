namespace OnDemandExecution.Orleans.Benchmarks;

/// <summary>How calls are spread over the hosts in a fleet replay.</summary>
internal enum FleetStrategy
{
    /// <summary>(a) Independent hosts, each call to a random host.</summary>
    Random,

    /// <summary>(b) OpenWhisk-style: a home host per function by hashing, overflow to the next hosts of its probe sequence.</summary>
    HashWithOverflow,

    /// <summary>(c) This package's routing, calls entering at their tenant's ingress silo (the client path): the real <c>ClusterCapacityView</c>, refreshed from reports every publish interval.</summary>
    WarmRouting,

    /// <summary>(c') The same, each call entering at a random silo (silo-local callers): several views route the same function.</summary>
    WarmRoutingRandomEntry,
}

/// <summary>The model's constants: the library's defaults and the simulator's provider timings.</summary>
internal sealed record FleetModel(
    int Hosts,
    int WarmingPoolPerHost = 2,
    double KeepAliveSeconds = 600,
    double CreateSeconds = 0.5,
    double LoadSeconds = 0.05,
    double InstanceGb = 0.25,
    double PublishIntervalSeconds = 1,
    int HostCapacity = int.MaxValue);

/// <summary>The outcome of one replay.</summary>
internal sealed record FleetResult(FleetStrategy Strategy, int Hosts, long Calls, long Warm, long WarmPool, long Cold, double IdleGbSeconds, long Created, long StaleRoutes, long Overflowed)
{
    public double ColdPercent => 100.0 * Cold / Math.Max(1, Calls);

    public double WarmPoolPercent => 100.0 * WarmPool / Math.Max(1, Calls);
}

/// <summary>One instance of the model: idle since when, and a generation that invalidates its pending expiry.</summary>
internal sealed class SimInstance
{
    public double IdleSince;
    public long Generation;
    public bool Idle;
}

/// <summary>One host of the model: its warming pool, its idle instances per (tenant, function), its busy count.</summary>
internal sealed class SimHost(int index)
{
    public int Index { get; } = index;

    public Dictionary<(string Tenant, string Function), List<SimInstance>> Idle { get; } = [];

    public int Warm;
    public int Refilling;
    public int Busy;
    public double WarmSince;
    public double WarmIdleSeconds;

    public void AccountWarm(double now)
    {
        WarmIdleSeconds += Warm * (now - WarmSince);
        WarmSince = now;
    }
}
