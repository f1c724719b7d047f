namespace OnDemandExecution.Simulation;

/// <summary>One source of synthetic invocations.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Function">The function.</param>
/// <param name="MeanDuration">The mean execution time (each invocation draws from 0.5x to 1.5x of it).</param>
public abstract record SyntheticWorkload(string Tenant, string Function, TimeSpan MeanDuration);

/// <summary>A timer: a beat every <paramref name="Period"/>, moved by up to +/- <paramref name="Jitter"/> (uniform).</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Function">The function.</param>
/// <param name="MeanDuration">The mean execution time.</param>
/// <param name="Period">The period.</param>
/// <param name="Jitter">The largest deviation of a beat from its clock.</param>
/// <param name="Offset">When the first beat is due.</param>
/// <param name="BurstSize">How many requests each beat brings.</param>
/// <param name="BurstSpacing">The time between the requests of a burst.</param>
/// <param name="MissProbability">The probability that a beat brings no request.</param>
public sealed record TimerWorkload(
    string Tenant,
    string Function,
    TimeSpan MeanDuration,
    TimeSpan Period,
    TimeSpan Jitter,
    TimeSpan Offset = default,
    int BurstSize = 1,
    TimeSpan BurstSpacing = default,
    double MissProbability = 0) : SyntheticWorkload(Tenant, Function, MeanDuration);

/// <summary>Poisson arrivals.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Function">The function.</param>
/// <param name="MeanDuration">The mean execution time.</param>
/// <param name="PerMinute">The mean arrivals per minute.</param>
public sealed record PoissonWorkload(string Tenant, string Function, TimeSpan MeanDuration, double PerMinute) : SyntheticWorkload(Tenant, Function, MeanDuration);

/// <summary>On/off traffic: Poisson at <paramref name="PerMinuteWhenOn"/> during "on" periods, silence in between (both lengths exponential around their means).</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Function">The function.</param>
/// <param name="MeanDuration">The mean execution time.</param>
/// <param name="MeanOn">The mean length of an "on" period.</param>
/// <param name="MeanOff">The mean length of an "off" period.</param>
/// <param name="PerMinuteWhenOn">The arrival rate while on.</param>
public sealed record BurstyWorkload(string Tenant, string Function, TimeSpan MeanDuration, TimeSpan MeanOn, TimeSpan MeanOff, double PerMinuteWhenOn)
    : SyntheticWorkload(Tenant, Function, MeanDuration);

/// <summary>A chain: Poisson calls of <paramref name="Function"/> (A), each followed after <paramref name="Delay"/> by <paramref name="Fanout"/> calls of <paramref name="Next"/> (B), announced by a pre-trigger key.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Function">The first function (A).</param>
/// <param name="MeanDuration">The mean execution time of both.</param>
/// <param name="Next">The function called after it (B).</param>
/// <param name="PerMinute">The rate of A.</param>
/// <param name="Fanout">How many calls of B follow each A.</param>
/// <param name="Delay">The time from A to the first B (the Bs follow 100 ms apart).</param>
public sealed record ChainWorkload(string Tenant, string Function, TimeSpan MeanDuration, string Next, double PerMinute, int Fanout, TimeSpan Delay)
    : SyntheticWorkload(Tenant, Function, MeanDuration);

/// <summary>Generates seeded synthetic traces, and the repository's presets.</summary>
public static class SyntheticTraceGenerator
{
    /// <summary>The preset names: <c>timer-heavy</c>, <c>mixed</c>, <c>poisson</c>.</summary>
    public static IReadOnlyList<string> Presets { get; } = ["timer-heavy", "mixed", "poisson"];

    /// <summary>Generates a trace.</summary>
    /// <param name="workloads">The sources.</param>
    /// <param name="length">How long the trace lasts.</param>
    /// <param name="seed">The seed: the same inputs give the same trace.</param>
    /// <returns>The trace.</returns>
    public static Trace Generate(IEnumerable<SyntheticWorkload> workloads, TimeSpan length, int seed)
    {
        ArgumentNullException.ThrowIfNull(workloads);
        var invocations = new List<TraceInvocation>();
        var functions = new List<TraceFunction>();
        var index = 0;
        foreach (var workload in workloads)
        {
            var random = new Random(unchecked((seed * 7919) + index++));
            TimeSpan Duration() => workload.MeanDuration * (0.5 + random.NextDouble());
            void Add(TimeSpan at, string function, string? preTrigger = null)
            {
                if (at >= TimeSpan.Zero && at < length)
                {
                    invocations.Add(new TraceInvocation(at, workload.Tenant, function, Duration(), preTrigger));
                }
            }

            switch (workload)
            {
                case TimerWorkload t:
                    functions.Add(new TraceFunction(t.Function, "timer"));
                    for (var beat = t.Offset; beat < length; beat += t.Period)
                    {
                        var at = beat + (t.Jitter * ((2 * random.NextDouble()) - 1));
                        if (random.NextDouble() < t.MissProbability)
                        {
                            continue;
                        }

                        for (var i = 0; i < Math.Max(1, t.BurstSize); i++)
                        {
                            Add(at + (t.BurstSpacing * i), t.Function);
                        }
                    }

                    break;
                case PoissonWorkload p:
                    functions.Add(new TraceFunction(p.Function, "http"));
                    for (var at = Exponential(random, p.PerMinute); at < length; at += Exponential(random, p.PerMinute))
                    {
                        Add(at, p.Function);
                    }

                    break;
                case BurstyWorkload b:
                    functions.Add(new TraceFunction(b.Function, "queue"));
                    var on = false;
                    for (var start = TimeSpan.Zero; start < length;)
                    {
                        var span = TimeSpan.FromSeconds(-Math.Log(1 - random.NextDouble()) * (on ? b.MeanOn : b.MeanOff).TotalSeconds);
                        if (on)
                        {
                            for (var at = start + Exponential(random, b.PerMinuteWhenOn); at < start + span; at += Exponential(random, b.PerMinuteWhenOn))
                            {
                                Add(at, b.Function);
                            }
                        }

                        start += span;
                        on = !on;
                    }

                    break;
                case ChainWorkload c:
                    functions.Add(new TraceFunction(c.Function, "http"));
                    functions.Add(new TraceFunction(c.Next, "orchestration"));
                    for (var at = Exponential(random, c.PerMinute); at < length; at += Exponential(random, c.PerMinute))
                    {
                        Add(at, c.Function);
                        for (var i = 0; i < c.Fanout; i++)
                        {
                            Add(at + c.Delay + TimeSpan.FromMilliseconds(100 * i), c.Next, c.Function);
                        }
                    }

                    break;
                default:
                    throw new ArgumentException($"Unknown workload type {workload.GetType().Name}.", nameof(workloads));
            }
        }

        return new Trace(invocations, length, functions);
    }

    /// <summary>Generates one of the <see cref="Presets"/>.</summary>
    /// <param name="name">The preset's name.</param>
    /// <param name="seed">The seed.</param>
    /// <param name="length">How long the trace lasts; default 4 hours.</param>
    /// <returns>The trace.</returns>
    /// <exception cref="ArgumentException">No preset has that name.</exception>
    public static Trace Preset(string name, int seed = 42, TimeSpan? length = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        var hours = length ?? TimeSpan.FromHours(4);
        return name switch
        {
            "timer-heavy" => Generate(TimerHeavy(), hours, seed),
            "mixed" => Generate(Mixed(), hours, seed),
            "poisson" => Generate(Poisson(), hours, seed),
            _ => throw new ArgumentException($"No synthetic preset named '{name}'; the presets are: {string.Join(", ", Presets)}.", nameof(name)),
        };
    }

    /// <summary>
    /// 30 timers of 1 to 60 minutes (most cron-aligned at the top of the minute, +/- 1 s of jitter; one in five brings a
    /// burst of three requests, one in five misses 10% of its beats), plus a little Poisson and bursty traffic.
    /// </summary>
    /// <returns>The workloads.</returns>
    public static IReadOnlyList<SyntheticWorkload> TimerHeavy()
    {
        var list = new List<SyntheticWorkload>();
        int[] periods = [1, 2, 5, 15, 30, 60];
        var n = 0;
        foreach (var minutes in periods)
        {
            for (var i = 0; i < 5; i++, n++)
            {
                list.Add(new TimerWorkload(
                    "tenant-" + (n % 10),
                    $"timer-{minutes}m-{i}",
                    TimeSpan.FromMilliseconds(200 + (100 * i)),
                    TimeSpan.FromMinutes(minutes),
                    TimeSpan.FromSeconds(1),
                    Offset: TimeSpan.FromSeconds(i == 1 ? 7 : 0), // cron-like: most fire at the top of the minute
                    BurstSize: i == 3 ? 3 : 1,
                    BurstSpacing: TimeSpan.FromMilliseconds(300),
                    MissProbability: i == 4 ? 0.1 : 0));
            }
        }

        list.Add(new PoissonWorkload("tenant-0", "api-0", TimeSpan.FromMilliseconds(150), 0.5));
        list.Add(new PoissonWorkload("tenant-1", "api-1", TimeSpan.FromMilliseconds(150), 0.2));
        list.Add(new PoissonWorkload("tenant-2", "api-2", TimeSpan.FromMilliseconds(150), 0.05));
        list.Add(new BurstyWorkload("tenant-3", "queue-3", TimeSpan.FromMilliseconds(400), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(30), 6));
        return list;
    }

    /// <summary>Mostly aperiodic: Poisson, bursty and chained traffic, with a few timers.</summary>
    /// <returns>The workloads.</returns>
    public static IReadOnlyList<SyntheticWorkload> Mixed()
    {
        var list = new List<SyntheticWorkload>();
        for (var i = 0; i < 8; i++)
        {
            list.Add(new PoissonWorkload("tenant-" + (i % 4), "api-" + i, TimeSpan.FromMilliseconds(100 + (50 * i)), 0.05 * (1 << (i % 5))));
        }

        for (var i = 0; i < 4; i++)
        {
            list.Add(new BurstyWorkload("tenant-" + i, "queue-" + i, TimeSpan.FromMilliseconds(300), TimeSpan.FromMinutes(1 + i), TimeSpan.FromMinutes(20 + (10 * i)), 10));
        }

        list.Add(new ChainWorkload("tenant-0", "order", TimeSpan.FromMilliseconds(200), "invoice", 0.2, 3, TimeSpan.FromSeconds(2)));
        list.Add(new ChainWorkload("tenant-1", "upload", TimeSpan.FromMilliseconds(500), "thumbnail", 0.1, 2, TimeSpan.FromSeconds(1)));
        for (var i = 0; i < 4; i++)
        {
            list.Add(new TimerWorkload("tenant-" + i, "cron-" + i, TimeSpan.FromMilliseconds(300), TimeSpan.FromMinutes(5 * (i + 1)), TimeSpan.FromSeconds(1)));
        }

        return list;
    }

    /// <summary>Poisson traffic only, at rates from one per hour to one per minute.</summary>
    /// <returns>The workloads.</returns>
    public static IReadOnlyList<SyntheticWorkload> Poisson()
    {
        var list = new List<SyntheticWorkload>();
        double[] rates = [1.0 / 60, 0.1, 0.25, 0.5, 1];
        for (var i = 0; i < 10; i++)
        {
            list.Add(new PoissonWorkload("tenant-" + (i % 5), "poisson-" + i, TimeSpan.FromMilliseconds(200), rates[i % rates.Length]));
        }

        return list;
    }

    private static TimeSpan Exponential(Random random, double perMinute) =>
        TimeSpan.FromSeconds(-Math.Log(1 - random.NextDouble()) * 60 / perMinute);
}
