namespace OnDemandExecution;

/// <summary>How long each phase of one invocation took.</summary>
/// <param name="QueueWait">Time spent waiting for the function's concurrency limit.</param>
/// <param name="Provisioning">Time spent creating a new instance (cold starts only; zero otherwise).</param>
/// <param name="CodeLoad">Time spent loading the function's code into the instance (zero on a warm hit).</param>
/// <param name="Execution">Time the instance spent running the function.</param>
/// <param name="Total">Time from the call to its result.</param>
public readonly record struct InvocationTimings(
    TimeSpan QueueWait,
    TimeSpan Provisioning,
    TimeSpan CodeLoad,
    TimeSpan Execution,
    TimeSpan Total);
