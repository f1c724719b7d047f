using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace OnDemandExecution.Pooling;

/// <summary>
/// The lock-free slot allocator under the pools: a table of <see cref="InstanceSlot"/>s, a free list, the warming pool
/// and the active pools keyed by (tenant, function). Nothing here takes a lock or allocates on a warm hit or a release.
/// </summary>
/// <remarks>
/// <para><b>Table.</b> Slots live in segments whose sizes double (the first one sized from the expected capacity), found
/// from an index by bit arithmetic. Growing installs one more segment with a compare-and-swap; existing segments never
/// move, so readers never wait and nothing is copied. Slots are never freed, only reused, so any reference to a slot is
/// always valid memory and its versioned word (see <see cref="InstanceSlot"/>) says what it currently is.</para>
/// <para><b>Free list and warming pool.</b> Two Treiber stacks of slot indices; each head packs a version (high 32 bits)
/// with the top index, so a pop that read a head, lost the CPU, and came back after the same index was popped and pushed
/// again fails its compare-and-swap (ABA). A slot is in at most one stack at a time and only the stack's popper owns
/// it, so membership is exclusive: nobody changes a pooled warm slot's word without popping it first.</para>
/// <para><b>Active pools.</b> One <see cref="PoolKey"/> per (tenant, function). An idle instance is claimed by one
/// compare-and-swap of its word from "Loaded for this key" to "Busy for this key" — the key id is in the word, so the
/// tenant rule is enforced by the claim itself — found through a per-thread hint (the slot the thread released last:
/// no shared cache line, so threads on different cores do not contend), then a scan of the key's members from a
/// thread-dependent start.
/// Releasing is a release store back to Loaded (only the owner ever writes a Busy word, see
/// <see cref="InstanceSlot.ReleaseOwned"/>) and a write of the hint. Expiry and eviction claim idle slots the
/// same way, so nothing has to be unlinked from a shared structure.</para>
/// <para><b>Counts</b> are not kept on the hot path (no shared counter to contend on): they are computed from the words
/// by a scan (<see cref="CountStates"/>, <see cref="CountKey"/>), exact at quiescence. Only the warming pool's size is
/// a counter, because refills consult it on every start that missed a warm hit.</para>
/// <para>Creating a key the first time a (tenant, function) pair is seen goes through a
/// <see cref="ConcurrentDictionary{TKey, TValue}"/>, whose writes take a bucket lock: that happens on the start that
/// loads the code, never on a warm hit or a release (those only read the dictionary, which is lock-free, or hold the
/// key already).</para>
/// </remarks>
[SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "Operations on one allocator's slots read as such; some need no field of it because the slot or key carries the state.")]
internal sealed class SlotAllocator
{
    private const int SegmentCount = 28;

    private readonly int _firstBits;
    private readonly InstanceSlot[]?[] _segments = new InstanceSlot[SegmentCount][];
    private readonly ConcurrentDictionary<ActiveKey, PoolKey> _keys = new();
    private readonly ConcurrentDictionary<TenantId, TenantUsage> _tenants = new();
    private PaddedLong _freeHead;  // Treiber stack of free slot indices: (version << 32) | (index + 1)
    private PaddedLong _warmHead;  // Treiber stack of warm slot indices
    private PaddedLong _warmCount;
    private int _fresh;            // indices handed out so far (the table's used length)

    // Unique in the process, so a key id in a word names one key whichever allocator the slot belongs to.
    private static int s_lastKeyId;

    // The slot this thread released last: the first guess of its next acquire (no shared line, no core lookup).
    [ThreadStatic]
    private static InstanceSlot? t_lastReleased;

    // The key this thread looked up last.
    [ThreadStatic]
    private static PoolKey? t_lastKey;

    /// <summary>Creates an allocator whose first segment holds <paramref name="initialCapacity"/> slots (rounded up to a power of two).</summary>
    public SlotAllocator(int initialCapacity = 64)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(initialCapacity);
        _firstBits = BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)Math.Max(initialCapacity, 4)));
        _segments[0] = NewSegment(0);
    }

    /// <summary>How many slot indices are in use (the scan length); slots beyond it were never handed out.</summary>
    public int Count => Math.Min(Volatile.Read(ref _fresh), MaxSlots);

    /// <summary>How many slots the installed segments hold.</summary>
    public int Capacity
    {
        get
        {
            var total = 0;
            for (var k = 0; k < SegmentCount && Volatile.Read(ref _segments[k]) is { } segment; k++)
            {
                total += segment.Length;
            }

            return total;
        }
    }

    /// <summary>Instances in the warming pool (a counter: exact at quiescence).</summary>
    public long WarmCount => Volatile.Read(ref _warmCount.Value);

    private int MaxSlots => (int)Math.Min(int.MaxValue, ((1L << SegmentCount) - 1) << _firstBits);

    /// <summary>The slot at <paramref name="index"/>, or null when its segment is not installed yet.</summary>
    public InstanceSlot? this[int index]
    {
        get
        {
            var x = (uint)index + (1u << _firstBits);
            var k = BitOperations.Log2(x) - _firstBits;
            var segment = Volatile.Read(ref _segments[k]);
            return segment?[x - (1u << (k + _firstBits))];
        }
    }

    // ---- slots ------------------------------------------------------------------------------------------------

    /// <summary>A slot in <see cref="InstanceState.Provisioning"/>, owned by the caller: a free one, else a new one (growing the table).</summary>
    public InstanceSlot Rent()
    {
        if (!TryPop(ref _freeHead.Value, out var slot))
        {
            slot = Fresh();
        }

        slot.Transition(InstanceState.Destroyed, InstanceState.Provisioning);
        return slot;
    }

    /// <summary>Returns a slot its owner moved to <see cref="InstanceState.Destroyed"/>: leaves its key and joins the free list.</summary>
    public void Return(InstanceSlot slot)
    {
        ArgumentNullException.ThrowIfNull(slot);
        if (slot.State != InstanceState.Destroyed)
        {
            throw new InvalidOperationException($"Instance slot {slot.Index} is {slot.State}; only a destroyed slot can be returned.");
        }

        slot.Key?.RemoveMember(slot);
        slot.Key = null;
        slot.Instance = null;
        slot.Function = null;
        Push(ref _freeHead.Value, slot);
    }

    /// <summary>Every slot handed out so far, in index order (for maintenance scans; allocates an enumerator).</summary>
    public IEnumerable<InstanceSlot> Slots
    {
        get
        {
            var count = Count;
            for (var i = 0; i < count; i++)
            {
                if (this[i] is { } slot)
                {
                    yield return slot;
                }
            }
        }
    }

    // ---- warming pool -----------------------------------------------------------------------------------------

    /// <summary>Moves an owned slot from <paramref name="from"/> (Provisioning or Recycling) to Warm and pools it.</summary>
    public long PushWarm(InstanceSlot slot, InstanceState from)
    {
        ArgumentNullException.ThrowIfNull(slot);
        slot.Key = null;
        slot.Function = null;
        var word = slot.Transition(from, InstanceState.Warm);
        Push(ref _warmHead.Value, slot);
        Interlocked.Increment(ref _warmCount.Value);
        return word;
    }

    /// <summary>Puts back a warm slot its owner popped (still Warm), for example after a health check.</summary>
    public void RepoolWarm(InstanceSlot slot)
    {
        ArgumentNullException.ThrowIfNull(slot);
        if (slot.State != InstanceState.Warm)
        {
            throw new InvalidOperationException($"Instance slot {slot.Index} is {slot.State}; only a warm slot can rejoin the warming pool.");
        }

        Push(ref _warmHead.Value, slot);
        Interlocked.Increment(ref _warmCount.Value);
    }

    /// <summary>Takes a warm slot out of the warming pool; the caller owns it (still Warm) and must move it on.</summary>
    public bool TryPopWarm(out InstanceSlot slot)
    {
        if (TryPop(ref _warmHead.Value, out slot))
        {
            Interlocked.Decrement(ref _warmCount.Value);
            return true;
        }

        return false;
    }

    /// <summary>Takes a warm slot and assigns it to <paramref name="key"/> (Warm -> Assigned); the caller owns it.</summary>
    public bool TryTakeWarm(PoolKey key, out InstanceSlot slot)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!TryPopWarm(out slot))
        {
            return false;
        }

        Assign(slot, key, InstanceState.Warm);
        return true;
    }

    /// <summary>
    /// The placer's bounded search of the warming pool: pops up to <paramref name="depth"/> warm slots, keeps the one whose
    /// location has the lowest penalty below <paramref name="limit"/> (the caller owns it, still Warm) and pushes the
    /// others back, deepest first, so the stack keeps its order. Not on the default path: only functions with a
    /// placement plan come here, on a start that missed a warm hit.
    /// </summary>
    /// <remarks>
    /// While the search holds them, the popped slots are invisible to other starts, which may then find the warming pool
    /// short (a cold start, or an extra refill trimmed later); with a small depth this window is a few dozen instructions.
    /// The thread's scratch array is reused, so the search allocates nothing after the first time.
    /// </remarks>
    internal bool TryTakeBestWarm(Placement.PlacementPlan plan, int depth, double limit, out InstanceSlot best, out double bestPenalty)
    {
        var scratch = WarmSearchScratch.Get();
        depth = Math.Min(depth, scratch.Length);
        var n = 0;
        var bestAt = -1;
        bestPenalty = limit;
        while (n < depth && TryPopWarm(out var popped))
        {
            scratch[n] = popped;
            var penalty = plan.PenaltyOf(popped.Instance?.Location);
            if (penalty < bestPenalty)
            {
                bestPenalty = penalty;
                bestAt = n;
            }

            n++;
        }

        best = bestAt >= 0 ? scratch[bestAt] : null!;
        for (var i = n - 1; i >= 0; i--)
        {
            if (i != bestAt)
            {
                RepoolWarm(scratch[i]);
            }

            scratch[i] = null!;
        }

        if (bestAt < 0)
        {
            bestPenalty = double.PositiveInfinity;
            return false;
        }

        return true;
    }

    // ---- active pools -----------------------------------------------------------------------------------------

    /// <summary>The active pool of a (tenant, function), created on first use.</summary>
    /// <exception cref="InvalidOperationException">More distinct (tenant, function) pairs than a word can name.</exception>
    public PoolKey GetOrAddKey(TenantId tenant, string function)
    {
        var id = new ActiveKey(tenant, function);
        if (_keys.TryGetValue(id, out var key))
        {
            return key;
        }

        var next = Interlocked.Increment(ref s_lastKeyId);
        if (next > InstanceSlot.MaxKeyId)
        {
            throw new InvalidOperationException($"More than {InstanceSlot.MaxKeyId} distinct (tenant, function) pairs were pooled in this process.");
        }

        return _keys.GetOrAdd(id, new PoolKey(next, tenant, function, this, _tenants.GetOrAdd(tenant, static _ => new TenantUsage())));
    }

    /// <summary>The active pool of a (tenant, function) if it was ever used (lock-free read).</summary>
    public bool TryGetKey(TenantId tenant, string function, out PoolKey key)
    {
        // Most lookups repeat the thread's previous one: compare two strings (often the same instances) instead of
        // hashing both.
        var last = t_lastKey;
        if (last is not null && last.Owner == this && string.Equals(last.Function, function, StringComparison.Ordinal) && string.Equals(last.Tenant.Value, tenant.Value, StringComparison.Ordinal))
        {
            key = last;
            return true;
        }

        if (_keys.TryGetValue(new ActiveKey(tenant, function), out key!))
        {
            t_lastKey = key;
            return true;
        }

        return false;
    }

    public ICollection<PoolKey> Keys => _keys.Values;

    /// <summary>Assigns an owned slot (Provisioning or Warm) to <paramref name="key"/>: it becomes Assigned and a member.</summary>
    public long Assign(InstanceSlot slot, PoolKey key, InstanceState from)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(key);
        slot.Key = key; // published by the transition below
        var word = slot.Transition(from, InstanceState.Assigned, key.Id);
        key.AddMember(slot);
        return word;
    }

    /// <summary>Claims an idle instance of <paramref name="key"/> (Loaded -> Busy): the calling thread's hint first, then the members.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAcquire(PoolKey key, out InstanceSlot slot)
    {
        var hinted = t_lastReleased;
        if (hinted is not null)
        {
            var word = hinted.Word;
            if (InstanceSlot.LowMatches(word, key.LoadedLow) && hinted.TryClaim(word))
            {
                slot = hinted;
                return true;
            }
        }

        return TryAcquireScan(key, out slot);
    }

    /// <summary>Releases a busy slot back to its key's idle instances (Busy -> Loaded) and makes it this thread's hint.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Release(InstanceSlot slot)
    {
        var released = slot.ReleaseOwned();
        t_lastReleased = slot; // may be retired or reused meanwhile: a hint is checked (state and key) before use
        return released;
    }

    /// <summary>
    /// Takes a slot out of its key from exactly <paramref name="expectedWord"/> (Loaded or Busy) to Recycling; false when
    /// it moved on. The winner owns it and decides: back to the warming pool, or destroyed.
    /// </summary>
    public bool TryRetire(InstanceSlot slot, long expectedWord)
    {
        ArgumentNullException.ThrowIfNull(slot);
        if (!slot.TryTransition(expectedWord, InstanceState.Recycling, out _))
        {
            return false;
        }

        slot.Key?.RemoveMember(slot);
        return true;
    }

    // ---- counts -----------------------------------------------------------------------------------------------

    /// <summary>How many slots are in each <see cref="InstanceState"/> (free slots count as Destroyed), by a scan.</summary>
    public long[] CountStates()
    {
        var counts = new long[8];
        var count = Count;
        for (var i = 0; i < count; i++)
        {
            if (this[i] is { } slot)
            {
                counts[(int)slot.State]++;
            }
        }

        return counts;
    }

    /// <summary>The members of one key by state, by a scan: exact at quiescence.</summary>
    public static ActivePoolCounts CountKey(PoolKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        int assigned = 0, idle = 0, busy = 0;
        foreach (var slot in key.Members)
        {
            var word = slot.Word;
            if (InstanceSlot.KeyIdOf(word) != key.Id)
            {
                continue; // left the key; its removal from the members is on its way
            }

            switch (InstanceSlot.StateOf(word))
            {
                case InstanceState.Assigned: assigned++; break;
                case InstanceState.Loaded: idle++; break;
                case InstanceState.Busy: busy++; break;
                default: break;
            }
        }

        return new ActivePoolCounts(key.Tenant, key.Function, idle, assigned, busy);
    }

    /// <summary>The indices in the free list (top first); meaningful at quiescence only (tests, diagnostics).</summary>
    internal List<int> FreeIndices() => Walk(Volatile.Read(ref _freeHead.Value));

    /// <summary>The indices in the warming pool (top first); meaningful at quiescence only (tests, diagnostics).</summary>
    internal List<int> WarmIndices() => Walk(Volatile.Read(ref _warmHead.Value));

    private List<int> Walk(long head)
    {
        var indices = new List<int>();
        var count = Count;
        for (var i = (int)(uint)head - 1; i >= 0; i = this[i]!.Next)
        {
            indices.Add(i);
            if (indices.Count > count)
            {
                throw new InvalidOperationException("A pool stack has a cycle.");
            }
        }

        return indices;
    }

    // ---- internals --------------------------------------------------------------------------------------------

    private static bool TryAcquireScan(PoolKey key, out InstanceSlot slot)
    {
        var members = key.Members;
        var n = members.Length;
        if (n > 0)
        {
            // Threads start their scans at different members, so they do not all race for the first idle one.
            var start = (int)((uint)Environment.CurrentManagedThreadId % (uint)n);
            for (var i = 0; i < n; i++)
            {
                var candidate = members[(start + i) % n];
                var word = candidate.Word;
                if (InstanceSlot.LowMatches(word, key.LoadedLow) && candidate.TryClaim(word))
                {
                    slot = candidate;
                    return true;
                }
            }
        }

        slot = null!;
        return false;
    }

    private InstanceSlot Fresh()
    {
        var index = Interlocked.Increment(ref _fresh) - 1;
        if (index >= MaxSlots)
        {
            throw new InvalidOperationException("The slot table is full.");
        }

        var x = (uint)index + (1u << _firstBits);
        var k = BitOperations.Log2(x) - _firstBits;
        var segment = Volatile.Read(ref _segments[k]);
        if (segment is null)
        {
            // Grow: whoever installs the segment first wins; losers use the winner's (theirs is garbage).
            var mine = NewSegment(k);
            segment = Interlocked.CompareExchange(ref _segments[k], mine, null) ?? mine;
        }

        return segment[x - (1u << (k + _firstBits))];
    }

    private InstanceSlot[] NewSegment(int k)
    {
        var size = 1 << (k + _firstBits);
        var first = size - (1 << _firstBits); // indices before this segment
        var segment = new InstanceSlot[size];
        for (var i = 0; i < size; i++)
        {
            segment[i] = new InstanceSlot(first + i);
        }

        return segment;
    }

    private void Push(ref long head, InstanceSlot slot)
    {
        while (true)
        {
            var h = Volatile.Read(ref head);
            Volatile.Write(ref slot.Next, (int)(uint)h - 1);
            var next = (long)((((ulong)h >> 32) + 1) << 32) | (uint)(slot.Index + 1);
            if (Interlocked.CompareExchange(ref head, next, h) == h)
            {
                return;
            }
        }
    }

    private bool TryPop(ref long head, out InstanceSlot slot)
    {
        while (true)
        {
            var h = Volatile.Read(ref head);
            var top = (int)(uint)h - 1;
            if (top < 0)
            {
                slot = null!;
                return false;
            }

            // The slot at top is never freed, so reading its link is safe even if it was popped meanwhile; the
            // versioned head then fails the compare-and-swap below.
            var candidate = this[top]!;
            var below = Volatile.Read(ref candidate.Next);
            var next = (long)((((ulong)h >> 32) + 1) << 32) | (uint)(below + 1);
            if (Interlocked.CompareExchange(ref head, next, h) == h)
            {
                slot = candidate;
                return true;
            }
        }
    }
}

/// <summary>
/// The placer's per-thread scratch for <see cref="SlotAllocator.TryTakeBestWarm"/>, kept out of the allocator's own
/// thread statics so the default path's layout is untouched.
/// </summary>
internal static class WarmSearchScratch
{
    [ThreadStatic]
    private static InstanceSlot[]? t_scratch;

    public static InstanceSlot[] Get() => t_scratch ??= new InstanceSlot[64];
}

/// <summary>The active pool's key: an instance holds one function's code for one tenant.</summary>
internal readonly record struct ActiveKey(TenantId Tenant, string Function);
