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
/// Key ids are unique in the process (not only in one allocator), so a word's key id names one key wherever the slot
/// reference came from.
/// </para>
/// </remarks>
internal sealed class PoolKey
{
    private InstanceSlot[] _members = [];

    public PoolKey(int id, TenantId tenant, string function, object? owner = null, TenantUsage? usage = null)
    {
        Usage = usage ?? new TenantUsage();
        if (id is <= 0 or > InstanceSlot.MaxKeyId)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, "Key ids run from 1 to InstanceSlot.MaxKeyId.");
        }

        Id = id;
        Tenant = tenant;
        Function = function;
        Owner = owner;
        LoadedLow = InstanceSlot.Low(InstanceState.Loaded, id);
    }

    public int Id { get; }

    /// <summary>The tenant's instance count, shared by all of the tenant's keys of one allocator.</summary>
    public TenantUsage Usage { get; }

    public TenantId Tenant { get; }

    public string Function { get; }

    /// <summary>The allocator the key belongs to.</summary>
    public object? Owner { get; }

    /// <summary>The low half of the word of an idle member: <see cref="InstanceState.Loaded"/> with this key.</summary>
    public long LoadedLow { get; }

    public InstanceSlot[] Members => Volatile.Read(ref _members);

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
                Usage.Release(); // it left the tenant
                return;
            }
        }
    }

    public override string ToString() => $"{Tenant}/{Function}";
}

/// <summary>
/// How many instances one tenant holds (assigned to any of its keys, whatever their state), against
/// <see cref="OnDemandExecutionOptions.MaxInstancesPerTenant"/>. A start reserves one before its instance joins a key;
/// the instance gives it back when it leaves the key (retired or destroyed).
/// </summary>
internal sealed class TenantUsage
{
    private int _instances;

    public int Instances => Volatile.Read(ref _instances);

    /// <summary>Reserves one instance unless <paramref name="limit"/> are held.</summary>
    public bool TryReserve(int limit)
    {
        int current;
        while ((current = Volatile.Read(ref _instances)) < limit)
        {
            if (Interlocked.CompareExchange(ref _instances, current + 1, current) == current)
            {
                return true;
            }
        }

        return false;
    }

    public void Release() => Interlocked.Decrement(ref _instances);
}
