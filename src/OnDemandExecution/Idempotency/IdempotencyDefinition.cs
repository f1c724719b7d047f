namespace OnDemandExecution;

/// <summary>
/// Declares a function idempotent (<see cref="FunctionDefinition.Idempotency"/>): its output depends only on its input
/// and on the state of <see cref="Dependencies"/>, read through <see cref="IDependencyStateProvider"/>.
/// </summary>
public sealed record IdempotencyDefinition
{
    /// <summary>The dependencies whose state (version, ETag, hash) the output depends on, by name; may be empty (the output depends on the input alone).</summary>
    public IReadOnlyList<string> Dependencies { get; init; } = [];

    /// <summary>How long a stored result may be returned; null (the default) until the cache evicts it.</summary>
    public TimeSpan? ResultTimeToLive { get; init; }
}
