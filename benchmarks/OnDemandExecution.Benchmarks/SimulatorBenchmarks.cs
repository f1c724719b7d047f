using BenchmarkDotNet.Attributes;
using OnDemandExecution.Simulation;

namespace OnDemandExecution.Benchmarks;

/// <summary>
/// Trace replay throughput on one core: ten minutes of the real day (09:00-09:10, 33,669 invocations of 500 functions,
/// traces/azure2019-500fn-slice) replayed through the real executor, pools and policy on virtual time, one policy per
/// benchmark. Each operation is one invocation (OperationsPerInvoke), so 1 s / Mean is invocations per second. The
/// baseline is the fixed 10-minute keep-alive, the policy a user compares the others with.
/// </summary>
[MemoryDiagnoser]
public class SimulatorBenchmarks
{
    private const int Invocations = 33_669;
    private Trace _slice = null!;

    [GlobalSetup]
    public void Setup()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "traces", "azure2019-500fn-slice");
        _slice = AzureFunctionsTrace.Read(
            Path.Combine(dir, "invocations_per_function_md.anon.d01.csv"),
            Path.Combine(dir, "function_durations_percentiles.anon.d01.csv"),
            Path.Combine(dir, "app_memory_percentiles.anon.d01.csv"),
            seed: 42);
        if (_slice.Invocations.Count != Invocations)
        {
            throw new InvalidOperationException($"The slice has {_slice.Invocations.Count} invocations, expected {Invocations}.");
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Invocations, Description = "replay, fixed 10 min")]
    public long Fixed() => TraceReplayer.Replay(_slice, KeepAlivePolicySpec.Fixed(TimeSpan.FromMinutes(10))).WarmHits;

    [Benchmark(OperationsPerInvoke = Invocations, Description = "replay, no keep-alive")]
    public long None() => TraceReplayer.Replay(_slice, KeepAlivePolicySpec.None).WarmHits;

    [Benchmark(OperationsPerInvoke = Invocations, Description = "replay, hybrid histogram")]
    public long Hybrid() => TraceReplayer.Replay(_slice, KeepAlivePolicySpec.HybridHistogram()).WarmHits;

    [Benchmark(OperationsPerInvoke = Invocations, Description = "replay, periodic")]
    public long Periodic() => TraceReplayer.Replay(_slice, KeepAlivePolicySpec.Periodic()).WarmHits;
}
