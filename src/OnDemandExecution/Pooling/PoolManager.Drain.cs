using System.Runtime.CompilerServices;

namespace OnDemandExecution.Pooling;

/// <summary>
/// Draining a function that was removed from the catalog or replaced: its instances never serve another call. Idle ones
/// are retired now (recycled into the warming pool or destroyed, as at expiry); busy ones finish their call and are
/// retired when it returns; an idle one that a warm hit claims in between is destroyed instead of used.
/// </summary>
internal sealed partial class PoolManager
{
    private readonly ConditionalWeakTable<FunctionDefinition, object> _drained = new();
    private int _drains; // 0 until the first drain: the hot paths skip the table until then

    /// <summary>Whether <paramref name="function"/> was drained (the table is read only once something was drained).</summary>
    private bool IsDrained(FunctionDefinition function) => Volatile.Read(ref _drains) != 0 && _drained.TryGetValue(function, out _);

    /// <summary>Whether <paramref name="slot"/> holds a drained definition.</summary>
    private bool HoldsDrained(InstanceSlot slot) => slot.Function is { } function && IsDrained(function);

    /// <summary>
    /// Drains <paramref name="function"/> (the definition the catalog held): idle instances loaded with it are retired,
    /// busy ones when their call ends, and its provisioned floor is no longer kept.
    /// </summary>
    /// <returns>How many idle instances were retired now.</returns>
    public int Drain(FunctionDefinition function)
    {
        ArgumentNullException.ThrowIfNull(function);
        _drained.AddOrUpdate(function, function);
        Interlocked.Increment(ref _drains);
        if (_provisioned.TryGetValue(function.Name, out var tracked) && ReferenceEquals(tracked, function))
        {
            _provisioned.TryRemove(new KeyValuePair<string, FunctionDefinition>(function.Name, tracked));
        }

        var retired = 0;
        foreach (var key in _slots.Keys)
        {
            if (!string.Equals(key.Function, function.Name, StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var slot in key.Members)
            {
                var word = slot.Word;
                if (InstanceSlot.StateOf(word) == InstanceState.Loaded && HoldsDrained(slot) && _slots.TryRetire(slot, word))
                {
                    Track(RetireAsync(slot, "function_drained", _shutdown.Token).AsTask());
                    retired++;
                }
            }
        }

        return retired;
    }
}
