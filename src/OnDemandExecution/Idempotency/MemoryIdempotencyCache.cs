using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>
/// The default <see cref="IIdempotencyCache"/>: in memory, least recently used first out, bounded by
/// <see cref="IdempotencyOptions.CacheCapacity"/> entries and <see cref="IdempotencyOptions.CacheMaxBytes"/> output
/// bytes; expired entries (on the registered <see cref="TimeProvider"/>) are dropped when met.
/// </summary>
public sealed class MemoryIdempotencyCache : IIdempotencyCache
{
    private readonly object _lock = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _lru = new(); // most recently used first
    private readonly IdempotencyOptions _options;
    private readonly TimeProvider _time;
    private long _bytes;

    /// <summary>Creates the cache.</summary>
    /// <param name="options">Its bounds.</param>
    /// <param name="timeProvider">The clock expiries are read on.</param>
    public MemoryIdempotencyCache(IOptions<IdempotencyOptions> options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options.Value;
        _time = timeProvider;
    }

    /// <summary>The number of results kept.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <inheritdoc/>
    public ValueTask<StoredResult?> GetAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var node))
            {
                return new((StoredResult?)null);
            }

            if (node.Value.Result.ExpiresAt is { } expires && _time.GetUtcNow() >= expires)
            {
                RemoveLocked(node);
                return new((StoredResult?)null);
            }

            _lru.Remove(node);
            _lru.AddFirst(node);
            return new(node.Value.Result);
        }
    }

    /// <inheritdoc/>
    public ValueTask SetAsync(string key, StoredResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(result);
        if (result.Output.Length > _options.MaxResultBytes || result.Output.Length > _options.CacheMaxBytes)
        {
            return default;
        }

        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var existing))
            {
                RemoveLocked(existing);
            }

            var node = _lru.AddFirst(new Entry(key, result));
            _entries[key] = node;
            _bytes += result.Output.Length;
            while (_entries.Count > _options.CacheCapacity || _bytes > _options.CacheMaxBytes)
            {
                RemoveLocked(_lru.Last!);
            }
        }

        return default;
    }

    private void RemoveLocked(LinkedListNode<Entry> node)
    {
        _lru.Remove(node);
        _entries.Remove(node.Value.Key);
        _bytes -= node.Value.Result.Output.Length;
    }

    private sealed record Entry(string Key, StoredResult Result);
}
