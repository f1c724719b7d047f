using System.Globalization;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using OnDemandExecution.Placement;

namespace OnDemandExecution.Tests.Placement;

/// <summary>
/// A deterministic discrete-event simulation of one function served by a fixed set of warm instances spread over
/// locations with different channels to its database. The same seeded workload is replayed under four choices of the
/// idle instance that serves a call: the default (LIFO, the instance released last, as the allocator's per-thread hint
/// does), random, least-loaded (the location with the fewest busy instances) and the channel-quality placer (the real
/// <see cref="ChannelQualityPlacer"/>, learning channel quality only from the executions' own reported round trips, and
/// its <see cref="PlacementPlan"/> choosing the idle instance with the lowest expected penalty).
/// </summary>
internal static class PlacementSimulation
{
    public const string Db = "tcp://orders-db:5432";

    public enum Policy
    {
        Default,
        Random,
        LeastLoaded,
        Placer,
    }

    /// <summary>Channel of each location to the database: mean round trip (ms) and failure probability.</summary>
    public static readonly (InstanceLocation Location, double RttMs, double FailureRate)[] Channels =
    [
        (new InstanceLocation("host-1", "rack-a"), 1.5, 0.0),
        (new InstanceLocation("host-2", "rack-a"), 4.0, 0.0),
        (new InstanceLocation("host-3", "rack-b"), 12.0, 0.01),
        (new InstanceLocation("host-4", "zone-2"), 30.0, 0.03),
    ];

    public sealed record Result(Policy Policy, double Utilisation, double MeanRoundTripMs, double MeanAuxPerCallMs, double P95AuxPerCallMs, double MeanLatencyMs);

    /// <summary>Replays the seeded workload under one policy.</summary>
    /// <param name="policy">How the serving idle instance is chosen.</param>
    /// <param name="instancesPerLocation">Warm instances at each location.</param>
    /// <param name="utilisation">Offered load as a share of the instances' capacity when placement ignores channels.</param>
    /// <param name="calls">How many calls.</param>
    /// <param name="seed">The workload's seed.</param>
    /// <returns>The policy's auxiliary times.</returns>
    public static Result Run(Policy policy, int instancesPerLocation, double utilisation, int calls = 20_000, int seed = 7)
    {
        const double ComputeMs = 20;
        const double Likelihood = 0.8;
        const int RoundTripsPerCall = 3;
        const double RetryPenaltyMs = 100;
        var workload = new Random(seed);   // arrivals, whether a call uses the database: identical for every policy
        var network = new Random(seed + 1); // jitter and failures, also identical per draw order
        var choice = new Random(seed + 2);  // the random policy's own choices

        var locations = Channels.Length;
        var instances = Enumerable.Range(0, locations * instancesPerLocation).Select(i => i % locations).ToArray();
        var n = instances.Length;
        // Offered load relative to the capacity of placement-blind serving (compute plus the average channel).
        var blindServiceMs = ComputeMs + (Likelihood * RoundTripsPerCall * Channels.Average(c => c.RttMs + (c.FailureRate * RetryPenaltyMs)));
        var meanInterArrival = blindServiceMs / (utilisation * n);

        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var options = new ChannelQualityPlacementOptions { ProbeFromLocalLocation = false, StaleAfter = TimeSpan.FromMinutes(5) };
        var function = new FunctionDefinition("orders", new DelegateFunctionCode((_, _) => default))
        {
            TaskProfile = new TaskProfile { AuxiliaryEndpoints = new Dictionary<string, double> { [Db] = Likelihood } },
        };
        var placer = new ChannelQualityPlacer(
            Microsoft.Extensions.Options.Options.Create(options), time, new global::OnDemandExecution.Diagnostics.OnDemandMetrics(), [], new SingleCatalog(function));

        var idle = new List<int>(Enumerable.Range(0, n)); // a stack: the end is the instance released last
        var busyAt = new int[locations];
        var releases = new PriorityQueue<(int Instance, double At), double>();
        var waiting = new Queue<double>();
        double now = 0, nextArrival = 0, lastRecompute = 0;
        double roundTripSum = 0, latencySum = 0;
        long roundTrips = 0;
        var auxPerCall = new List<double>(calls);
        var arrived = 0;
        var served = 0;

        // Draws for every call up front, so every policy replays the same calls.
        var usesDb = new bool[calls];
        var interArrivals = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            usesDb[i] = workload.NextDouble() < Likelihood;
            interArrivals[i] = -Math.Log(1 - workload.NextDouble()) * meanInterArrival;
        }

        void Start(int instance, double arrivedAt)
        {
            var loc = instance % locations;
            var (location, rtt, failureRate) = Channels[loc];
            double aux = 0;
            if (usesDb[served])
            {
                for (var r = 0; r < RoundTripsPerCall; r++)
                {
                    var sample = rtt * (0.8 + (0.4 * network.NextDouble()));
                    var failed = network.NextDouble() < failureRate;
                    var cost = sample + (failed ? RetryPenaltyMs : 0);
                    aux += cost;
                    roundTripSum += cost;
                    roundTrips++;
                    placer.Record(location, Db, !failed, TimeSpan.FromMilliseconds(sample));
                }
            }

            served++;
            auxPerCall.Add(aux);
            busyAt[loc]++;
            var done = now + ComputeMs + aux;
            latencySum += done - arrivedAt;
            releases.Enqueue((instance, done), done);
        }

        int Choose()
        {
            switch (policy)
            {
                case Policy.Random:
                    return choice.Next(idle.Count);
                case Policy.LeastLoaded:
                    {
                        var best = -1;
                        for (var i = idle.Count - 1; i >= 0; i--)
                        {
                            if (best < 0 || busyAt[idle[i] % locations] < busyAt[idle[best] % locations])
                            {
                                best = i;
                            }
                        }

                        return best;
                    }

                case Policy.Placer when placer.TryGetPlan(function.Name, out var plan):
                    {
                        var best = -1;
                        var bestPenalty = double.PositiveInfinity;
                        for (var i = idle.Count - 1; i >= 0; i--)
                        {
                            var penalty = plan.PenaltyOf(Channels[idle[i] % locations].Location);
                            if (penalty < bestPenalty)
                            {
                                best = i;
                                bestPenalty = penalty;
                            }
                        }

                        return best;
                    }

                default:
                    return idle.Count - 1; // LIFO
            }
        }

        nextArrival = interArrivals[0];
        while (served < calls)
        {
            var nextRelease = releases.Count > 0 ? releases.Peek().At : double.PositiveInfinity;
            if (arrived < calls && nextArrival <= nextRelease)
            {
                now = nextArrival;
                arrived++;
                waiting.Enqueue(now);
                nextArrival = arrived < calls ? now + interArrivals[arrived] : double.PositiveInfinity;
            }
            else
            {
                var (instance, at) = releases.Dequeue();
                now = at;
                busyAt[instance % locations]--;
                idle.Add(instance);
            }

            if (now - lastRecompute >= 1000)
            {
                time.Advance(TimeSpan.FromMilliseconds(now - lastRecompute));
                lastRecompute = now;
                placer.Recompute();
            }

            while (waiting.Count > 0 && idle.Count > 0)
            {
                var at = Choose();
                var instance = idle[at];
                idle.RemoveAt(at);
                Start(instance, waiting.Dequeue());
            }
        }

        auxPerCall.Sort();
        return new Result(
            policy,
            utilisation,
            roundTripSum / Math.Max(roundTrips, 1),
            auxPerCall.Average(),
            auxPerCall[(int)(auxPerCall.Count * 0.95)],
            latencySum / calls);
    }

    public static string Table(IEnumerable<Result> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| Load | Policy | Mean auxiliary round trip (ms) | Mean auxiliary time per call (ms) | p95 auxiliary time per call (ms) | Mean call latency (ms) |");
        sb.AppendLine("| ---: | --- | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        {
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Utilisation:P0} | {r.Policy} | {r.MeanRoundTripMs:F2} | {r.MeanAuxPerCallMs:F2} | {r.P95AuxPerCallMs:F2} | {r.MeanLatencyMs:F2} |"));
        }

        return sb.ToString();
    }

    private sealed class SingleCatalog(FunctionDefinition function) : IFunctionCatalog
    {
        public IReadOnlyCollection<FunctionDefinition> Functions => [function];

        public bool TryGetFunction(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out FunctionDefinition? definition)
        {
            definition = name == function.Name ? function : null;
            return definition is not null;
        }

        public void Register(FunctionDefinition definition) => throw new NotSupportedException();
    }
}
