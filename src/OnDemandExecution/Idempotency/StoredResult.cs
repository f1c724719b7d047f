namespace OnDemandExecution;

/// <summary>A successful result of an idempotent function, as kept in an <see cref="IIdempotencyCache"/>.</summary>
/// <param name="Output">The function's output.</param>
/// <param name="StartKind">How the instance that produced it was obtained.</param>
/// <param name="InstanceId">The instance that produced it.</param>
/// <param name="ExpiresAt">When it may no longer be returned; null when it does not expire.</param>
public sealed record StoredResult(ReadOnlyMemory<byte> Output, StartKind StartKind, string InstanceId, DateTimeOffset? ExpiresAt);
