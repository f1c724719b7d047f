namespace OnDemandExecution.Simulation;

/// <summary>
/// A workload to replay, read as the replay goes: what is known about its functions up front, its end (the accounting
/// horizon), and its invocations in arrival order, produced lazily.
/// </summary>
/// <remarks>
/// Implementations: <see cref="Trace"/> (in memory), <see cref="AzureFunctionsTrace.Open(string, string?, string?, int, TimeSpan?)"/>
/// and <see cref="EventCsvTrace.Open(string)"/> (streamed from files, bounded memory). Every call of
/// <see cref="ReadInvocations"/> starts a new pass that yields the same invocations in the same order, so several replays
/// (one per policy, on several threads) can read one source at once.
/// </remarks>
public abstract class TraceSource
{
    /// <summary>
    /// Where the trace ends, from its start: the accounting horizon. Idle time is counted up to here and not after;
    /// calls still running then are finished, and their start kinds counted.
    /// </summary>
    public abstract TimeSpan Duration { get; }

    /// <summary>Every function the trace invokes (or describes), by name.</summary>
    public abstract IReadOnlyDictionary<string, TraceFunction> Functions { get; }

    /// <summary>The invocations in arrival order (ties in a fixed order); each call starts a new pass.</summary>
    /// <returns>The invocations, produced lazily.</returns>
    public abstract IEnumerable<TraceInvocation> ReadInvocations();
}
