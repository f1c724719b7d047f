namespace OnDemandExecution.Simulation;

/// <summary>How a <see cref="SimulatedInstanceProvider"/> behaves: its latencies on virtual time.</summary>
public sealed record SimulatedProviderOptions
{
    /// <summary>
    /// How long creating an instance takes (the part of a cold start a warming pool saves). Default 500 ms (a microVM
    /// restored from a snapshot; a cold boot takes seconds).
    /// </summary>
    public TimeSpan CreateLatency { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long loading a function's code takes (paid by warming-pool and cold starts, not by warm hits). Default 50 ms.</summary>
    public TimeSpan LoadLatency { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long scrubbing an instance back into the warming pool takes. Default zero.</summary>
    public TimeSpan RecycleLatency { get; init; } = TimeSpan.Zero;

    /// <summary>Whether instances can be recycled into the warming pool. Default true.</summary>
    public bool SupportsRecycle { get; init; } = true;
}
