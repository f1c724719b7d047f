using OnDemandExecution.Pooling;

namespace OnDemandExecution.Tests.Pooling;

public class SlotAllocatorTests
{
    private static readonly TenantId A = new("tenant-a");
    private static readonly TenantId B = new("tenant-b");

    [Fact]
    public void Rent_BeyondTheFirstSegment_GrowsWithUniqueStableIndices()
    {
        var allocator = new SlotAllocator(initialCapacity: 4);
        Assert.Equal(4, allocator.Capacity);

        var slots = Enumerable.Range(0, 100).Select(_ => allocator.Rent()).ToList();

        Assert.Equal(Enumerable.Range(0, 100), slots.Select(s => s.Index));
        Assert.All(slots, s => Assert.Equal(InstanceState.Provisioning, s.State));
        Assert.All(slots, s => Assert.Same(s, allocator[s.Index])); // found again by index after growth
        Assert.True(allocator.Capacity >= 100);
        Assert.Equal(100, allocator.Count);
    }

    [Fact]
    public void Rent_AfterReturn_ReusesTheSlotWithANewVersion()
    {
        var allocator = new SlotAllocator();
        var slot = allocator.Rent();
        var first = slot.Word;
        slot.Transition(InstanceState.Provisioning, InstanceState.Destroyed);
        allocator.Return(slot);

        var again = allocator.Rent();

        Assert.Same(slot, again);
        Assert.Equal(InstanceState.Provisioning, again.State);
        Assert.True(again.Word >>> 32 > first >>> 32);
        Assert.Equal(1, allocator.Count); // nothing new was taken from the table
    }

    [Fact]
    public void Return_OfALiveSlot_Throws()
    {
        var allocator = new SlotAllocator();
        var slot = allocator.Rent();

        Assert.Throws<InvalidOperationException>(() => allocator.Return(slot));
    }

    [Fact]
    public void WarmingPool_IsLastInFirstOut_AndCounted()
    {
        var allocator = new SlotAllocator();
        var a = allocator.Rent();
        var b = allocator.Rent();
        allocator.PushWarm(a, InstanceState.Provisioning);
        allocator.PushWarm(b, InstanceState.Provisioning);
        Assert.Equal(2, allocator.WarmCount);

        Assert.True(allocator.TryPopWarm(out var first));
        Assert.True(allocator.TryPopWarm(out var second));
        Assert.False(allocator.TryPopWarm(out _));

        Assert.Same(b, first);
        Assert.Same(a, second);
        Assert.Equal(0, allocator.WarmCount);
    }

    [Fact]
    public void TryTakeWarm_AssignsTheSlotToTheKey()
    {
        var allocator = new SlotAllocator();
        var key = allocator.GetOrAddKey(A, "f");
        allocator.PushWarm(allocator.Rent(), InstanceState.Provisioning);

        Assert.True(allocator.TryTakeWarm(key, out var slot));

        Assert.Equal(InstanceState.Assigned, slot.State);
        Assert.Same(key, slot.Key);
        Assert.Equal(A, slot.Tenant);
        Assert.Equal(key.Id, InstanceSlot.KeyIdOf(slot.Word));
        Assert.Equal([slot], key.Members);
        Assert.Equal(new ActivePoolCounts(A, "f", Idle: 0, Assigned: 1, Busy: 0), SlotAllocator.CountKey(key));
    }

    [Fact]
    public void GetOrAddKey_SamePairSameKey_OtherPairsOtherIds()
    {
        var allocator = new SlotAllocator();

        var af = allocator.GetOrAddKey(A, "f");

        Assert.Same(af, allocator.GetOrAddKey(A, "f"));
        Assert.True(allocator.TryGetKey(A, "f", out var found));
        Assert.Same(af, found);
        Assert.False(allocator.TryGetKey(B, "f", out _));
        var ids = new[] { af, allocator.GetOrAddKey(A, "g"), allocator.GetOrAddKey(B, "f") }.Select(k => k.Id).ToArray();
        Assert.Equal(3, ids.Distinct().Count());
        Assert.DoesNotContain(0, ids);
    }

    [Fact]
    public void TryAcquire_FindsAnIdleInstanceOfTheKey_AndNeverOneOfAnotherTenant()
    {
        var allocator = new SlotAllocator();
        var keyA = allocator.GetOrAddKey(A, "f");
        var keyB = allocator.GetOrAddKey(B, "f");
        var slot = Busy(allocator, keyA);
        allocator.Release(slot);

        // B's pool is empty, even though A's idle instance is this core's latest release.
        Assert.False(allocator.TryAcquire(keyB, out _));
        Assert.True(allocator.TryAcquire(keyA, out var hit));
        Assert.Same(slot, hit);
        Assert.Equal(InstanceState.Busy, hit.State);
        Assert.False(allocator.TryAcquire(keyA, out _)); // the only one is busy now
    }

    [Fact]
    public void TryAcquire_WhenTheHintIsTaken_ScansTheOtherMembers()
    {
        var allocator = new SlotAllocator();
        var key = allocator.GetOrAddKey(A, "f");
        var slots = Enumerable.Range(0, 5).Select(_ => Busy(allocator, key)).ToList();
        slots.ForEach(s => allocator.Release(s));

        var taken = new List<InstanceSlot>();
        while (allocator.TryAcquire(key, out var s))
        {
            taken.Add(s);
        }

        Assert.Equal(slots.OrderBy(s => s.Index), taken.OrderBy(s => s.Index));
        Assert.Equal(new ActivePoolCounts(A, "f", Idle: 0, Assigned: 0, Busy: 5), SlotAllocator.CountKey(key));
    }

    [Fact]
    public void TwoAllocators_NeverShareKeysOrHints()
    {
        var first = new SlotAllocator();
        var second = new SlotAllocator();
        var firstKey = first.GetOrAddKey(A, "f");
        var secondKey = second.GetOrAddKey(A, "f"); // same tenant and function, another pool
        first.Release(Busy(first, firstKey)); // this thread's hint is now the first pool's idle slot

        Assert.NotEqual(firstKey.Id, secondKey.Id);
        Assert.False(second.TryAcquire(secondKey, out _));
        Assert.True(first.TryGetKey(A, "f", out var k1));
        Assert.True(second.TryGetKey(A, "f", out var k2)); // the thread's cached lookup is per allocator
        Assert.Same(firstKey, k1);
        Assert.Same(secondKey, k2);
    }

    [Fact]
    public void Release_OfASlotThatIsNotBusy_Throws()
    {
        var allocator = new SlotAllocator();
        var key = allocator.GetOrAddKey(A, "f");
        var slot = Busy(allocator, key);
        allocator.Release(slot);

        var ex = Assert.Throws<InvalidOperationException>(() => allocator.Release(slot));
        Assert.Contains("Loaded", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryRetire_TakesTheSlotOutOfItsKey_AndAStaleWordFails()
    {
        var allocator = new SlotAllocator();
        var key = allocator.GetOrAddKey(A, "f");
        var slot = Busy(allocator, key);
        var stale = slot.Word;
        var idle = allocator.Release(slot);

        Assert.False(allocator.TryRetire(slot, stale));
        Assert.True(allocator.TryRetire(slot, idle));

        Assert.Equal(InstanceState.Recycling, slot.State);
        Assert.Empty(key.Members);
        Assert.False(allocator.TryAcquire(key, out _));
    }

    [Fact]
    public void RecycledSlot_JoinsAnotherTenantOnlyThroughTheWarmingPool()
    {
        var allocator = new SlotAllocator();
        var keyA = allocator.GetOrAddKey(A, "f");
        var keyB = allocator.GetOrAddKey(B, "f");
        var slot = Busy(allocator, keyA);
        allocator.TryRetire(slot, allocator.Release(slot));

        allocator.PushWarm(slot, InstanceState.Recycling);
        Assert.Null(slot.Key);
        Assert.True(allocator.TryTakeWarm(keyB, out var again));

        Assert.Same(slot, again);
        Assert.Equal(B, again.Tenant);
        Assert.Empty(keyA.Members);
        Assert.Equal([slot], keyB.Members);
    }

    [Fact]
    public void CountStates_CountsEveryHandedOutSlotByState()
    {
        var allocator = new SlotAllocator();
        var key = allocator.GetOrAddKey(A, "f");
        allocator.PushWarm(allocator.Rent(), InstanceState.Provisioning);
        allocator.Release(Busy(allocator, key));
        Busy(allocator, key);
        allocator.Rent();

        var counts = allocator.CountStates();

        Assert.Equal(1, counts[(int)InstanceState.Warm]);
        Assert.Equal(1, counts[(int)InstanceState.Loaded]);
        Assert.Equal(1, counts[(int)InstanceState.Busy]);
        Assert.Equal(1, counts[(int)InstanceState.Provisioning]);
        Assert.Equal(4, counts.Sum());
    }

    [Fact]
    public void AcquireAndRelease_InSteadyState_AllocateNothing()
    {
        var allocator = new SlotAllocator();
        var key = allocator.GetOrAddKey(A, "f");
        var slots = Enumerable.Range(0, 4).Select(_ => Busy(allocator, key)).ToList();
        slots.ForEach(s => allocator.Release(s));
        Cycle(allocator, key, 100); // warm up (tiering, first calls)

        var before = GC.GetAllocatedBytesForCurrentThread();
        Cycle(allocator, key, 10_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);

        static void Cycle(SlotAllocator allocator, PoolKey key, int times)
        {
            for (var i = 0; i < times; i++)
            {
                Assert.True(allocator.TryAcquire(key, out var slot));
                allocator.Release(slot);
            }
        }
    }

    /// <summary>A slot rented, assigned to the key and made busy (as a cold start does).</summary>
    internal static InstanceSlot Busy(SlotAllocator allocator, PoolKey key)
    {
        var slot = allocator.Rent();
        allocator.Assign(slot, key, InstanceState.Provisioning);
        slot.Transition(InstanceState.Assigned, InstanceState.Busy);
        return slot;
    }
}
