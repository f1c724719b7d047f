using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace OnDemandExecution.Oci.Benchmarks;

/// <summary>
/// Macro benchmarks (tens to hundreds of milliseconds each): monitoring strategy, one invocation per iteration, 2
/// warm-ups and 15 measured iterations, run in this process (no generated project to build: on a loaded 2-core
/// machine that build alone exceeds BenchmarkDotNet's two-minute limit).
/// </summary>
public sealed class InProcessMonitoringConfig : ManualConfig
{
    public InProcessMonitoringConfig()
    {
        AddJob(Job.Default
            .WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1)
            .WithWarmupCount(2)
            .WithIterationCount(15)
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithToolchain(InProcessEmitToolchain.Instance));
    }
}
