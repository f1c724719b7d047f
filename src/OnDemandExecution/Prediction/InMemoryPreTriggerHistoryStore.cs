using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>The default <see cref="IPreTriggerHistoryStore"/>: bounded, in process memory, lost on restart.</summary>
public sealed class InMemoryPreTriggerHistoryStore : IPreTriggerHistoryStore
{
    private readonly PreTriggerOptions _options;
    private readonly object _gate = new();
    private readonly Dictionary<(string Key, string? Tenant), List<PreTriggerWindow>> _windows = new();
    private readonly Dictionary<(string? Tenant, string Function), PreTriggerFunctionRate> _rates = new();
    private DateTimeOffset _newest = DateTimeOffset.MinValue;

    /// <summary>Creates the store.</summary>
    /// <param name="options">Its bounds.</param>
    public InMemoryPreTriggerHistoryStore(IOptions<PreTriggerOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
    }

    /// <inheritdoc />
    public ValueTask AppendWindowAsync(PreTriggerWindow window, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(window);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (window.Start > _newest)
            {
                _newest = window.Start;
            }

            var pair = (window.Key, window.Tenant);
            if (!_windows.TryGetValue(pair, out var list))
            {
                _windows[pair] = list = [];
            }

            // Keep the list sorted by start (windows close in order, so this is an append in practice).
            var at = list.Count;
            while (at > 0 && list[at - 1].Start > window.Start)
            {
                at--;
            }

            list.Insert(at, window);
            if (list.Count > _options.MaxWindowsPerKey)
            {
                list.RemoveRange(0, list.Count - _options.MaxWindowsPerKey);
            }

            // Retention: this key's list now; the others are filtered when read.
            var cutoff = _newest - _options.HistoryRetention;
            list.RemoveAll(w => w.Start < cutoff);
            if (list.Count == 0)
            {
                _windows.Remove(pair);
            }

            while (_windows.Count > _options.MaxTrackedKeys)
            {
                _windows.Remove(LeastRecentlyTriggered());
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<PreTriggerWindow>> GetWindowsAsync(string key, string? tenant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_windows.TryGetValue((key, tenant), out var list))
            {
                return new([]);
            }

            var cutoff = _newest - _options.HistoryRetention;
            return new(list.Where(w => w.Start >= cutoff).ToArray());
        }
    }

    /// <inheritdoc />
    public ValueTask<int> CountKeysAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return new(_windows.Count);
        }
    }

    /// <inheritdoc />
    public ValueTask SaveRateAsync(PreTriggerFunctionRate rate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rate);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            _rates[(rate.Tenant, rate.Function)] = rate;
            while (_rates.Count > _options.MaxTrackedFunctions)
            {
                _rates.Remove(LeastRecentlyUpdated());
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<PreTriggerFunctionRate?> GetRateAsync(string? tenant, string functionName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(functionName);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return new(_rates.TryGetValue((tenant, functionName), out var rate) ? rate : null);
        }
    }

    /// <summary>The pair whose newest window is the oldest; ties by key, then tenant (ordinal). O(keys), only on overflow.</summary>
    private (string Key, string? Tenant) LeastRecentlyTriggered()
    {
        (string Key, string? Tenant) victim = default;
        var victimStart = DateTimeOffset.MaxValue;
        var first = true;
        foreach (var (pair, list) in _windows)
        {
            var newest = list[^1].Start;
            if (first || newest < victimStart || (newest == victimStart && Compare(pair, victim) < 0))
            {
                victim = pair;
                victimStart = newest;
                first = false;
            }
        }

        return victim;

        static int Compare((string Key, string? Tenant) a, (string Key, string? Tenant) b)
        {
            var c = string.CompareOrdinal(a.Key, b.Key);
            return c != 0 ? c : string.CompareOrdinal(a.Tenant ?? string.Empty, b.Tenant ?? string.Empty);
        }
    }

    /// <summary>The least recently updated rate; ties by function, then tenant (ordinal).</summary>
    private (string? Tenant, string Function) LeastRecentlyUpdated()
    {
        (string? Tenant, string Function) victim = default;
        PreTriggerFunctionRate? oldest = null;
        foreach (var (pair, rate) in _rates)
        {
            if (oldest is null || rate.Updated < oldest.Updated
                || (rate.Updated == oldest.Updated && (string.CompareOrdinal(pair.Function, victim.Function) < 0
                    || (string.Equals(pair.Function, victim.Function, StringComparison.Ordinal) && string.CompareOrdinal(pair.Tenant ?? string.Empty, victim.Tenant ?? string.Empty) < 0))))
            {
                victim = pair;
                oldest = rate;
            }
        }

        return victim;
    }
}
