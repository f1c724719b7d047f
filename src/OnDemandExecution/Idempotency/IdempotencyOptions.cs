namespace OnDemandExecution;

/// <summary>Bounds of the default in-memory result cache (<see cref="MemoryIdempotencyCache"/>).</summary>
public sealed class IdempotencyOptions
{
    /// <summary>The most results kept; the least recently used is dropped first.</summary>
    public int CacheCapacity { get; set; } = 1024;

    /// <summary>The most output bytes kept in total; larger totals drop the least recently used results.</summary>
    public long CacheMaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Results with a larger output are returned but not stored.</summary>
    public int MaxResultBytes { get; set; } = 1024 * 1024;
}
