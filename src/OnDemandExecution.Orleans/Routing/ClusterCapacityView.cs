namespace OnDemandExecution.Orleans.Routing;

/// <summary>
/// One silo's copy of the cluster's capacity: the newest report of every live host, indexed by (tenant, function).
/// Routing reads it without any message. Between two pulls it adjusts its own copy optimistically (a call routed to a
/// host's idle instance takes one from the count), so a burst spreads over the idle instances of several hosts instead
/// of piling onto the first; the next pull replaces the guesses with what the hosts published.
/// </summary>
internal sealed class ClusterCapacityView
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Tenant, string Function), List<WarmEntry>> _warm = [];
    private readonly List<HostEntry> _hosts = [];
    private HashSet<SiloAddress>? _active;
    private HostCapacityReport[] _reports = [];

    /// <summary>The directory version this copy was built from.</summary>
    public long Version { get; private set; }

    /// <summary>The hosts in the view.</summary>
    public IReadOnlyList<SiloAddress> Hosts
    {
        get
        {
            lock (_gate)
            {
                return [.. _hosts.Select(h => h.Host)];
            }
        }
    }

    /// <summary>The idle instances the view believes <paramref name="host"/> has for (tenant, function).</summary>
    public long IdleOn(SiloAddress host, TenantId tenant, string function)
    {
        lock (_gate)
        {
            return _warm.TryGetValue((tenant.Value, function), out var list) ? list.Where(e => e.Host.Host.Equals(host)).Sum(e => e.Idle) : 0;
        }
    }

    public void Apply(CapacityViewUpdate update)
    {
        if (update.Reports is null)
        {
            return;
        }

        lock (_gate)
        {
            Version = update.Version;
            _reports = update.Reports;
            Rebuild();
        }
    }

    /// <summary>Membership changed: hosts that are not active leave the view at once, without waiting for the next pull.</summary>
    public void SetActiveHosts(IEnumerable<SiloAddress> active)
    {
        lock (_gate)
        {
            _active = [.. active];
            Rebuild();
        }
    }

    /// <summary>A preload was sent to <paramref name="host"/>: count its instances as idle until the next pull.</summary>
    public void NotePreloaded(SiloAddress host, TenantId tenant, string function, int count)
    {
        lock (_gate)
        {
            var entry = _hosts.Find(h => h.Host.Equals(host));
            if (entry is null || count <= 0)
            {
                return;
            }

            var list = GetOrAdd(tenant.Value, function);
            var warm = list.Find(e => ReferenceEquals(e.Host, entry));
            if (warm is null)
            {
                list.Add(new WarmEntry(entry, count));
            }
            else
            {
                warm.Idle += count;
            }
        }
    }

    /// <summary>
    /// A call this silo routed to <paramref name="host"/> ended: the host is one call less busy and, when the call
    /// succeeded, has (at least for its keep-alive) an idle instance of the function again. Sequential calls thereby
    /// keep finding the instance they just used, without waiting for the next report.
    /// </summary>
    public void Completed(SiloAddress host, TenantId tenant, string function, bool succeeded)
    {
        lock (_gate)
        {
            var entry = _hosts.Find(h => h.Host.Equals(host));
            if (entry is null)
            {
                return;
            }

            entry.Busy = Math.Max(0, entry.Busy - 1);
            if (!succeeded)
            {
                return;
            }

            var list = GetOrAdd(tenant.Value, function);
            var warm = list.Find(e => ReferenceEquals(e.Host, entry));
            if (warm is null)
            {
                list.Add(new WarmEntry(entry, 1));
            }
            else
            {
                warm.Idle++;
            }
        }
    }

    /// <summary>
    /// Chooses the host for a call: one with an idle instance of (tenant, function), the most idle first; else one with
    /// warming-pool capacity, the function's home first (rendezvous hashing, so that a function's calls, and with them
    /// its keep-alive history, stay on one host while it has capacity); else the least loaded. Null when the view is empty.
    /// </summary>
    public (SiloAddress? Host, RouteKind Kind) Route(TenantId tenant, string function) => Choose(tenant, function, commit: true);

    /// <summary>Where the next call of (tenant, function) would go, without counting it: where a preload should land.</summary>
    public SiloAddress? PreloadTarget(TenantId tenant, string function) => Choose(tenant, function, commit: false).Host;

    private (SiloAddress? Host, RouteKind Kind) Choose(TenantId tenant, string function, bool commit)
    {
        lock (_gate)
        {
            if (_hosts.Count == 0)
            {
                return (null, RouteKind.Local);
            }

            if (_warm.TryGetValue((tenant.Value, function), out var candidates))
            {
                WarmEntry? best = null;
                foreach (var e in candidates)
                {
                    if (e.Idle > 0 && (best is null || e.Idle > best.Idle || (e.Idle == best.Idle && Weight(tenant, function, e.Host) > Weight(tenant, function, best.Host))))
                    {
                        best = e;
                    }
                }

                if (best is not null)
                {
                    if (commit)
                    {
                        best.Idle--;
                        best.Host.Busy++;
                    }

                    return (best.Host.Host, RouteKind.Warm);
                }
            }

            HostEntry? home = null;
            foreach (var h in _hosts)
            {
                if (h.WarmingPool > 0 && (home is null || Weight(tenant, function, h) > Weight(tenant, function, home)))
                {
                    home = h;
                }
            }

            if (home is not null)
            {
                if (commit)
                {
                    home.WarmingPool--;
                    home.Busy++;
                }

                return (home.Host, RouteKind.WarmingPool);
            }

            HostEntry least = _hosts[0];
            foreach (var h in _hosts)
            {
                if (h.Busy < least.Busy || (h.Busy == least.Busy && Weight(tenant, function, h) > Weight(tenant, function, least)))
                {
                    least = h;
                }
            }

            if (commit)
            {
                least.Busy++;
            }

            return (least.Host, RouteKind.LeastLoaded);
        }
    }

    private void Rebuild()
    {
        _warm.Clear();
        _hosts.Clear();
        foreach (var report in _reports)
        {
            if (_active is not null && !_active.Contains(report.Host))
            {
                continue;
            }

            var host = new HostEntry(report.Host) { WarmingPool = report.WarmingPool, Busy = report.Busy };
            _hosts.Add(host);
            foreach (var f in report.Functions)
            {
                GetOrAdd(f.Tenant, f.Function).Add(new WarmEntry(host, f.Idle));
            }
        }
    }

    private List<WarmEntry> GetOrAdd(string tenant, string function)
    {
        if (!_warm.TryGetValue((tenant, function), out var list))
        {
            list = [];
            _warm[(tenant, function)] = list;
        }

        return list;
    }

    private static ulong Weight(TenantId tenant, string function, HostEntry host) => Weight(tenant.Value, function, host.Hash);

    /// <summary>Rendezvous (highest random weight) hashing: FNV-1a over tenant and function, mixed with the host's hash.</summary>
    internal static ulong Weight(string tenant, string function, uint hostHash)
    {
        var h = 14695981039346656037UL;
        foreach (var c in tenant)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        h = (h ^ '/') * 1099511628211UL;
        foreach (var c in function)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        h ^= hostHash;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        h ^= h >> 33;
        return h;
    }

    private sealed class HostEntry(SiloAddress host)
    {
        public SiloAddress Host { get; } = host;

        public uint Hash { get; } = unchecked((uint)host.GetConsistentHashCode());

        public long WarmingPool { get; set; }

        public long Busy { get; set; }
    }

    private sealed class WarmEntry(HostEntry host, long idle)
    {
        public HostEntry Host { get; } = host;

        public long Idle { get; set; } = idle;
    }
}
