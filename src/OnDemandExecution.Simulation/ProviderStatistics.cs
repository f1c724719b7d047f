namespace OnDemandExecution.Simulation;

/// <summary>What a <see cref="SimulatedInstanceProvider"/> accounted up to a moment of virtual time.</summary>
/// <param name="Created">Instances created.</param>
/// <param name="Disposed">Instances disposed.</param>
/// <param name="Loads">Code loads (every start that was not a warm hit, and every pre-load).</param>
/// <param name="Recycled">Instances scrubbed back into the warming pool.</param>
/// <param name="IdleWarmSeconds">Instance-seconds spent unassigned in the warming pool.</param>
/// <param name="IdleLoadedSeconds">Instance-seconds spent loaded and idle in the active pool.</param>
/// <param name="BusySeconds">Instance-seconds spent running invocations.</param>
/// <param name="IdleGbSeconds">
/// Idle memory, in GB-seconds (GiB x s): loaded-and-idle instance-seconds times the loaded function's memory (the trace's,
/// when it gives one; else the instance's), plus warming-pool instance-seconds times the instance's memory. Busy,
/// loading and recycling time is not idle.
/// </param>
/// <param name="PreloadedNeverInvoked">Loads that no invocation used before the instance was retired (pre-loaded for nothing).</param>
/// <param name="WarmNeverUsed">Instances retired without ever having been loaded (pre-warmed for nothing).</param>
public readonly record struct ProviderStatistics(
    long Created,
    long Disposed,
    long Loads,
    long Recycled,
    double IdleWarmSeconds,
    double IdleLoadedSeconds,
    double BusySeconds,
    double IdleGbSeconds,
    long PreloadedNeverInvoked,
    long WarmNeverUsed)
{
    /// <summary>Idle instance-seconds: warm and loaded.</summary>
    public double IdleSeconds => IdleWarmSeconds + IdleLoadedSeconds;

    /// <summary>Instances prepared ahead of demand and never used: <see cref="PreloadedNeverInvoked"/> + <see cref="WarmNeverUsed"/>.</summary>
    public long OverProvisioned => PreloadedNeverInvoked + WarmNeverUsed;
}
