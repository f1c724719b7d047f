namespace OnDemandExecution.Simulation;

/// <summary>One invocation of a trace.</summary>
/// <param name="Time">When it arrives, from the start of the trace.</param>
/// <param name="Tenant">The tenant it runs for.</param>
/// <param name="Function">The function invoked.</param>
/// <param name="Duration">How long it runs.</param>
/// <param name="PreTrigger">An optional key of an event that announces it (for pre-trigger predictors); null when none.</param>
public readonly record struct TraceInvocation(TimeSpan Time, string Tenant, string Function, TimeSpan Duration, string? PreTrigger = null);

/// <summary>What a trace says about one function besides its invocations.</summary>
/// <param name="Function">The function's name.</param>
/// <param name="Trigger">Its trigger (timer, http, queue...), when known.</param>
/// <param name="MemoryMb">The memory its instances use, when known.</param>
public sealed record TraceFunction(string Function, string? Trigger = null, int? MemoryMb = null);

/// <summary>A workload to replay, held in memory: invocations sorted by arrival, and how long the trace lasts.</summary>
public sealed class Trace : TraceSource
{
    /// <summary>Creates a trace; the invocations are sorted by time (stable).</summary>
    /// <param name="invocations">The invocations.</param>
    /// <param name="duration">How long the trace lasts; at least the last arrival plus its duration. Null: exactly that.</param>
    /// <param name="functions">What is known about the functions, by name.</param>
    public Trace(IEnumerable<TraceInvocation> invocations, TimeSpan? duration = null, IEnumerable<TraceFunction>? functions = null)
    {
        ArgumentNullException.ThrowIfNull(invocations);
        var list = invocations.ToList();
        foreach (var invocation in list)
        {
            if (invocation.Time < TimeSpan.Zero || invocation.Duration < TimeSpan.Zero || string.IsNullOrWhiteSpace(invocation.Tenant) || string.IsNullOrWhiteSpace(invocation.Function))
            {
                throw new ArgumentException($"Invalid trace invocation {invocation}: times must be non-negative and tenant and function non-empty.", nameof(invocations));
            }
        }

        Invocations = list.OrderBy(i => i.Time).ToList();
        var end = Invocations.Count == 0 ? TimeSpan.Zero : Invocations.Max(i => i.Time + i.Duration);
        Duration = duration is { } d && d > end ? d : end;
        var known = new Dictionary<string, TraceFunction>(StringComparer.Ordinal);
        foreach (var function in functions ?? [])
        {
            known[function.Function] = function;
        }

        foreach (var invocation in Invocations)
        {
            known.TryAdd(invocation.Function, new TraceFunction(invocation.Function));
        }

        Functions = known;
    }

    /// <summary>The invocations, by arrival time.</summary>
    public IReadOnlyList<TraceInvocation> Invocations { get; }

    /// <summary>How long the trace lasts: at least until its last invocation ends.</summary>
    public override TimeSpan Duration { get; }

    /// <summary>Every function invoked (or described), by name.</summary>
    public override IReadOnlyDictionary<string, TraceFunction> Functions { get; }

    /// <inheritdoc />
    public override IEnumerable<TraceInvocation> ReadInvocations() => Invocations;
}
