namespace OnDemandExecution;

/// <summary>The outcome of a successful invocation.</summary>
public sealed class InvocationResult
{
    /// <summary>Creates a result.</summary>
    /// <param name="output">What the function returned.</param>
    /// <param name="startKind">How the instance was obtained.</param>
    /// <param name="timings">Per-phase durations.</param>
    /// <param name="instanceId">The instance that ran the function.</param>
    /// <param name="invocationId">The request's id.</param>
    public InvocationResult(ReadOnlyMemory<byte> output, StartKind startKind, InvocationTimings timings, string instanceId, string invocationId)
    {
        Output = output;
        StartKind = startKind;
        Timings = timings;
        InstanceId = instanceId;
        InvocationId = invocationId;
    }

    /// <summary>What the function returned.</summary>
    public ReadOnlyMemory<byte> Output { get; }

    /// <summary>Whether this was a warm hit, a warming-pool start or a cold start.</summary>
    public StartKind StartKind { get; }

    /// <summary>How long each phase took.</summary>
    public InvocationTimings Timings { get; }

    /// <summary>The instance that ran the function.</summary>
    public string InstanceId { get; }

    /// <summary>The request's id.</summary>
    public string InvocationId { get; }

    /// <summary>
    /// Whether the function ran for this request (<see cref="ResultOrigin.Executed"/>), or an idempotent function's
    /// stored result was returned (<see cref="ResultOrigin.Cached"/>), or the result of an identical request running at
    /// the same time was shared (<see cref="ResultOrigin.Coalesced"/>). For the last two, <see cref="StartKind"/> and
    /// <see cref="InstanceId"/> describe the execution that produced the output.
    /// </summary>
    public ResultOrigin Origin { get; init; }
}
