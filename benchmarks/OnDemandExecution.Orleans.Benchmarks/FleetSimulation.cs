using System.Globalization;
using System.Net;
using OnDemandExecution.Orleans.Routing;
using OnDemandExecution.Simulation;
using Orleans.Runtime;

namespace OnDemandExecution.Orleans.Benchmarks;

/// <summary>
/// Replays a trace on N modelled hosts on virtual time, once per strategy, and reports cold-start % and idle GB-s.
/// Each host has the library's pools in miniature: a warming pool refilled one creation time after it is drawn, idle
/// instances per (tenant, function) reused most-recent-first and destroyed after the keep-alive, a busy count. Strategy
/// (c) routes with the package's own <see cref="ClusterCapacityView"/>: one copy per entry host, each call entering at a
/// random host, every copy refreshed from the hosts' reports once per publish interval and adjusted optimistically in
/// between, exactly as on a silo.
/// </summary>
internal static class FleetSimulation
{
    public static async Task<int> RunAsync(string[] args)
    {
        var dir = args.Length > 0 ? args[0] : "/work/shared/traces/azure2019-day-500fn";
        var hostCounts = args.Length > 1 ? args[1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() : [4, 16];
        var trace = AzureFunctionsTrace.Read(
            Path.Combine(dir, "invocations_per_function_md.anon.d01.csv"),
            Path.Combine(dir, "function_durations_percentiles.anon.d01.csv"),
            Path.Combine(dir, "app_memory_percentiles.anon.d01.csv"));
        var peak = PeakConcurrency(trace);
        Console.WriteLine($"trace: {trace.Invocations.Count:N0} invocations of {trace.Functions.Count} functions over {trace.Duration.TotalHours:F1} h; peak concurrency {peak} (warm, durations only)");
        Console.WriteLine("| hosts | strategy | cold-start % | warming-pool start % | idle GB-s | instances created | stale routes | over capacity |");
        Console.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var n in hostCounts)
        {
            var model = new FleetModel(n, HostCapacity: (int)Math.Ceiling(1.5 * peak / n));
            foreach (var strategy in Enum.GetValues<FleetStrategy>())
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                var r = Replay(trace, model, strategy, seed: 1);
                var wall = System.Diagnostics.Stopwatch.GetElapsedTime(started);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {n} | {Name(strategy)} | {r.ColdPercent:F3} | {r.WarmPoolPercent:F2} | {r.IdleGbSeconds:N0} | {r.Created:N0} | {r.StaleRoutes:N0} | {r.Overflowed:N0} |"));
                await Console.Error.WriteLineAsync($"  ({strategy}, {n} hosts, capacity {model.HostCapacity}/host: {wall.TotalSeconds:F1} s of wall time)");
            }
        }

        return 0;
    }

    private static string Name(FleetStrategy s) => s switch
    {
        FleetStrategy.Random => "(a) independent hosts, random spread",
        FleetStrategy.HashWithOverflow => "(b) hash to a home host, overflow",
        FleetStrategy.WarmRouting => "(c) routing to warm capacity, tenant ingress (this package)",
        _ => "(c') routing to warm capacity, random entry silo",
    };

    private static int PeakConcurrency(Trace trace)
    {
        var edges = new List<(double T, int D)>(trace.Invocations.Count * 2);
        foreach (var inv in trace.Invocations)
        {
            edges.Add((inv.Time.TotalSeconds, 1));
            edges.Add(((inv.Time + inv.Duration).TotalSeconds, -1));
        }

        edges.Sort((a, b) => a.T != b.T ? a.T.CompareTo(b.T) : a.D.CompareTo(b.D));
        int current = 0, peak = 0;
        foreach (var (_, d) in edges)
        {
            current += d;
            peak = Math.Max(peak, current);
        }

        return peak;
    }

    private enum Kind
    {
        Completion,
        Expiry,
        Refill,
        Report,
    }

    private readonly record struct Event(Kind Kind, int Host, SimInstance? Instance, long Generation, string Tenant, string Function, int Entry);

    public static FleetResult Replay(Trace trace, FleetModel model, FleetStrategy strategy, int seed)
    {
        var random = new Random(seed);
        var hosts = Enumerable.Range(0, model.Hosts).Select(i => new SimHost(i) { Warm = model.WarmingPoolPerHost }).ToArray();
        var addresses = Enumerable.Range(0, model.Hosts).Select(i => SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 30_000 + i), 1)).ToArray();
        var indexOf = addresses.Select((a, i) => (a, i)).ToDictionary(x => x.a, x => x.i);
        var views = strategy is FleetStrategy.WarmRouting or FleetStrategy.WarmRoutingRandomEntry ? Enumerable.Range(0, model.Hosts).Select(_ => new ClusterCapacityView()).ToArray() : [];
        var queue = new PriorityQueue<Event, (double, long)>();
        long sequence = 0, calls = 0, warm = 0, warmPool = 0, cold = 0, stale = 0, overflowed = 0, reportVersion = 0;
        long created = model.Hosts * model.WarmingPoolPerHost;
        double idleSeconds = 0;
        var end = trace.Duration.TotalSeconds;
        void Schedule(double at, Event e) => queue.Enqueue(e, (at, sequence++));
        if (views.Length > 0)
        {
            Schedule(0, new Event(Kind.Report, -1, null, 0, "", "", -1));
        }

        void Process(double now, Event e)
        {
            var host = e.Host >= 0 ? hosts[e.Host] : null;
            switch (e.Kind)
            {
                case Kind.Completion:
                    host!.Busy--;
                    var inst = e.Instance!;
                    inst.Idle = true;
                    inst.IdleSince = now;
                    inst.Generation++;
                    GetList(host, e.Tenant, e.Function).Add(inst);
                    Schedule(now + model.KeepAliveSeconds, e with { Kind = Kind.Expiry, Generation = inst.Generation });
                    if (e.Entry >= 0)
                    {
                        views[e.Entry].Completed(addresses[e.Host], new TenantId(e.Tenant), e.Function, succeeded: true);
                    }

                    break;
                case Kind.Expiry:
                    if (e.Instance!.Idle && e.Instance.Generation == e.Generation)
                    {
                        GetList(host!, e.Tenant, e.Function).Remove(e.Instance);
                        e.Instance.Idle = false;
                        idleSeconds += model.KeepAliveSeconds;
                    }

                    break;
                case Kind.Refill:
                    host!.AccountWarm(now);
                    host.Warm++;
                    host.Refilling--;
                    break;
                case Kind.Report:
                    var reports = hosts.Select(h => new HostCapacityReport(addresses[h.Index], reportVersion, h.Warm, h.Busy, 0,
                        [.. h.Idle.Where(kv => kv.Value.Count > 0).Select(kv => new FunctionCapacity(kv.Key.Tenant, kv.Key.Function, kv.Value.Count))])).ToArray();
                    reportVersion++;
                    foreach (var view in views)
                    {
                        view.Apply(new CapacityViewUpdate(reportVersion, reports));
                    }

                    if (now + model.PublishIntervalSeconds <= end)
                    {
                        Schedule(now + model.PublishIntervalSeconds, e);
                    }

                    break;
            }
        }

        foreach (var inv in trace.Invocations)
        {
            var now = inv.Time.TotalSeconds;
            while (queue.TryPeek(out var next, out var at) && at.Item1 <= now)
            {
                queue.Dequeue();
                Process(at.Item1, next);
            }

            calls++;
            var entry = -1;
            var route = RouteKind.Local;
            int chosen;
            switch (strategy)
            {
                case FleetStrategy.Random:
                    chosen = random.Next(model.Hosts);
                    break;
                case FleetStrategy.HashWithOverflow:
                    chosen = HashHome(inv.Function, hosts, model);
                    break;
                default:
                    entry = strategy == FleetStrategy.WarmRouting
                        ? (int)(ClusterCapacityView.Weight(inv.Tenant, "", 0) % (ulong)model.Hosts)
                        : random.Next(model.Hosts);
                    var (address, kind) = views[entry].Route(new TenantId(inv.Tenant), inv.Function);
                    route = kind;
                    chosen = address is null ? entry : indexOf[address];
                    break;
            }

            if (hosts[chosen].Busy >= model.HostCapacity)
            {
                overflowed++;
                chosen = hosts.MinBy(h => h.Busy)!.Index;
            }

            var h = hosts[chosen];
            var list = GetList(h, inv.Tenant, inv.Function);
            SimInstance instance;
            double startDelay;
            if (list.Count > 0)
            {
                instance = list[^1];
                list.RemoveAt(list.Count - 1);
                idleSeconds += now - instance.IdleSince;
                instance.Idle = false;
                instance.Generation++;
                startDelay = 0;
                warm++;
            }
            else
            {
                instance = new SimInstance();
                if (route == RouteKind.Warm)
                {
                    stale++;
                }

                if (h.Warm > 0)
                {
                    h.AccountWarm(now);
                    h.Warm--;
                    h.Refilling++;
                    created++;
                    Schedule(now + model.CreateSeconds, new Event(Kind.Refill, chosen, null, 0, "", "", -1));
                    startDelay = model.LoadSeconds;
                    warmPool++;
                }
                else
                {
                    created++;
                    startDelay = model.CreateSeconds + model.LoadSeconds;
                    cold++;
                }
            }

            h.Busy++;
            Schedule(now + startDelay + inv.Duration.TotalSeconds, new Event(Kind.Completion, chosen, instance, 0, inv.Tenant, inv.Function, entry));
        }

        while (queue.TryDequeue(out var e, out var at))
        {
            if (at.Item1 > end && e.Kind is Kind.Expiry or Kind.Report)
            {
                continue;
            }

            Process(at.Item1, e);
        }

        foreach (var h in hosts)
        {
            h.AccountWarm(end);
            foreach (var list in h.Idle.Values)
            {
                foreach (var inst in list)
                {
                    idleSeconds += Math.Max(0, Math.Min(end, inst.IdleSince + model.KeepAliveSeconds) - inst.IdleSince);
                }
            }
        }

        var idleGbSeconds = (idleSeconds + hosts.Sum(h => h.WarmIdleSeconds)) * model.InstanceGb;
        return new FleetResult(strategy, model.Hosts, calls, warm, warmPool, cold, idleGbSeconds, created, stale, overflowed);
    }

    private static List<SimInstance> GetList(SimHost host, string tenant, string function)
    {
        if (!host.Idle.TryGetValue((tenant, function), out var list))
        {
            list = [];
            host.Idle[(tenant, function)] = list;
        }

        return list;
    }

    /// <summary>OpenWhisk's scheme: home = hash mod N, then a probe sequence with a step coprime to N, first host under capacity.</summary>
    private static int HashHome(string function, SimHost[] hosts, FleetModel model)
    {
        var hash = (uint)ClusterCapacityView.Weight("", function, 0);
        var n = hosts.Length;
        var home = (int)(hash % (uint)n);
        var step = Step(hash >> 8, n);
        for (var i = 0; i < n; i++)
        {
            var candidate = (home + i * step) % n;
            if (hosts[candidate].Busy < model.HostCapacity)
            {
                return candidate;
            }
        }

        return home;
    }

    private static int Step(uint hash, int n)
    {
        for (var s = (int)(hash % (uint)n) | 1; ; s += 2)
        {
            if (Gcd(s, n) == 1)
            {
                return s % n == 0 ? 1 : s;
            }
        }
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);
}
