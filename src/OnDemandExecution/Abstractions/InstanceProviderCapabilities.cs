namespace OnDemandExecution;

/// <summary>What an <see cref="IInstanceProvider"/> can do; the pools adapt to it.</summary>
public sealed record InstanceProviderCapabilities
{
    /// <summary>How instances are isolated.</summary>
    public IsolationLevel Isolation { get; init; }

    /// <summary>
    /// Instances can be scrubbed back to a fresh, unassigned state by <see cref="IInstance.RecycleAsync"/>, so an
    /// expired active instance may return to the warming pool instead of being destroyed.
    /// </summary>
    public bool SupportsRecycle { get; init; }

    /// <summary>Idle instances can be paused and resumed (<see cref="IInstance.PauseAsync"/>) to save CPU.</summary>
    public bool SupportsPause { get; init; }

    /// <summary>The provider restores new instances from a snapshot instead of booting them.</summary>
    public bool SupportsSnapshot { get; init; }
}
