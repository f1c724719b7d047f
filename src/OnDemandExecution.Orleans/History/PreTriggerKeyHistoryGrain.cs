using Microsoft.Extensions.Options;

namespace OnDemandExecution.Orleans.History;

/// <summary>The windows of one (key, tenant): at most a key's window cap, written to grain storage on every change.</summary>
internal sealed class PreTriggerKeyHistoryGrain : Grain, IPreTriggerKeyHistoryGrain
{
    private readonly IPersistentState<KeyHistoryState> _state;

    public PreTriggerKeyHistoryGrain(IGrainContext context, IPersistentStateFactory states, IOptions<ClusterPreTriggerHistoryOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _state = states.Create<KeyHistoryState>(context, new HistoryStateConfiguration("windows", options.Value.StorageName));
    }

    public async Task AppendAsync(WindowRecord window, int maxWindows, DateTimeOffset cutoff)
    {
        var windows = _state.State.Windows;
        var at = windows.Count;
        while (at > 0 && windows[at - 1].Start > window.Start)
        {
            at--;
        }

        windows.Insert(at, window);
        if (windows.Count > maxWindows)
        {
            windows.RemoveRange(0, windows.Count - maxWindows);
        }

        windows.RemoveAll(w => w.Start < cutoff);
        if (windows.Count == 0)
        {
            await ClearAsync();
            return;
        }

        await _state.WriteStateAsync();
    }

    public Task<WindowRecord[]> GetAsync(DateTimeOffset cutoff) =>
        Task.FromResult(_state.State.Windows.Where(w => w.Start >= cutoff).ToArray());

    public async Task ClearAsync()
    {
        _state.State.Windows.Clear();
        if (_state.RecordExists)
        {
            await _state.ClearStateAsync();
        }

        DeactivateOnIdle();
    }
}

/// <summary>Names a grain's persistent state and the storage provider it lives in.</summary>
internal sealed record HistoryStateConfiguration(string StateName, string StorageName) : IPersistentStateConfiguration;
