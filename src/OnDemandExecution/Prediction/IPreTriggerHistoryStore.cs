namespace OnDemandExecution;

/// <summary>
/// Where the pre-trigger correlator keeps what it learned: for each (key, tenant), the recent observation windows
/// (which functions followed, how many requests, after which delays), and each function's base arrival rate.
/// </summary>
/// <remarks>
/// <para>Implementations are bounded by <see cref="PreTriggerOptions"/> and all follow the same rules (a shared
/// contract test suite checks them):</para>
/// <list type="bullet">
/// <item>per (key, tenant), only the newest <see cref="PreTriggerOptions.MaxWindowsPerKey"/> windows are kept (by start);</item>
/// <item>windows that started more than <see cref="PreTriggerOptions.HistoryRetention"/> before the newest window
/// appended to the store are dropped;</item>
/// <item>at most <see cref="PreTriggerOptions.MaxTrackedKeys"/> (key, tenant) pairs are kept: beyond it, the pair whose
/// newest window is the oldest (the least recently triggered) is evicted, ties broken by key then tenant, ordinally;</item>
/// <item>at most <see cref="PreTriggerOptions.MaxTrackedFunctions"/> base rates are kept: beyond it, the least recently
/// updated is evicted.</item>
/// </list>
/// <para>The in-memory store is the default; <c>OnDemandExecution.Sqlite</c> adds a durable one
/// (<c>builder.UseSqlitePreTriggerHistory(...)</c>). The correlator caches what it reads, so a store is read once per
/// key and function per process, and written when a window closes.</para>
/// </remarks>
public interface IPreTriggerHistoryStore
{
    /// <summary>Adds a closed observation window, then applies the bounds.</summary>
    /// <param name="window">The window.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the window is stored.</returns>
    ValueTask AppendWindowAsync(PreTriggerWindow window, CancellationToken cancellationToken = default);

    /// <summary>The stored windows of a key for a tenant (null: the tenant-less key), oldest first.</summary>
    /// <param name="key">The pre-trigger key.</param>
    /// <param name="tenant">The tenant's value, or null for pre-triggers of unknown tenant.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The windows; empty when the key is unknown.</returns>
    ValueTask<IReadOnlyList<PreTriggerWindow>> GetWindowsAsync(string key, string? tenant, CancellationToken cancellationToken = default);

    /// <summary>How many (key, tenant) pairs are stored.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The count.</returns>
    ValueTask<int> CountKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores (replaces) a function's base rate, then applies the bound.</summary>
    /// <param name="rate">The rate.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the rate is stored.</returns>
    ValueTask SaveRateAsync(PreTriggerFunctionRate rate, CancellationToken cancellationToken = default);

    /// <summary>A function's stored base rate for a tenant (null: over all tenants).</summary>
    /// <param name="tenant">The tenant's value, or null for the rate over all tenants.</param>
    /// <param name="functionName">The function's name.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The rate, or null when none is stored.</returns>
    ValueTask<PreTriggerFunctionRate?> GetRateAsync(string? tenant, string functionName, CancellationToken cancellationToken = default);
}
