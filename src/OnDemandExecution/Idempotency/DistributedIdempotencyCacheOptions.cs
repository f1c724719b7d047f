namespace OnDemandExecution;

/// <summary>Options of <see cref="DistributedIdempotencyCache"/>.</summary>
public sealed class DistributedIdempotencyCacheOptions
{
    /// <summary>Prepended to every key, to keep the results apart from the application's other entries. Default "ondemand:idempotency:".</summary>
    public string KeyPrefix { get; set; } = "ondemand:idempotency:";
}
