using Microsoft.Extensions.Options;

namespace OnDemandExecution.Orleans.History;

/// <summary>
/// The index of one scope's history: each (key, tenant)'s newest window, the newest of all and the base rates. Bounded
/// like the in-memory store (evictions scan the index, only on overflow). Written behind: at most once per
/// <see cref="ClusterPreTriggerHistoryOptions.IndexWriteInterval"/> when changed, and on deactivation.
/// </summary>
internal sealed class PreTriggerHistoryIndexGrain : Grain, IPreTriggerHistoryIndexGrain
{
    private readonly IPersistentState<HistoryIndexState> _state;
    private readonly TimeSpan _writeInterval;
    private bool _dirty;
    private DateTimeOffset _scannedCutoff = DateTimeOffset.MinValue;

    public PreTriggerHistoryIndexGrain(IGrainContext context, IPersistentStateFactory states, IOptions<ClusterPreTriggerHistoryOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _state = states.Create<HistoryIndexState>(context, new HistoryStateConfiguration("index", options.Value.StorageName));
        _writeInterval = options.Value.IndexWriteInterval;
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (_writeInterval > TimeSpan.Zero)
        {
            this.RegisterGrainTimer(WriteIfChangedAsync, _writeInterval, _writeInterval);
        }

        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => WriteIfChangedAsync();

    public async Task<AppendDecision> RecordWindowAsync(string key, string? tenant, DateTimeOffset start, int maxTrackedKeys, TimeSpan retention)
    {
        var state = _state.State;
        if (start > state.Newest)
        {
            state.Newest = start;
        }

        var cutoff = Cutoff(state.Newest, retention);
        var id = HistoryKeys.Pair(string.Empty, key, tenant);
        var keep = start >= cutoff;
        if (keep)
        {
            state.Keys[id] = state.Keys.TryGetValue(id, out var known) && known.Newest >= start ? known : new IndexedKey(key, tenant, start);
        }

        // Keys whose newest window aged out: scanned only when the cutoff moved.
        List<KeyRef>? dropped = null;
        if (cutoff > _scannedCutoff)
        {
            _scannedCutoff = cutoff;
            foreach (var entry in state.Keys.Values)
            {
                if (entry.Newest < cutoff)
                {
                    (dropped ??= []).Add(new KeyRef(entry.Key, entry.Tenant));
                }
            }
        }

        foreach (var gone in dropped ?? [])
        {
            state.Keys.Remove(HistoryKeys.Pair(string.Empty, gone.Key, gone.Tenant));
        }

        while (state.Keys.Count > maxTrackedKeys)
        {
            var victim = LeastRecentlyTriggered(state.Keys);
            state.Keys.Remove(HistoryKeys.Pair(string.Empty, victim.Key, victim.Tenant));
            (dropped ??= []).Add(new KeyRef(victim.Key, victim.Tenant));
            keep &= !(string.Equals(victim.Key, key, StringComparison.Ordinal) && string.Equals(victim.Tenant, tenant, StringComparison.Ordinal));
        }

        await ChangedAsync();
        return new AppendDecision(keep, cutoff, dropped?.ToArray() ?? []);
    }

    public Task<DateTimeOffset> GetCutoffAsync(TimeSpan retention) => Task.FromResult(Cutoff(_state.State.Newest, retention));

    public Task<int> CountKeysAsync() => Task.FromResult(_state.State.Keys.Count);

    public async Task SaveRateAsync(RateRecord rate, int maxTrackedFunctions)
    {
        var rates = _state.State.Rates;
        rates[HistoryKeys.Rate(rate.Tenant, rate.Function)] = rate;
        while (rates.Count > maxTrackedFunctions)
        {
            rates.Remove(LeastRecentlyUpdated(rates));
        }

        await ChangedAsync();
    }

    public Task<RateRecord?> GetRateAsync(string? tenant, string function) =>
        Task.FromResult(_state.State.Rates.TryGetValue(HistoryKeys.Rate(tenant, function), out var rate) ? rate : null);

    private static DateTimeOffset Cutoff(DateTimeOffset newest, TimeSpan retention) =>
        newest == DateTimeOffset.MinValue || newest - DateTimeOffset.MinValue < retention ? DateTimeOffset.MinValue : newest - retention;

    private Task ChangedAsync()
    {
        _dirty = true;
        return _writeInterval > TimeSpan.Zero ? Task.CompletedTask : WriteIfChangedAsync();
    }

    private async Task WriteIfChangedAsync()
    {
        if (_dirty)
        {
            _dirty = false;
            await _state.WriteStateAsync();
        }
    }

    /// <summary>The key whose newest window is the oldest; ties by key, then tenant (ordinal), as every store breaks them.</summary>
    private static IndexedKey LeastRecentlyTriggered(Dictionary<string, IndexedKey> keys)
    {
        IndexedKey? victim = null;
        foreach (var entry in keys.Values)
        {
            if (victim is null || entry.Newest < victim.Newest || (entry.Newest == victim.Newest && Compare(entry, victim) < 0))
            {
                victim = entry;
            }
        }

        return victim!;

        static int Compare(IndexedKey a, IndexedKey b)
        {
            var c = string.CompareOrdinal(a.Key, b.Key);
            return c != 0 ? c : string.CompareOrdinal(a.Tenant ?? string.Empty, b.Tenant ?? string.Empty);
        }
    }

    /// <summary>The least recently updated rate's id; ties by function, then tenant (ordinal).</summary>
    private static string LeastRecentlyUpdated(Dictionary<string, RateRecord> rates)
    {
        (string Id, RateRecord Rate)? victim = null;
        foreach (var (id, rate) in rates)
        {
            if (victim is not { } v || rate.Updated < v.Rate.Updated
                || (rate.Updated == v.Rate.Updated && (string.CompareOrdinal(rate.Function, v.Rate.Function) < 0
                    || (string.Equals(rate.Function, v.Rate.Function, StringComparison.Ordinal) && string.CompareOrdinal(rate.Tenant ?? string.Empty, v.Rate.Tenant ?? string.Empty) < 0))))
            {
                victim = (id, rate);
            }
        }

        return victim!.Value.Id;
    }
}
