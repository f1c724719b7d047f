namespace OnDemandExecution;

/// <summary>Where an <see cref="InvocationResult"/> came from.</summary>
public enum ResultOrigin
{
    /// <summary>The function ran for this request.</summary>
    Executed,

    /// <summary>An idempotent function's stored result: same input, dependencies in the same state as at a prior successful execution.</summary>
    Cached,

    /// <summary>An identical request to an idempotent function was running; its result was shared (single flight).</summary>
    Coalesced,
}
