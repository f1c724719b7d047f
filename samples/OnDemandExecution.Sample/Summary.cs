using System.Globalization;
using OnDemandExecution;
using OnDemandExecution.Diagnostics;

namespace OnDemandExecution.Sample;

/// <summary>Prints what the workload did: calls, failures, start kinds and latencies, the pools and the meter.</summary>
internal static class Summary
{
    private static readonly (string Name, string Code, string Callers)[] Functions =
    [
        (Workload.HashFunction, "delegate", "steady"),
        (Workload.QuoteFunction, "handler type", "periodic"),
        (Workload.WordCountFunction, "assembly", "bursty"),
        (Workload.ThumbnailFunction, "delegate, 1 GiB", "bursty"),
    ];

    private static readonly StartKind[] Kinds = [StartKind.Cold, StartKind.WarmPool, StartKind.Warm];

    /// <summary>Prints the summary; true when no call failed unexpectedly.</summary>
    public static bool Print(
        TextWriter w,
        OnDemandExecutionOptions options,
        CallStats stats,
        TimeSpan elapsed,
        PoolSnapshot atEnd,
        PoolSnapshot afterStop,
        MeterCollector meter,
        FeatureReport features)
    {
        var records = stats.Records.ToList();
        var ok = records.Where(r => r.Failure is null).ToList();
        var failed = records.Where(r => r.Failure is not null).ToList();
        var unexpected = failed.Where(r => !r.Expected).ToList();
        void Line(FormattableString text) => w.WriteLine(FormattableString.Invariant(text).TrimEnd());

        void LatencyRow(string label, List<CallRecord> calls)
        {
            if (calls.Count == 0)
            {
                Line($"  {label,-20} {0,9}");
                return;
            }

            var total = Sorted(calls, t => t.Total);
            var provisioning = Sorted(calls, t => t.Provisioning);
            var load = Sorted(calls, t => t.CodeLoad);
            Line($"  {label,-20} {calls.Count,9} {Percentile(total, 0.50),11:F3} {Percentile(total, 0.99),11:F3} {total[^1],11:F3} {Percentile(provisioning, 0.50),18:F3} {Percentile(load, 0.50),15:F3}");
        }

        w.WriteLine();
        Line($"OnDemandExecution sample: in-process provider, {Workload.TenantIds.Count} tenants ({string.Join(", ", Workload.TenantIds)}), {elapsed.TotalSeconds:F2} s of traffic");
        Line($"Options: WarmingPoolSize {options.WarmingPoolSize}, KeepAlive {options.KeepAlive.TotalSeconds:0.#} s (quote {Workload.QuoteKeepAlive.TotalSeconds:0.#} s), MaintenanceInterval {options.MaintenanceInterval.TotalMilliseconds:0} ms, MaxInstances {options.MaxInstances}, WarmInstance.MemoryMb {options.WarmInstance.MemoryMb}");

        w.WriteLine();
        w.WriteLine("Invocations                              calls      ok  failed    Cold  WarmPool    Warm");
        foreach (var (name, code, callers) in Functions)
        {
            var mine = records.Where(r => r.Function == name).ToList();
            Line($"  {$"{name} ({code}, {callers})",-36} {Row(mine)}");
        }

        Line($"  {"total",-36} {Row(records)}");
        w.WriteLine("  (in-process instances are created in microseconds, so the warming pool refills while a burst arrives and");
        w.WriteLine("  wordcount's extra instances come from it; thumbnail needs more memory than warming-pool instances have,");
        w.WriteLine("  so each new instance of it is a cold start sized for it)");

        w.WriteLine();
        w.WriteLine("Failures by type");
        if (failed.Count == 0)
        {
            w.WriteLine("  none");
        }

        foreach (var group in failed.GroupBy(r => (r.Failure, r.Expected)).OrderByDescending(g => g.Count()))
        {
            var why = group.Key switch
            {
                (nameof(QueueFullException), true) => $"expected: a burst of {Workload.BurstSize} exceeds wordcount's MaxConcurrency {Workload.WordCountMaxConcurrency} + MaxQueueLength {Workload.WordCountMaxQueueLength}",
                (nameof(FunctionExecutionException), true) => "expected: one empty document per burst, rejected by the function",
                _ => "UNEXPECTED",
            };
            Line($"  {group.Key.Failure,-30} {group.Count(),5}  {why}");
        }

        foreach (var r in unexpected.Take(10))
        {
            Line($"    {r.Detail}");
        }

        w.WriteLine();
        w.WriteLine("Latency by start kind, successful calls (InvocationResult.Timings, ms)");
        w.WriteLine("  start kind / function    calls   total p50   total p99   total max   provisioning p50   code load p50");
        foreach (var kind in Kinds)
        {
            var mine = ok.Where(r => r.StartKind == kind).ToList();
            LatencyRow(kind.ToString(), mine);
            foreach (var (name, _, _) in Functions)
            {
                var theirs = mine.Where(r => r.Function == name).ToList();
                if (theirs.Count > 0 && theirs.Count < mine.Count)
                {
                    LatencyRow("  " + name, theirs);
                }
            }
        }

        w.WriteLine("  (the work differs by function: hash and quote answer at once, thumbnail takes 10 ms, wordcount 150 ms)");

        w.WriteLine();
        w.WriteLine("Pools at the end of the traffic (IInstancePoolManager.GetSnapshot())");
        Line($"  warm {atEnd.Warm}, idle {atEnd.Idle}, busy {atEnd.Busy}, assigned {atEnd.Assigned}, provisioning {atEnd.Provisioning}, recycling {atEnd.Recycling}: live {atEnd.Live}");
        Line($"  since start: created {atEnd.Created}, destroyed {atEnd.Destroyed}, recycled into the warming pool {atEnd.Recycled}");
        Line($"  after the host stopped: live {afterStop.Live}, destroyed {afterStop.Destroyed}");

        w.WriteLine();
        Line($"Meter \"{OnDemandExecutionDiagnostics.Name}\" (MeterListener, whole run)");
        foreach (var instrument in new[]
                 {
                     OnDemandExecutionDiagnostics.Invocations,
                     OnDemandExecutionDiagnostics.InstancesCreated,
                     OnDemandExecutionDiagnostics.InstancesDestroyed,
                     OnDemandExecutionDiagnostics.InstancesRecycled,
                 })
        {
            var details = string.Join(", ", meter.ByDetail(instrument).Select(kv => $"{kv.Key} {kv.Value}"));
            Line($"  {instrument,-30} {meter.Total(instrument),5}  {details}");
        }

        var featuresOk = features.Print(w, meter);

        w.WriteLine();
        var expectedFailures = failed.Count - unexpected.Count;
        Line(
            $"Result: {(unexpected.Count == 0 && featuresOk ? "OK" : "FAILED")}: {records.Count} calls, {ok.Count} succeeded, {expectedFailures} failed as intended, {unexpected.Count} unexpected; features {(featuresOk ? "as intended" : "NOT as intended")}.");
        return unexpected.Count == 0 && featuresOk;
    }

    private static string Row(List<CallRecord> records)
    {
        var ok = records.Where(r => r.Failure is null).ToList();
        int Count(StartKind kind) => ok.Count(r => r.StartKind == kind);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{records.Count,5} {ok.Count,7} {records.Count - ok.Count,7} {Count(StartKind.Cold),7} {Count(StartKind.WarmPool),9} {Count(StartKind.Warm),7}");
    }

    private static double[] Sorted(List<CallRecord> records, Func<InvocationTimings, TimeSpan> phase) =>
        records.Select(r => phase(r.Timings).TotalMilliseconds).Order().ToArray();

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double Percentile(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
