namespace OnDemandExecution.Simulation;

/// <summary>How far one policy's replay has got (<see cref="ReplayOptions.Progress"/>).</summary>
/// <param name="Policy">The policy's name.</param>
/// <param name="Invocations">Invocations started so far.</param>
/// <param name="VirtualTime">Virtual time reached, from the trace's start.</param>
/// <param name="Duration">The trace's duration (the accounting horizon).</param>
public readonly record struct ReplayProgress(string Policy, long Invocations, TimeSpan VirtualTime, TimeSpan Duration)
{
    /// <summary>The fraction of the trace's duration replayed, 0 to 1 (1 for an empty trace).</summary>
    public double Fraction => Duration <= TimeSpan.Zero ? 1 : Math.Clamp(VirtualTime / Duration, 0, 1);
}
