using Xunit.Abstractions;
using static OnDemandExecution.Tests.Placement.PlacementSimulation;

namespace OnDemandExecution.Tests.Placement;

public class PlacementSimulationTests(ITestOutputHelper output)
{
    [Fact]
    public void Simulation_PlacerLowersMeanAuxiliaryRoundTrip_VersusDefaultRandomAndLeastLoaded()
    {
        var results = new List<Result>();
        foreach (var load in new[] { 0.3, 0.7 })
        {
            foreach (var policy in Enum.GetValues<Policy>())
            {
                results.Add(Run(policy, instancesPerLocation: 3, utilisation: load));
            }
        }

        output.WriteLine(Table(results));
        foreach (var load in new[] { 0.3, 0.7 })
        {
            var placer = results.Single(r => r.Utilisation == load && r.Policy == Policy.Placer).MeanRoundTripMs;
            foreach (var other in results.Where(r => r.Utilisation == load && r.Policy != Policy.Placer))
            {
                Assert.True(placer < other.MeanRoundTripMs, $"at load {load}: placer {placer:F2} ms vs {other.Policy} {other.MeanRoundTripMs:F2} ms");
            }
        }
    }

    [Fact]
    public void Simulation_IsDeterministic()
    {
        Assert.Equal(Run(Policy.Placer, 2, 0.5, calls: 2000), Run(Policy.Placer, 2, 0.5, calls: 2000));
    }
}
