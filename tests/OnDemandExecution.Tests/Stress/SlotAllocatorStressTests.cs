using OnDemandExecution.Pooling;
using Xunit.Abstractions;

namespace OnDemandExecution.Tests.Stress;

/// <summary>
/// Many threads hammer one allocator with random acquire / release / take-warm / expire / destroy / grow operations,
/// bounded by count (not time). Every claim is checked on the spot (no slot with two owners, never a slot of another
/// tenant), and after every phase, at quiescence, the whole table is audited: every slot is in exactly one place, the
/// stacks have no duplicates or cycles, and every count adds up.
/// </summary>
[Trait("Category", "Stress")]
public class SlotAllocatorStressTests(ITestOutputHelper output)
{
    private const int Phases = 6;
    private const int OperationsPerThreadPerPhase = 80_000;
    private static readonly int Threads = Math.Max(4, Environment.ProcessorCount * 2);
    private static readonly TenantId[] Tenants = [new("t0"), new("t1"), new("t2")];
    private static readonly string[] Functions = ["f", "g"];

    [Fact]
    public async Task RandomOperationsOnManyThreads_NoSlotHasTwoOwnersOrIsLost_AndTheTenantRuleHolds()
    {
        var allocator = new SlotAllocator(initialCapacity: 4);
        var keys = Tenants.SelectMany(t => Functions.Select(f => allocator.GetOrAddKey(t, f))).ToArray();
        var audit = new Audit(maxSlots: 1 << 16);
        var totals = new long[8];

        for (var phase = 0; phase < Phases; phase++)
        {
            using var start = new Barrier(Threads);
            var workers = Enumerable.Range(0, Threads).Select(t => Task.Factory.StartNew(
                () =>
                {
                    var worker = new Worker(allocator, keys, audit, t + 1, new Random((phase * 1000) + t));
                    start.SignalAndWait();
                    worker.Run(OperationsPerThreadPerPhase);
                    worker.ReleaseAll();
                    return worker.Counts;
                },
                TaskCreationOptions.LongRunning)).ToArray();
            var counts = await Task.WhenAll(workers);
            foreach (var c in counts)
            {
                for (var i = 0; i < c.Length; i++)
                {
                    totals[i] += c[i];
                }
            }

            AuditAtQuiescence(allocator, keys, audit, phase);
        }

        output.WriteLine($"{Threads} threads x {Phases} phases x {OperationsPerThreadPerPhase} operations; table {allocator.Count} slots, capacity {allocator.Capacity}");
        output.WriteLine($"acquired {totals[0]}, missed {totals[1]}, took warm {totals[2]}, expired {totals[3]}, destroyed {totals[4]}, rented {totals[5]}, recycled {totals[6]}, lost races {totals[7]}");
        Assert.True(totals[0] > 0 && totals[1] > 0 && totals[2] > 0 && totals[3] > 0 && totals[4] > 0 && totals[5] > 0 && totals[6] > 0);
        Assert.True(allocator.Capacity > 4, "the table never grew");
    }

    private static void AuditAtQuiescence(SlotAllocator allocator, PoolKey[] keys, Audit audit, int phase)
    {
        var free = allocator.FreeIndices();
        var warm = allocator.WarmIndices();
        Assert.Equal(free.Count, free.Distinct().Count());
        Assert.Equal(warm.Count, warm.Distinct().Count());

        var members = keys.SelectMany(k => k.Members.Select(m => (Key: k, Slot: m))).ToList();
        var memberOf = members.ToDictionary(m => m.Slot.Index, m => m.Key); // throws if a slot is in two keys or twice
        var freeSet = free.ToHashSet();
        var warmSet = warm.ToHashSet();

        var loaded = 0;
        for (var i = 0; i < allocator.Count; i++)
        {
            var slot = allocator[i]!;
            Assert.Equal(0, Volatile.Read(ref audit.Owner[i])); // everyone gave everything back
            var word = slot.Word;
            var state = InstanceSlot.StateOf(word);
            var where = (freeSet.Contains(i) ? 1 : 0) + (warmSet.Contains(i) ? 1 : 0) + (memberOf.ContainsKey(i) ? 1 : 0);
            Assert.True(where == 1, $"phase {phase}: slot {i} ({state}) is in {where} places");
            switch (state)
            {
                case InstanceState.Destroyed:
                    Assert.Contains(i, freeSet);
                    break;
                case InstanceState.Warm:
                    Assert.Contains(i, warmSet);
                    Assert.Null(slot.Key);
                    break;
                case InstanceState.Loaded:
                    loaded++;
                    var key = memberOf[i];
                    Assert.Same(key, slot.Key);
                    Assert.Equal(key.Id, InstanceSlot.KeyIdOf(word));
                    Assert.Equal(key.Tenant, audit.Tenant(i)); // the tenant it was handed to from the warming pool
                    break;
                default:
                    Assert.Fail($"phase {phase}: slot {i} is {state} at quiescence");
                    break;
            }
        }

        var counts = allocator.CountStates();
        Assert.Equal(free.Count, counts[(int)InstanceState.Destroyed]);
        Assert.Equal(warm.Count, counts[(int)InstanceState.Warm]);
        Assert.Equal(warm.Count, allocator.WarmCount);
        Assert.Equal(loaded, counts[(int)InstanceState.Loaded]);
        Assert.Equal(allocator.Count, free.Count + warm.Count + loaded);
        Assert.Equal(loaded, keys.Sum(k => SlotAllocator.CountKey(k).Idle));
        Assert.All(keys, k => Assert.Equal(0, SlotAllocator.CountKey(k).Busy + SlotAllocator.CountKey(k).Assigned));
    }

    /// <summary>Who owns each slot (0: nobody) and which tenant it was last handed to, checked on every claim.</summary>
    private sealed class Audit(int maxSlots)
    {
        public readonly int[] Owner = new int[maxSlots];
        private readonly TenantId[] _tenants = new TenantId[maxSlots];

        public void Claim(InstanceSlot slot, int worker)
        {
            var previous = Interlocked.CompareExchange(ref Owner[slot.Index], worker, 0);
            Assert.True(previous == 0, $"slot {slot.Index} claimed by worker {worker} while worker {previous} owns it");
        }

        public void Unclaim(InstanceSlot slot, int worker)
        {
            var previous = Interlocked.CompareExchange(ref Owner[slot.Index], 0, worker);
            Assert.True(previous == worker, $"slot {slot.Index} released by worker {worker} but owned by {previous}");
        }

        public void Assign(InstanceSlot slot, TenantId tenant) => _tenants[slot.Index] = tenant;

        public void Scrub(InstanceSlot slot) => _tenants[slot.Index] = default;

        public TenantId Tenant(int index) => _tenants[index];
    }

    private sealed class Worker(SlotAllocator allocator, PoolKey[] keys, Audit audit, int id, Random random)
    {
        private readonly List<InstanceSlot> _busy = [];

        // acquired, missed, took warm, expired, destroyed, rented, recycled, lost races
        public long[] Counts { get; } = new long[8];

        public void Run(int operations)
        {
            for (var i = 0; i < operations; i++)
            {
                var key = keys[random.Next(keys.Length)];
                switch (random.Next(12))
                {
                    case < 4: Acquire(key); break;
                    case < 7: ReleaseOne(); break;
                    case 7: TakeWarm(key); break;
                    case 8: CreateWarm(); break;
                    case 9: Expire(); break;
                    case 10: DestroyOne(); break;
                    default: Grow(); break;
                }
            }
        }

        public void ReleaseAll()
        {
            while (_busy.Count > 0)
            {
                ReleaseOne();
            }
        }

        private void Acquire(PoolKey key)
        {
            if (!allocator.TryAcquire(key, out var slot))
            {
                Counts[1]++;
                return;
            }

            audit.Claim(slot, id);
            Assert.Same(key, slot.Key);
            Assert.Equal(key.Tenant, audit.Tenant(slot.Index)); // never another tenant's instance
            Assert.Equal(InstanceState.Busy, slot.State);
            _busy.Add(slot);
            Counts[0]++;
        }

        private void ReleaseOne()
        {
            if (_busy.Count == 0)
            {
                return;
            }

            var at = random.Next(_busy.Count);
            var slot = _busy[at];
            _busy.RemoveAt(at);
            audit.Unclaim(slot, id);
            allocator.Release(slot);
        }

        private void TakeWarm(PoolKey key)
        {
            if (!allocator.TryTakeWarm(key, out var slot))
            {
                return;
            }

            audit.Claim(slot, id);
            Assert.Equal(default, audit.Tenant(slot.Index)); // scrubbed before it rejoined the warming pool
            audit.Assign(slot, key.Tenant);
            slot.Transition(InstanceState.Assigned, InstanceState.Busy);
            _busy.Add(slot);
            Counts[2]++;
        }

        private void CreateWarm()
        {
            if (allocator.WarmCount > 64)
            {
                return;
            }

            var slot = allocator.Rent();
            audit.Claim(slot, id);
            audit.Scrub(slot);
            audit.Unclaim(slot, id);
            allocator.PushWarm(slot, InstanceState.Provisioning);
            Counts[5]++;
        }

        private void Expire()
        {
            // Like the maintenance scan: look at some slot, and retire it if it is idle right now.
            var count = allocator.Count;
            var slot = allocator[random.Next(count)];
            if (slot is null)
            {
                return;
            }

            var word = slot.Word;
            if (InstanceSlot.StateOf(word) != InstanceState.Loaded || !allocator.TryRetire(slot, word))
            {
                Counts[7]++;
                return;
            }

            audit.Claim(slot, id);
            Counts[3]++;
            if (random.Next(2) == 0)
            {
                audit.Scrub(slot); // the provider scrubbed it
                audit.Unclaim(slot, id);
                allocator.PushWarm(slot, InstanceState.Recycling);
                Counts[6]++;
            }
            else
            {
                slot.Transition(InstanceState.Recycling, InstanceState.Destroyed);
                audit.Unclaim(slot, id);
                allocator.Return(slot);
                Counts[4]++;
            }
        }

        private void DestroyOne()
        {
            // An instance died while it ran.
            if (_busy.Count == 0)
            {
                return;
            }

            var slot = _busy[^1];
            _busy.RemoveAt(_busy.Count - 1);
            slot.Transition(InstanceState.Busy, InstanceState.Destroyed);
            audit.Unclaim(slot, id);
            allocator.Return(slot);
            Counts[4]++;
        }

        private void Grow()
        {
            // A cold start: a new (or reused) slot assigned straight to a key.
            if (allocator.Count > 4_000)
            {
                return;
            }

            var key = keys[random.Next(keys.Length)];
            var slot = allocator.Rent();
            audit.Claim(slot, id);
            audit.Assign(slot, key.Tenant);
            allocator.Assign(slot, key, InstanceState.Provisioning);
            slot.Transition(InstanceState.Assigned, InstanceState.Busy);
            _busy.Add(slot);
            Counts[5]++;
        }
    }
}
