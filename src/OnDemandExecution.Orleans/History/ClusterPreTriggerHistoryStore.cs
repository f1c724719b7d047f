using Microsoft.Extensions.Options;

namespace OnDemandExecution.Orleans.History;

/// <summary>
/// An <see cref="IPreTriggerHistoryStore"/> shared by every silo: a grain per (key, tenant) holds its windows, an index
/// grain the keys' last triggers and the base rates, both in Orleans grain storage. What one silo's correlator learned
/// is read by another's (once per key and function per process, as the correlator caches), and survives the silo.
/// </summary>
internal sealed class ClusterPreTriggerHistoryStore : IPreTriggerHistoryStore
{
    private readonly IGrainFactory _grains;
    private readonly PreTriggerOptions _options;
    private readonly string _scope;
    private readonly IPreTriggerHistoryIndexGrain _index;

    public ClusterPreTriggerHistoryStore(IGrainFactory grains, IOptions<PreTriggerOptions> options, string scope = "")
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(options);
        _grains = grains;
        _options = options.Value;
        _scope = scope;
        _index = grains.GetGrain<IPreTriggerHistoryIndexGrain>(HistoryKeys.Index(scope));
    }

    public async ValueTask AppendWindowAsync(PreTriggerWindow window, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(window);
        cancellationToken.ThrowIfCancellationRequested();
        var decision = await _index.RecordWindowAsync(window.Key, window.Tenant, window.Start, _options.MaxTrackedKeys, _options.HistoryRetention).ConfigureAwait(false);
        var writes = new List<Task>(decision.Dropped.Length + 1);
        if (decision.Keep)
        {
            writes.Add(Key(window.Key, window.Tenant).AppendAsync(WindowRecord.From(window), _options.MaxWindowsPerKey, decision.Cutoff));
        }

        writes.AddRange(decision.Dropped.Select(k => Key(k.Key, k.Tenant).ClearAsync()));
        await Task.WhenAll(writes).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<PreTriggerWindow>> GetWindowsAsync(string key, string? tenant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        var cutoff = await _index.GetCutoffAsync(_options.HistoryRetention).ConfigureAwait(false);
        var windows = await Key(key, tenant).GetAsync(cutoff).ConfigureAwait(false);
        return [.. windows.Select(w => w.ToWindow())];
    }

    public async ValueTask<int> CountKeysAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return await _index.CountKeysAsync().ConfigureAwait(false);
    }

    public async ValueTask SaveRateAsync(PreTriggerFunctionRate rate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rate);
        cancellationToken.ThrowIfCancellationRequested();
        await _index.SaveRateAsync(RateRecord.From(rate), _options.MaxTrackedFunctions).ConfigureAwait(false);
    }

    public async ValueTask<PreTriggerFunctionRate?> GetRateAsync(string? tenant, string functionName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(functionName);
        cancellationToken.ThrowIfCancellationRequested();
        var rate = await _index.GetRateAsync(tenant, functionName).ConfigureAwait(false);
        return rate?.ToRate();
    }

    private IPreTriggerKeyHistoryGrain Key(string key, string? tenant) => _grains.GetGrain<IPreTriggerKeyHistoryGrain>(HistoryKeys.Pair(_scope, key, tenant));
}
