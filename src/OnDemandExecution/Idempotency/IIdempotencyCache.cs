namespace OnDemandExecution;

/// <summary>
/// Where idempotent functions' results are kept, by key. The key is a SHA-256 (hex) of the function's name, the tenant,
/// the input and every dependency's state, so a key never matches a request of another tenant, another input or
/// another dependency state. The default, <see cref="MemoryIdempotencyCache"/>, is bounded and in memory; register
/// another (a distributed cache) with <c>builder.UseIdempotencyCache&lt;T&gt;()</c>.
/// </summary>
/// <remarks>Implementations must be thread-safe; they may drop entries at any time (a miss only costs an execution).</remarks>
public interface IIdempotencyCache
{
    /// <summary>Looks a result up.</summary>
    /// <param name="key">The request's key.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The stored result, or null.</returns>
    ValueTask<StoredResult?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Stores a result.</summary>
    /// <param name="key">The request's key.</param>
    /// <param name="result">The result.</param>
    /// <param name="cancellationToken">Cancels the store.</param>
    /// <returns>A task that completes when it is stored.</returns>
    ValueTask SetAsync(string key, StoredResult result, CancellationToken cancellationToken);
}
