namespace OnDemandExecution.Simulation;

/// <summary>The platform a trace is replayed on.</summary>
public sealed record ReplayOptions
{
    /// <summary>The provider's latencies.</summary>
    public SimulatedProviderOptions Provider { get; init; } = new();

    /// <summary><see cref="OnDemandExecutionOptions.WarmingPoolSize"/>. Default 4.</summary>
    public int WarmingPoolSize { get; init; } = 4;

    /// <summary>Memory of an instance, in MiB (<see cref="OnDemandExecutionOptions.WarmInstance"/>). Default 256.</summary>
    public int InstanceMemoryMb { get; init; } = 256;

    /// <summary>
    /// Whether functions whose trace memory exceeds <see cref="InstanceMemoryMb"/> ask for larger instances (which skips
    /// the warming pool, as the pools do for such functions). Default false: every instance is created with
    /// <see cref="InstanceMemoryMb"/>. Either way, idle GB-s account a loaded instance with its function's trace memory.
    /// </summary>
    public bool UseTraceMemory { get; init; }

    /// <summary><see cref="OnDemandExecutionOptions.MaintenanceInterval"/>. Default 1 second.</summary>
    public TimeSpan MaintenanceInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary><see cref="OnDemandExecutionOptions.MaxInstances"/>. Default 100000 (capacity is not what is measured).</summary>
    public int MaxInstances { get; init; } = 100_000;

    /// <summary>
    /// How many policies <see cref="TraceReplayer.ReplayAll"/> replays at once, each on a thread of its own. Default null:
    /// <see cref="Environment.ProcessorCount"/>. Results do not depend on it.
    /// </summary>
    public int? MaxDegreeOfParallelism { get; init; }

    /// <summary>
    /// Called with the replay's services when the trace is done, before they are disposed: read what a registered
    /// component (a correlator's statistics, for example) accounted. Default none.
    /// </summary>
    public Action<IServiceProvider>? Inspect { get; init; }

    /// <summary>
    /// Told how far each policy's replay has got: every <see cref="ProgressInterval"/> invocations and once at the end,
    /// on the replay's thread (several policies report from several threads). Default none. Results do not depend on it.
    /// </summary>
    public IProgress<ReplayProgress>? Progress { get; init; }

    /// <summary>How many invocations pass between two <see cref="Progress"/> reports (at least 1). Default 16384.</summary>
    public int ProgressInterval { get; init; } = 16_384;

    /// <summary>When virtual time starts (only dates in logs depend on it).</summary>
    public DateTimeOffset Start { get; init; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
}
