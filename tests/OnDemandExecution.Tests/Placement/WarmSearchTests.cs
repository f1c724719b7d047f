using OnDemandExecution.Placement;
using OnDemandExecution.Pooling;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Placement;

public class WarmSearchTests
{
    [Fact]
    public void TryTakeBestWarm_TakesLowestPenaltyWithinDepth_AndKeepsTheOthersInOrder()
    {
        var allocator = new SlotAllocator(16);
        var provider = new FakeInstanceProvider();
        var locations = new[] { PlacementTestHost.LocA, PlacementTestHost.LocC, PlacementTestHost.LocB, PlacementTestHost.LocA };
        foreach (var location in locations.Reverse()) // pushed last = top: the stack reads A, C, B, A from the top
        {
            var slot = allocator.Rent();
            slot.Instance = new FakeInstance(provider, "i-" + slot.Index) { Location = location };
            allocator.PushWarm(slot, InstanceState.Provisioning);
        }

        var before = allocator.WarmIndices();
        var plan = new PlacementPlan(
            "f",
            new Dictionary<InstanceLocation, double> { [PlacementTestHost.LocA] = 50, [PlacementTestHost.LocB] = 1, [PlacementTestHost.LocC] = 200 },
            80,
            "db p=1.00");

        Assert.True(allocator.TryTakeBestWarm(plan, depth: 8, limit: double.PositiveInfinity, out var best, out var penalty));
        Assert.Equal(PlacementTestHost.LocB, best.Instance!.Location);
        Assert.Equal(1, penalty);
        Assert.Equal(InstanceState.Warm, best.State);
        Assert.Equal(before.Where(i => i != best.Index), allocator.WarmIndices());
        Assert.Equal(3, allocator.WarmCount);

        // Depth 1 sees only the top (A, 50); a limit below it finds nothing and changes nothing.
        Assert.False(allocator.TryTakeBestWarm(plan, depth: 1, limit: 40, out _, out _));
        Assert.Equal(3, allocator.WarmCount);
        Assert.Equal(before.Where(i => i != best.Index), allocator.WarmIndices());
    }
}
