using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OnDemandExecution.Pooling;

/// <summary>
/// One cell of the <see cref="SlotAllocator"/>'s table: an instance and its state word. The word is changed by
/// <see cref="Interlocked.CompareExchange(ref long, long, long)"/> (the one exception is the owner's release, see
/// <see cref="ReleaseOwned"/>) and packs three fields:
/// <code>
///  63            32 31               8 7       0
/// [    version     |   active key id  |  state  ]
/// </code>
/// The version grows on every transition, so a word is never seen twice and a compare-and-swap from a stale word fails
/// (ABA). The key id names the (tenant, function) whose code the instance holds (0 while unassigned), so claiming an
/// idle instance for a key is one compare-and-swap from "Loaded for this key" to "Busy for this key": an instance of
/// another tenant cannot match, whatever stale reference a caller holds.
/// </summary>
/// <remarks>
/// Slots are never freed: a destroyed slot's index is reused for a later instance (the version keeps growing), so a
/// reference to a slot stays valid memory and only its word says what it currently is. The word sits alone on its
/// cache lines (<see cref="PaddedLong"/>) so neighbouring slots claimed by other cores do not share a line.
/// </remarks>
internal sealed class InstanceSlot
{
    /// <summary>The largest active key id the word can hold (24 bits).</summary>
    public const int MaxKeyId = (1 << 24) - 1;

    private const long LowMask = 0xFFFF_FFFF;
    private const long StateMask = 0xFF;
    private const int KeyShift = 8;

    // Bit (from * 8 + to) is set when from -> to is legal.
    private static readonly ulong LegalBits = BuildLegalTransitions();

    private PaddedLong _word;

    public InstanceSlot(int index)
    {
        Index = index;
        _word.Value = (long)InstanceState.Destroyed; // free: never used yet
        Next = -1;
    }

    /// <summary>The slot's index in the allocator's table (stable; reused by later instances).</summary>
    public int Index { get; }

    /// <summary>Link of the lock-free stack (free or warming) the slot is in: the next index, or -1.</summary>
    internal int Next;

    /// <summary>Set by the creator before the slot leaves <see cref="InstanceState.Provisioning"/>.</summary>
    public IInstance? Instance { get; set; }

    /// <summary>The active key (tenant and function) the slot is assigned to; written by the owner before it publishes.</summary>
    public PoolKey? Key { get; set; }

    /// <summary>The owning tenant, or default while unassigned.</summary>
    public TenantId Tenant => Key?.Tenant ?? default;

    public FunctionDefinition? Function { get; set; }

    public TimeSpan KeepAlive { get; set; }

    /// <summary>
    /// Part of a function's provisioned floor: never expired nor evicted. Written only by the slot's owner (while Busy or
    /// retiring) and cleared when the slot leaves its key, so a reused slot never inherits it.
    /// </summary>
    public bool Provisioned { get; set; }

    public long LastUsedTimestamp { get; set; }

    /// <summary>When a warm instance was created, recycled or last found healthy (<see cref="TimeProvider"/> timestamp).</summary>
    public long LastCheckedTimestamp { get; set; }

    public long Word => Volatile.Read(ref _word.Value);

    public InstanceState State => StateOf(Word);

    public static InstanceState StateOf(long word) => (InstanceState)(byte)word;

    public static int KeyIdOf(long word) => (int)((word >> KeyShift) & MaxKeyId);

    /// <summary>The low half of a word (state and key, without the version).</summary>
    public static long Low(InstanceState state, int keyId) => ((long)keyId << KeyShift) | (long)state;

    public static bool LowMatches(long word, long low) => (word & LowMask) == low;

    public static bool IsLegal(InstanceState from, InstanceState to) => ((LegalBits >> (((int)from * 8) + (int)to)) & 1) != 0;

    /// <summary>
    /// Moves from exactly <paramref name="expectedWord"/> to <paramref name="to"/>: into <see cref="InstanceState.Assigned"/>
    /// with <paramref name="keyId"/>, into an unassigned state (Provisioning, Warm, Destroyed) with key 0, else keeping the
    /// key. False when the slot moved on.
    /// </summary>
    /// <exception cref="InvalidOperationException">The transition is not legal (a bug).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryTransition(long expectedWord, InstanceState to, int keyId, out long newWord)
    {
        var from = StateOf(expectedWord);
        if (!IsLegal(from, to))
        {
            ThrowIllegal(from, to);
        }

        var key = to switch
        {
            InstanceState.Assigned => keyId,
            InstanceState.Provisioning or InstanceState.Warm or InstanceState.Destroyed => 0,
            _ => KeyIdOf(expectedWord),
        };
        newWord = NextVersion(expectedWord) | Low(to, key);

        // The CAS is the linearization point: whoever wins owns the slot in its new state.
        return Interlocked.CompareExchange(ref _word.Value, newWord, expectedWord) == expectedWord;
    }

    /// <inheritdoc cref="TryTransition(long, InstanceState, int, out long)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryTransition(long expectedWord, InstanceState to, out long newWord) =>
        TryTransition(expectedWord, to, KeyIdOf(expectedWord), out newWord);

    /// <summary>Claims an idle slot: from exactly <paramref name="idleWord"/> (Loaded) to Busy with the same key; false when it moved on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryClaim(long idleWord)
    {
        var busy = NextVersion(idleWord) | ((idleWord & LowMask & ~StateMask) | (long)InstanceState.Busy);
        return Interlocked.CompareExchange(ref _word.Value, busy, idleWord) == idleWord;
    }

    /// <summary>
    /// The owner's release: Busy -> Loaded, same key, published with a release store rather than a compare-and-swap.
    /// </summary>
    /// <remarks>
    /// Sound because a Busy word is only ever written by the slot's owner: every other actor (warm hits, expiry,
    /// eviction, shutdown) compares-and-swaps from a Loaded or Warm word, never from a Busy one. The store publishes the
    /// fields the owner wrote before it (key, keep-alive, last use) exactly as a compare-and-swap would, at a fraction of
    /// the cost; it is the one write of a word that is not a compare-and-swap.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The slot is not Busy (released twice, or never acquired).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long ReleaseOwned()
    {
        var word = Word;
        if (StateOf(word) != InstanceState.Busy)
        {
            ThrowNotBusy();
        }

        var idle = NextVersion(word) | ((word & LowMask & ~StateMask) | (long)InstanceState.Loaded);
        Volatile.Write(ref _word.Value, idle);
        return idle;
    }

    /// <summary>Moves an owned slot from <paramref name="from"/>; the caller owns it, so losing the race is a bug.</summary>
    /// <exception cref="InvalidOperationException">The slot is not in <paramref name="from"/> or the transition is illegal.</exception>
    public long Transition(InstanceState from, InstanceState to, int keyId = 0)
    {
        var word = Word;
        if (StateOf(word) != from || !TryTransition(word, to, keyId, out var newWord))
        {
            throw new InvalidOperationException(
                $"Instance slot {Index}: expected state {from} for transition to {to}, found {StateOf(Word)}.");
        }

        return newWord;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long NextVersion(long word) => (long)((((ulong)word >> 32) + 1) << 32);

    private void ThrowNotBusy() =>
        throw new InvalidOperationException($"Instance slot {Index} is {State}; only its owner can release it, once, while Busy.");

    private static void ThrowIllegal(InstanceState from, InstanceState to) =>
        throw new InvalidOperationException($"Instance slot: illegal transition {from} -> {to}.");

    private static ulong BuildLegalTransitions()
    {
        var bits = 0UL;
        void Allow(InstanceState from, params InstanceState[] to)
        {
            foreach (var s in to)
            {
                bits |= 1UL << (((int)from * 8) + (int)s);
            }
        }

        Allow(InstanceState.Provisioning, InstanceState.Warm, InstanceState.Assigned, InstanceState.Destroyed);
        Allow(InstanceState.Warm, InstanceState.Assigned, InstanceState.Destroyed);
        Allow(InstanceState.Assigned, InstanceState.Busy, InstanceState.Destroyed);
        Allow(InstanceState.Busy, InstanceState.Loaded, InstanceState.Recycling, InstanceState.Destroyed);
        Allow(InstanceState.Loaded, InstanceState.Busy, InstanceState.Recycling, InstanceState.Destroyed);
        Allow(InstanceState.Recycling, InstanceState.Warm, InstanceState.Destroyed);
        Allow(InstanceState.Destroyed, InstanceState.Provisioning); // the slot (not the instance) is reused
        return bits;
    }
}

/// <summary>A long alone on its cache lines (128 bytes: two lines, for adjacent-line prefetchers).</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedLong
{
    [FieldOffset(64)]
    public long Value;
}

/// <summary>A busy instance handed to the executor, with how it was obtained.</summary>
/// <remarks>
/// The instance is captured at acquisition: once released, the slot may be reused for another instance at once, so
/// nothing reads the slot's fields after giving it back.
/// </remarks>
internal readonly record struct PoolLease(InstanceSlot Slot, StartKind Kind, TimeSpan Provisioning, TimeSpan CodeLoad)
{
    public IInstance Instance { get; } = Slot.Instance!;
}
