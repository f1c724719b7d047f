using System.Numerics;
using System.Runtime.CompilerServices;

namespace OnDemandExecution.Pooling;

/// <summary>
/// One active pool: the instances assigned to one tenant for one function. Created once per (tenant, function) by the
/// <see cref="SlotAllocator"/> and never removed.
/// </summary>
/// <remarks>
/// <para>
/// Members are the slots currently assigned to the key (assigned, busy or idle), in a copy-on-write array replaced by
/// compare-and-swap. Membership changes only when an instance joins the key (a warming-pool or cold start) or leaves it
/// (retired or destroyed), never on a warm hit or a release, so the hot path allocates nothing.
/// </para>
/// <para>
/// Per-core hints remember the slot each core released last. A warm hit first tries the hint of the core it runs on
/// (one compare-and-swap, on a line no other core writes), then scans the members from a core-dependent start. A hint
/// is only a guess: the claim is the compare-and-swap on the slot's word, which checks the key.
/// </para>
/// </remarks>
internal sealed class PoolKey
{
    // Hints are spaced a cache line apart (8 references) so cores do not write the same line.
    private const int HintStride = 8;
    private const int MaxHints = 16;
    private static readonly int HintMask = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Min(Environment.ProcessorCount, MaxHints)) - 1;

    private readonly InstanceSlot?[] _hints = new InstanceSlot?[(HintMask + 1) * HintStride];
    private InstanceSlot[] _members = [];

    public PoolKey(int id, TenantId tenant, string function)
    {
        if (id is <= 0 or > InstanceSlot.MaxKeyId)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, "Key ids run from 1 to InstanceSlot.MaxKeyId.");
        }

        Id = id;
        Tenant = tenant;
        Function = function;
        LoadedLow = InstanceSlot.Low(InstanceState.Loaded, id);
    }

    public int Id { get; }

    public TenantId Tenant { get; }

    public string Function { get; }

    /// <summary>The low half of the word of an idle member: <see cref="InstanceState.Loaded"/> with this key.</summary>
    public long LoadedLow { get; }

    public InstanceSlot[] Members => Volatile.Read(ref _members);

    /// <summary>The calling core's hint cell.</summary>
    internal ref InstanceSlot? Hint
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _hints[(Thread.GetCurrentProcessorId() & HintMask) * HintStride];
    }

    internal void AddMember(InstanceSlot slot)
    {
        while (true)
        {
            var current = Members;
            var next = new InstanceSlot[current.Length + 1];
            current.CopyTo(next, 0);
            next[^1] = slot;
            if (Interlocked.CompareExchange(ref _members, next, current) == current)
            {
                return;
            }
        }
    }

    internal void RemoveMember(InstanceSlot slot)
    {
        while (true)
        {
            var current = Members;
            var at = Array.IndexOf(current, slot);
            if (at < 0)
            {
                return;
            }

            var next = new InstanceSlot[current.Length - 1];
            Array.Copy(current, 0, next, 0, at);
            Array.Copy(current, at + 1, next, at, current.Length - at - 1);
            if (Interlocked.CompareExchange(ref _members, next, current) == current)
            {
                break;
            }
        }

        // A hint to a departed slot is harmless (its word no longer matches) but costs a failed try: clear it.
        for (var i = 0; i < _hints.Length; i += HintStride)
        {
            Interlocked.CompareExchange(ref _hints[i], null, slot);
        }
    }

    public override string ToString() => $"{Tenant}/{Function}";
}
