namespace OnDemandExecution.Pooling;

/// <summary>
/// A pooled instance and its state word. The word packs the <see cref="InstanceState"/> (low 8 bits) with a version
/// (the rest) that grows on every transition, so a pool entry that remembers the word it was pushed with can tell
/// when the slot has moved on since (ABA): a compare-and-swap from a stale word simply fails.
/// </summary>
internal sealed class InstanceSlot
{
    private const long StateMask = 0xFF;

    // Legal[from, to]
    private static readonly bool[,] Legal = BuildLegalTransitions();

    private readonly long[] _stateCounts;
    private long _word;

    public InstanceSlot(long id, long[] stateCounts)
    {
        Id = id;
        _stateCounts = stateCounts;
        _word = (long)InstanceState.Provisioning;
        Interlocked.Increment(ref stateCounts[(int)InstanceState.Provisioning]);
    }

    public long Id { get; }

    /// <summary>Set once, by the creator, before the slot leaves <see cref="InstanceState.Provisioning"/>.</summary>
    public IInstance? Instance { get; set; }

    /// <summary>The owning tenant; written only by the slot's current owner before it publishes a transition.</summary>
    public TenantId Tenant { get; set; }

    public FunctionDefinition? Function { get; set; }

    public TimeSpan KeepAlive { get; set; }

    public long LastUsedTimestamp { get; set; }

    public long Word => Volatile.Read(ref _word);

    public InstanceState State => StateOf(Word);

    public static InstanceState StateOf(long word) => (InstanceState)(word & StateMask);

    public static bool IsLegal(InstanceState from, InstanceState to) => Legal[(int)from, (int)to];

    /// <summary>Moves from exactly <paramref name="expectedWord"/> to <paramref name="to"/>; false when the slot moved on.</summary>
    /// <exception cref="InvalidOperationException">The transition is not legal (a bug).</exception>
    public bool TryTransition(long expectedWord, InstanceState to, out long newWord)
    {
        var from = StateOf(expectedWord);
        if (!IsLegal(from, to))
        {
            throw new InvalidOperationException($"Instance slot {Id}: illegal transition {from} -> {to}.");
        }

        newWord = (((expectedWord >> 8) + 1) << 8) | (long)to;

        // The CAS is the linearization point: whoever wins owns the slot in its new state. Counts follow; they are
        // exact whenever no transition is half-way (at quiescence).
        if (Interlocked.CompareExchange(ref _word, newWord, expectedWord) != expectedWord)
        {
            return false;
        }

        Interlocked.Decrement(ref _stateCounts[(int)from]);
        Interlocked.Increment(ref _stateCounts[(int)to]);
        return true;
    }

    /// <summary>Moves an owned slot from <paramref name="from"/>; the caller owns it, so losing the race is a bug.</summary>
    /// <exception cref="InvalidOperationException">The slot is not in <paramref name="from"/> or the transition is illegal.</exception>
    public long Transition(InstanceState from, InstanceState to)
    {
        var word = Word;
        if (StateOf(word) != from || !TryTransition(word, to, out var newWord))
        {
            throw new InvalidOperationException(
                $"Instance slot {Id}: expected state {from} for transition to {to}, found {StateOf(Word)}.");
        }

        return newWord;
    }

    private static bool[,] BuildLegalTransitions()
    {
        var n = Enum.GetValues<InstanceState>().Length;
        var t = new bool[n, n];
        void Allow(InstanceState from, params InstanceState[] to)
        {
            foreach (var s in to)
            {
                t[(int)from, (int)s] = true;
            }
        }

        Allow(InstanceState.Provisioning, InstanceState.Warm, InstanceState.Assigned, InstanceState.Destroyed);
        Allow(InstanceState.Warm, InstanceState.Assigned, InstanceState.Destroyed);
        Allow(InstanceState.Assigned, InstanceState.Busy, InstanceState.Destroyed);
        Allow(InstanceState.Busy, InstanceState.Loaded, InstanceState.Recycling, InstanceState.Destroyed);
        Allow(InstanceState.Loaded, InstanceState.Busy, InstanceState.Recycling, InstanceState.Destroyed);
        Allow(InstanceState.Recycling, InstanceState.Warm, InstanceState.Destroyed);
        return t;
    }
}

/// <summary>A pool entry: a slot and the state word it had when it was pooled.</summary>
internal readonly record struct SlotEntry(InstanceSlot Slot, long Word);

/// <summary>The active pool's key: an instance holds one function's code for one tenant.</summary>
internal readonly record struct ActiveKey(TenantId Tenant, string Function);

/// <summary>A busy instance handed to the executor, with how it was obtained.</summary>
internal readonly record struct PoolLease(InstanceSlot Slot, StartKind Kind, TimeSpan Provisioning, TimeSpan CodeLoad)
{
    public IInstance Instance => Slot.Instance!;
}
