using Microsoft.Extensions.Options;
using System.Globalization;
using OnDemandExecution;
using OnDemandExecution.Simulation;
var dir = Environment.GetEnvironmentVariable("TRACE_DIR") ?? "../shared/traces/azure2019-day-500fn/";
var hours = double.Parse(args[0], CultureInfo.InvariantCulture);
var every = int.Parse(args[1]);
var full = AzureFunctionsTrace.Read(dir + "invocations_per_function_md.anon.d01.csv", dir + "function_durations_percentiles.anon.d01.csv", dir + "app_memory_percentiles.anon.d01.csv", 42);
var only = Environment.GetEnvironmentVariable("ONLY");
var names = full.Functions.Keys.Order(StringComparer.Ordinal).Where((n, i) => only is null ? i % every == 0 : n.StartsWith(only)).ToHashSet();
var limit = TimeSpan.FromHours(hours);
var trace = new Trace(full.Invocations.Where(i => i.Time < limit && names.Contains(i.Function)), limit, full.Functions.Values.Where(f => names.Contains(f.Function)));
Console.WriteLine($"{trace.Invocations.Count} invocations, {trace.Functions.Count} functions");
var specs = new List<KeepAlivePolicySpec>();
foreach (var a in args.Skip(2))
{
    specs.Add(a switch
    {
        "none" => KeepAlivePolicySpec.None,
        "f10" => KeepAlivePolicySpec.Fixed(TimeSpan.FromMinutes(10)),
        "f20" => KeepAlivePolicySpec.Fixed(TimeSpan.FromMinutes(20)),
        "hh" => KeepAlivePolicySpec.HybridHistogram(),
        "per" => KeepAlivePolicySpec.Periodic(),
        _ when a.StartsWith("np") => KeepAlivePolicySpec.Adaptive(double.Parse(a[2..], CultureInfo.InvariantCulture), o => o.UsePeriodicity = false) with { Name = a },
        _ when a.StartsWith('m') => KeepAlivePolicySpec.Adaptive(double.Parse(a.Split('_')[1], CultureInfo.InvariantCulture), o => o.MinimumKeepAlive = TimeSpan.FromSeconds(double.Parse(a[1..].Split('_')[0], CultureInfo.InvariantCulture))) with { Name = a },
        _ => KeepAlivePolicySpec.Adaptive(double.Parse(a, CultureInfo.InvariantCulture)),
    });
}
if (Environment.GetEnvironmentVariable("FAST") == "1")
{
    var exec = Options.Create(new OnDemandExecutionOptions());
    foreach (var a in args.Skip(2))
    {
        Fast.Run(trace, a, (t, p) => a switch
        {
            "f10" => new FixedKeepAlivePolicy(TimeSpan.FromMinutes(10)),
            "f20" => new FixedKeepAlivePolicy(TimeSpan.FromMinutes(20)),
            "hh" => new HybridHistogramKeepAlivePolicy(p, t, Options.Create(new HybridHistogramOptions())),
            "per" => new PeriodicKeepAlivePolicy(p, t, Options.Create(new PeriodicKeepAliveOptions()), exec),
            _ when a.StartsWith("np") => new AdaptiveCapacityPolicy(p, t, Options.Create(new AdaptiveCapacityOptions { ColdStartCost = double.Parse(a[2..], CultureInfo.InvariantCulture), UsePeriodicity = false }), exec),
            _ => new AdaptiveCapacityPolicy(p, t, Options.Create(new AdaptiveCapacityOptions { ColdStartCost = double.Parse(a, CultureInfo.InvariantCulture) }), exec),
        });
    }
    return;
}
var opts = new ReplayOptions { UseTraceMemory = true };
var results = new List<ReplayResult>();
foreach (var s in specs)
{
    var sw = System.Diagnostics.Stopwatch.StartNew();
    var r = TraceReplayer.Replay(trace, s, opts);
    results.Add(r);
    var pf = r.Functions.Values.Where(f => f.Total > 0).Select(f => 100.0 * (f.Cold + f.WarmPool) / f.Total).Order().ToList();
    double P(double p) => pf[Math.Clamp((int)Math.Ceiling(p * pf.Count) - 1, 0, pf.Count - 1)];
    Console.WriteLine($"{r.Policy,-20} cold% {(r.ColdStartPercent + r.WarmPoolStartPercent):0.000} p50 {P(0.5):0.0} p75 {P(0.75):0.0} p99 {P(0.99):0.0} idleGBs {r.Provider.IdleGbSeconds:N0} warmpoolIdle {r.Provider.IdleWarmSeconds:N0} created {r.Provider.Created:N0} loads {r.Provider.Loads:N0} wall {sw.Elapsed.TotalSeconds:0}s");
}
