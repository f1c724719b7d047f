using OnDemandExecution.Pooling;

namespace OnDemandExecution.Tests.Pooling;

/// <summary>
/// Model-based test: one random sequence of operations runs against the allocator and against a plain locked reference
/// model, and every step's result and every count are compared (single-threaded, so both are deterministic).
/// </summary>
public class SlotAllocatorModelTests
{
    private static readonly TenantId[] Tenants = [new("t0"), new("t1"), new("t2")];
    private static readonly string[] Functions = ["f", "g"];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void RandomOperations_MatchTheReferenceModel_StepByStep(int seed)
    {
        var random = new Random(seed);
        var allocator = new SlotAllocator(initialCapacity: 4);
        var model = new ReferenceModel();
        var keys = Tenants.SelectMany(t => Functions.Select(f => allocator.GetOrAddKey(t, f))).ToArray();
        var operations = new Dictionary<string, int>();

        for (var step = 0; step < 20_000; step++)
        {
            var op = random.Next(10);
            var name = Run(op, random, allocator, model, keys, step);
            operations[name] = operations.GetValueOrDefault(name) + 1;
            Compare(allocator, model, keys, step, name);
        }

        // The sequence exercised every operation, both outcomes of the claims, and growth.
        Assert.All(
            new[] { "rent", "push-warm", "take-warm", "take-warm-empty", "start", "release", "acquire", "acquire-miss", "retire", "destroy", "stale-retire" },
            n => Assert.True(operations.GetValueOrDefault(n) > 0, $"operation {n} never ran"));
        Assert.True(allocator.Capacity > 4);
    }

    private static string Run(int op, Random random, SlotAllocator allocator, ReferenceModel model, PoolKey[] keys, int step)
    {
        var key = keys[random.Next(keys.Length)];
        switch (op)
        {
            case 0:
            {
                var slot = allocator.Rent();
                if (model.Free.Count > 0)
                {
                    Assert.True(model.Free.Remove(slot.Index), $"step {step}: rented slot {slot.Index} is not one of the free ones");
                }
                else
                {
                    Assert.False(model.States.ContainsKey(slot.Index), $"step {step}: rented slot {slot.Index} is live");
                }

                model.States[slot.Index] = (InstanceState.Provisioning, 0);
                model.Slots[slot.Index] = slot;
                return "rent";
            }

            case 1:
            {
                // Provisioning or Recycling -> Warm
                if (model.Pick(random, InstanceState.Provisioning, InstanceState.Recycling) is not { } index)
                {
                    return "noop";
                }

                var from = model.States[index].State;
                allocator.PushWarm(model.Slots[index], from);
                model.States[index] = (InstanceState.Warm, 0);
                model.Warm.Push(index);
                return "push-warm";
            }

            case 2:
            {
                var took = allocator.TryTakeWarm(key, out var slot);
                Assert.Equal(model.Warm.Count > 0, took);
                if (!took)
                {
                    return "take-warm-empty";
                }

                Assert.Equal(model.Warm.Pop(), slot.Index); // both are stacks: the same one
                model.States[slot.Index] = (InstanceState.Assigned, key.Id);
                return "take-warm";
            }

            case 3:
            {
                if (model.Pick(random, InstanceState.Assigned) is not { } index)
                {
                    return "noop";
                }

                model.Slots[index].Transition(InstanceState.Assigned, InstanceState.Busy);
                model.States[index] = (InstanceState.Busy, model.States[index].Key);
                return "start";
            }

            case 4:
            {
                if (model.Pick(random, InstanceState.Busy) is not { } index)
                {
                    return "noop";
                }

                allocator.Release(model.Slots[index]);
                model.States[index] = (InstanceState.Loaded, model.States[index].Key);
                return "release";
            }

            case 5:
            case 6:
            {
                var hit = allocator.TryAcquire(key, out var slot);
                var idle = model.States.Where(e => e.Value == (InstanceState.Loaded, key.Id)).Select(e => e.Key).ToHashSet();
                Assert.Equal(idle.Count > 0, hit);
                if (!hit)
                {
                    return "acquire-miss";
                }

                Assert.Contains(slot.Index, idle); // one of this key's idle instances, never another key's
                Assert.Same(key, slot.Key);
                model.States[slot.Index] = (InstanceState.Busy, key.Id);
                return "acquire";
            }

            case 7:
            {
                // Expiry: an idle (or, with a zero keep-alive, a busy) instance leaves its key.
                if (model.Pick(random, InstanceState.Loaded, InstanceState.Busy) is not { } index)
                {
                    return "noop";
                }

                var slot = model.Slots[index];
                Assert.True(allocator.TryRetire(slot, slot.Word));
                model.States[index] = (InstanceState.Recycling, model.States[index].Key);
                return "retire";
            }

            case 8:
            {
                // An instance dies or is evicted, whatever state it is in (warm ones are popped first).
                var index = model.Pick(random, InstanceState.Provisioning, InstanceState.Assigned, InstanceState.Busy, InstanceState.Loaded, InstanceState.Recycling);
                if (index is null)
                {
                    if (!allocator.TryPopWarm(out var warm))
                    {
                        return "noop";
                    }

                    Assert.Equal(model.Warm.Pop(), warm.Index);
                    index = warm.Index;
                }

                var slot = model.Slots[index.Value];
                Assert.True(slot.TryTransition(slot.Word, InstanceState.Destroyed, out _));
                allocator.Return(slot);
                model.States.Remove(index.Value);
                model.Free.Add(index.Value);
                return "destroy";
            }

            default:
            {
                // A stale word (read before the slot moved on) never wins.
                if (model.Pick(random, InstanceState.Loaded) is not { } index)
                {
                    return "noop";
                }

                var slot = model.Slots[index];
                var stale = slot.Word;
                Assert.True(allocator.TryAcquire(slot.Key!, out var taken));
                var idleAgain = allocator.Release(taken);
                if (ReferenceEquals(taken, slot))
                {
                    Assert.NotEqual(stale, idleAgain);
                    Assert.False(allocator.TryRetire(slot, stale));
                }

                return "stale-retire";
            }
        }
    }

    private static void Compare(SlotAllocator allocator, ReferenceModel model, PoolKey[] keys, int step, string op)
    {
        var counts = allocator.CountStates();
        foreach (var state in Enum.GetValues<InstanceState>().Where(s => s != InstanceState.Destroyed))
        {
            Assert.True(
                model.States.Values.Count(v => v.State == state) == counts[(int)state],
                $"step {step} ({op}): {state} count {counts[(int)state]}, model {model.States.Values.Count(v => v.State == state)}");
        }

        Assert.Equal(model.Warm.Count, allocator.WarmCount);
        foreach (var key in keys)
        {
            var c = SlotAllocator.CountKey(key);
            Assert.Equal(model.States.Values.Count(v => v == (InstanceState.Loaded, key.Id)), c.Idle);
            Assert.Equal(model.States.Values.Count(v => v == (InstanceState.Busy, key.Id)), c.Busy);
            Assert.Equal(model.States.Values.Count(v => v == (InstanceState.Assigned, key.Id)), c.Assigned);
        }

        foreach (var (index, (state, keyId)) in model.States)
        {
            var word = model.Slots[index].Word;
            Assert.Equal(state, InstanceSlot.StateOf(word));
            Assert.Equal(keyId, InstanceSlot.KeyIdOf(word));
        }
    }

    /// <summary>The obvious implementation, under a lock: what the allocator must behave like.</summary>
    private sealed class ReferenceModel
    {
        private readonly Lock _gate = new();

        public Dictionary<int, (InstanceState State, int Key)> States { get; } = [];

        public Dictionary<int, InstanceSlot> Slots { get; } = [];

        public Stack<int> Warm { get; } = new();

        public HashSet<int> Free { get; } = [];

        public int? Pick(Random random, params InstanceState[] states)
        {
            lock (_gate)
            {
                var candidates = States.Where(e => states.Contains(e.Value.State)).Select(e => e.Key).Order().ToList();
                return candidates.Count == 0 ? null : candidates[random.Next(candidates.Count)];
            }
        }
    }
}
