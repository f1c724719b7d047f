namespace OnDemandExecution.Placement;

/// <summary>
/// The precomputed placement of one function: the expected auxiliary channel penalty (ms per execution) of each known
/// location. Immutable; the placer replaces the whole set of plans after each probe round, and acquire only reads it
/// (a dictionary lookup per candidate, no lock, no allocation).
/// </summary>
internal sealed class PlacementPlan
{
    private readonly Dictionary<InstanceLocation, double> _penalties;

    public PlacementPlan(string function, Dictionary<InstanceLocation, double> penalties, double neutralPenaltyMs, string endpoints)
    {
        Function = function;
        _penalties = penalties;
        NeutralPenaltyMs = neutralPenaltyMs;
        Endpoints = endpoints;
        BestPenaltyMs = double.PositiveInfinity;
        foreach (var (location, penalty) in penalties)
        {
            if (penalty < BestPenaltyMs)
            {
                BestPenaltyMs = penalty;
                Best = location;
            }
        }
    }

    public string Function { get; }

    /// <summary>The location with the lowest penalty.</summary>
    public InstanceLocation? Best { get; }

    public double BestPenaltyMs { get; }

    /// <summary>The penalty of a location with no estimate: the average of the known ones (neither preferred nor avoided).</summary>
    public double NeutralPenaltyMs { get; }

    /// <summary>The endpoints that made the function placed, with their likelihoods (for the log line).</summary>
    public string Endpoints { get; }

    public IReadOnlyDictionary<InstanceLocation, double> Penalties => _penalties;

    public double PenaltyOf(InstanceLocation? location) =>
        location is not null && _penalties.TryGetValue(location, out var penalty) ? penalty : NeutralPenaltyMs;
}
