using OnDemandExecution.Pooling;

namespace OnDemandExecution.Tests.Pooling;

public class InstanceSlotTests
{
    private static readonly InstanceState[] AllStates = Enum.GetValues<InstanceState>();

    // The documented lifecycle (InstanceState's remarks); everything else must throw.
    private static readonly HashSet<(InstanceState From, InstanceState To)> LegalTransitions =
    [
        (InstanceState.Provisioning, InstanceState.Warm),
        (InstanceState.Provisioning, InstanceState.Assigned),
        (InstanceState.Provisioning, InstanceState.Destroyed),
        (InstanceState.Warm, InstanceState.Assigned),
        (InstanceState.Warm, InstanceState.Destroyed),
        (InstanceState.Assigned, InstanceState.Busy),
        (InstanceState.Assigned, InstanceState.Destroyed),
        (InstanceState.Busy, InstanceState.Loaded),
        (InstanceState.Busy, InstanceState.Recycling),
        (InstanceState.Busy, InstanceState.Destroyed),
        (InstanceState.Loaded, InstanceState.Busy),
        (InstanceState.Loaded, InstanceState.Recycling),
        (InstanceState.Loaded, InstanceState.Destroyed),
        (InstanceState.Recycling, InstanceState.Warm),
        (InstanceState.Recycling, InstanceState.Destroyed),
        (InstanceState.Destroyed, InstanceState.Provisioning), // the slot is reused for a new instance
    ];

    public static TheoryData<InstanceState, InstanceState> Legal()
    {
        var data = new TheoryData<InstanceState, InstanceState>();
        foreach (var (from, to) in LegalTransitions)
        {
            data.Add(from, to);
        }

        return data;
    }

    public static TheoryData<InstanceState, InstanceState> Illegal()
    {
        var data = new TheoryData<InstanceState, InstanceState>();
        foreach (var from in AllStates)
        {
            foreach (var to in AllStates)
            {
                if (!LegalTransitions.Contains((from, to)))
                {
                    data.Add(from, to);
                }
            }
        }

        return data;
    }

    [Fact]
    public void Constructor_NewSlot_IsFreeWithItsIndex()
    {
        var slot = new InstanceSlot(7);

        Assert.Equal(7, slot.Index);
        Assert.Equal(InstanceState.Destroyed, slot.State);
        Assert.Equal(0, InstanceSlot.KeyIdOf(slot.Word));
        Assert.Equal(-1, slot.Next);
    }

    [Fact]
    public void KeyId_IsSetOnAssign_KeptWhileAssigned_AndClearedWhenUnassigned()
    {
        var slot = SlotIn(InstanceState.Warm);

        var assigned = slot.Transition(InstanceState.Warm, InstanceState.Assigned, keyId: 42);
        var busy = slot.Transition(InstanceState.Assigned, InstanceState.Busy);
        var loaded = slot.Transition(InstanceState.Busy, InstanceState.Loaded);
        var recycling = slot.Transition(InstanceState.Loaded, InstanceState.Recycling);
        var warm = slot.Transition(InstanceState.Recycling, InstanceState.Warm, keyId: 99);

        Assert.Equal([42, 42, 42, 42, 0], new[] { assigned, busy, loaded, recycling, warm }.Select(InstanceSlot.KeyIdOf));
        Assert.True(InstanceSlot.LowMatches(loaded, InstanceSlot.Low(InstanceState.Loaded, 42)));
        Assert.False(InstanceSlot.LowMatches(loaded, InstanceSlot.Low(InstanceState.Loaded, 43)));
        Assert.False(InstanceSlot.LowMatches(busy, InstanceSlot.Low(InstanceState.Loaded, 42)));
    }

    [Fact]
    public void KeyId_UsesAll24Bits_WithoutTouchingStateOrVersion()
    {
        var slot = SlotIn(InstanceState.Warm);
        var before = slot.Word;

        var word = slot.Transition(InstanceState.Warm, InstanceState.Assigned, InstanceSlot.MaxKeyId);

        Assert.Equal(InstanceSlot.MaxKeyId, InstanceSlot.KeyIdOf(word));
        Assert.Equal(InstanceState.Assigned, InstanceSlot.StateOf(word));
        Assert.Equal((before >>> 32) + 1, word >>> 32);
    }

    [Fact]
    public void IsLegal_MatchesDocumentedLifecycle()
    {
        foreach (var from in AllStates)
        {
            foreach (var to in AllStates)
            {
                Assert.True(
                    LegalTransitions.Contains((from, to)) == InstanceSlot.IsLegal(from, to),
                    $"IsLegal({from}, {to}) disagrees with the documented lifecycle.");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Legal))]
    public void TryTransition_LegalFromCurrentWord_Succeeds(InstanceState from, InstanceState to)
    {
        var slot = SlotIn(from);
        var word = slot.Word;

        Assert.True(slot.TryTransition(word, to, out var newWord));

        Assert.Equal(to, slot.State);
        Assert.Equal(newWord, slot.Word);
        Assert.Equal(to, InstanceSlot.StateOf(newWord));
        Assert.NotEqual(word, newWord);
    }

    [Theory]
    [MemberData(nameof(Legal))]
    public void Transition_LegalFromExpectedState_ReturnsNewWord(InstanceState from, InstanceState to)
    {
        var slot = SlotIn(from);

        var newWord = slot.Transition(from, to);

        Assert.Equal(newWord, slot.Word);
        Assert.Equal(to, slot.State);
    }

    [Theory]
    [MemberData(nameof(Illegal))]
    public void TryTransition_Illegal_ThrowsAndChangesNothing(InstanceState from, InstanceState to)
    {
        var slot = SlotIn(from);
        var word = slot.Word;

        var ex = Assert.Throws<InvalidOperationException>(() => slot.TryTransition(word, to, out _));

        Assert.Contains($"{from} -> {to}", ex.Message, StringComparison.Ordinal);
        Assert.Equal(word, slot.Word);
    }

    [Theory]
    [MemberData(nameof(Illegal))]
    public void Transition_Illegal_ThrowsAndChangesNothing(InstanceState from, InstanceState to)
    {
        var slot = SlotIn(from);
        var word = slot.Word;

        Assert.Throws<InvalidOperationException>(() => slot.Transition(from, to));

        Assert.Equal(word, slot.Word);
    }

    [Fact]
    public void TryTransition_StaleWord_FailsAndChangesNothing()
    {
        var slot = SlotIn(InstanceState.Provisioning);
        var stale = slot.Word;
        slot.Transition(InstanceState.Provisioning, InstanceState.Warm);
        var current = slot.Word;

        // Provisioning -> Assigned is legal, but the slot moved on since the stale word was read.
        Assert.False(slot.TryTransition(stale, InstanceState.Assigned, out _));

        Assert.Equal(current, slot.Word);
        Assert.Equal(InstanceState.Warm, slot.State);
    }

    [Fact]
    public void TryTransition_SameStateButOlderVersion_Fails()
    {
        // ABA: the slot is Loaded again, but it was reused (Busy) in between; an entry pushed with the first Loaded
        // word must not win it.
        var slot = SlotIn(InstanceState.Loaded);
        var firstLoaded = slot.Word;
        slot.Transition(InstanceState.Loaded, InstanceState.Busy);
        var secondLoaded = slot.Transition(InstanceState.Busy, InstanceState.Loaded);

        Assert.Equal(InstanceSlot.StateOf(firstLoaded), InstanceSlot.StateOf(secondLoaded));
        Assert.NotEqual(firstLoaded, secondLoaded);
        Assert.False(slot.TryTransition(firstLoaded, InstanceState.Destroyed, out _));
        Assert.Equal(InstanceState.Loaded, slot.State);
        Assert.True(slot.TryTransition(secondLoaded, InstanceState.Destroyed, out _));
    }

    [Fact]
    public void TryTransition_EveryTransition_IncreasesTheVersion()
    {
        var slot = SlotIn(InstanceState.Provisioning);
        var versions = new List<long> { slot.Word >>> 32 };
        InstanceState[] path = [InstanceState.Warm, InstanceState.Assigned, InstanceState.Busy, InstanceState.Loaded, InstanceState.Busy, InstanceState.Loaded, InstanceState.Recycling, InstanceState.Warm];
        foreach (var to in path)
        {
            Assert.True(slot.TryTransition(slot.Word, to, out var word));
            versions.Add(word >>> 32);
        }

        for (var i = 1; i < versions.Count; i++)
        {
            Assert.True(versions[i] > versions[i - 1], $"version did not grow at step {i}");
        }
    }

    [Fact]
    public void Transition_WrongCurrentState_Throws()
    {
        var slot = SlotIn(InstanceState.Warm);
        var word = slot.Word;

        // Provisioning -> Assigned is legal, but the slot is Warm.
        var ex = Assert.Throws<InvalidOperationException>(() => slot.Transition(InstanceState.Provisioning, InstanceState.Assigned));

        Assert.Contains("Warm", ex.Message, StringComparison.Ordinal);
        Assert.Equal(word, slot.Word);
    }

    [Fact]
    public void TryTransition_ManySlotsConcurrently_EachEndsWhereItsOwnerLeftIt()
    {
        var slots = Enumerable.Range(0, 64).Select(_ => SlotIn(InstanceState.Provisioning)).ToArray();

        Parallel.ForEach(slots, slot =>
        {
            slot.Transition(InstanceState.Provisioning, InstanceState.Assigned);
            slot.Transition(InstanceState.Assigned, InstanceState.Busy);
            for (var i = 0; i < 100; i++)
            {
                slot.Transition(InstanceState.Busy, InstanceState.Loaded);
                slot.Transition(InstanceState.Loaded, InstanceState.Busy);
            }

            slot.Transition(InstanceState.Busy, InstanceState.Loaded);
        });

        Assert.All(slots, s => Assert.Equal(InstanceState.Loaded, s.State));
        Assert.All(slots, s => Assert.Equal(1 + 1 + 1 + 200 + 1, s.Word >>> 32)); // reuse, assign, busy, 200 flips, park

    }

    [Fact]
    public void TryTransition_RacingOwners_ExactlyOneWins()
    {
        for (var round = 0; round < 200; round++)
        {
            var slot = SlotIn(InstanceState.Loaded);
            var word = slot.Word;
            var wins = 0;
            Parallel.For(0, 8, _ =>
            {
                if (slot.TryTransition(word, InstanceState.Busy, out _))
                {
                    Interlocked.Increment(ref wins);
                }
            });

            Assert.Equal(1, wins);
            slot.Transition(InstanceState.Busy, InstanceState.Destroyed);
        }

    }

    /// <summary>A new slot driven to <paramref name="state"/> along legal transitions.</summary>
    private static InstanceSlot SlotIn(InstanceState state)
    {
        InstanceState[] path = state switch
        {
            InstanceState.Provisioning => [],
            InstanceState.Warm => [InstanceState.Warm],
            InstanceState.Assigned => [InstanceState.Assigned],
            InstanceState.Busy => [InstanceState.Assigned, InstanceState.Busy],
            InstanceState.Loaded => [InstanceState.Assigned, InstanceState.Busy, InstanceState.Loaded],
            InstanceState.Recycling => [InstanceState.Assigned, InstanceState.Busy, InstanceState.Loaded, InstanceState.Recycling],
            InstanceState.Destroyed => [InstanceState.Destroyed],
            _ => throw new ArgumentOutOfRangeException(nameof(state)),
        };

        var slot = new InstanceSlot(1);
        slot.Transition(InstanceState.Destroyed, InstanceState.Provisioning);
        var current = InstanceState.Provisioning;
        foreach (var next in path)
        {
            slot.Transition(current, next, keyId: 5);
            current = next;
        }

        Assert.Equal(state, slot.State);
        return slot;
    }
}
