namespace OnDemandExecution.Orleans.History;

/// <summary>
/// The windows of one (key, tenant) of the cluster's pre-trigger history, persisted in the configured grain storage.
/// Keyed by <see cref="HistoryKeys.Pair"/>.
/// </summary>
internal interface IPreTriggerKeyHistoryGrain : IGrainWithStringKey
{
    /// <summary>Adds a window (kept sorted by start), keeps the newest <paramref name="maxWindows"/>, drops those before <paramref name="cutoff"/>, and writes.</summary>
    Task AppendAsync(WindowRecord window, int maxWindows, DateTimeOffset cutoff);

    /// <summary>The windows that started at or after <paramref name="cutoff"/>, oldest first.</summary>
    [ReadOnly]
    Task<WindowRecord[]> GetAsync(DateTimeOffset cutoff);

    /// <summary>Forgets every window (the index evicted or aged out the key).</summary>
    Task ClearAsync();
}

/// <summary>
/// The index of the cluster's pre-trigger history (one per scope, keyed by <see cref="HistoryKeys.Index"/>): which
/// (key, tenant) pairs exist and when each was last triggered, the newest window of all (for the retention), and the
/// functions' base rates, all bounded as <see cref="IPreTriggerHistoryStore"/> requires.
/// </summary>
internal interface IPreTriggerHistoryIndexGrain : IGrainWithStringKey
{
    /// <summary>Records a window's start and applies the retention and the key bound; says whether to store the window and which keys to clear.</summary>
    Task<AppendDecision> RecordWindowAsync(string key, string? tenant, DateTimeOffset start, int maxTrackedKeys, TimeSpan retention);

    /// <summary>The retention cutoff: the newest window's start minus <paramref name="retention"/>.</summary>
    [ReadOnly]
    Task<DateTimeOffset> GetCutoffAsync(TimeSpan retention);

    /// <summary>How many (key, tenant) pairs the history holds.</summary>
    [ReadOnly]
    Task<int> CountKeysAsync();

    /// <summary>Stores (replaces) a base rate and evicts the least recently updated beyond <paramref name="maxTrackedFunctions"/>.</summary>
    Task SaveRateAsync(RateRecord rate, int maxTrackedFunctions);

    /// <summary>A stored base rate, or null.</summary>
    [ReadOnly]
    Task<RateRecord?> GetRateAsync(string? tenant, string function);
}
