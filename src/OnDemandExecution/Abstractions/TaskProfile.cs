namespace OnDemandExecution;

/// <summary>
/// What a function is known to do besides computing: how likely one execution is to talk to each auxiliary
/// service (a database, a queue, a storage endpoint). Placement uses it to prefer instances with a good channel
/// to the services a function is likely to use.
/// </summary>
public sealed record TaskProfile
{
    /// <summary>Likelihood in [0, 1] that one execution contacts each auxiliary endpoint, keyed by endpoint (for example <c>tcp://db:5432</c>).</summary>
    public IReadOnlyDictionary<string, double> AuxiliaryEndpoints { get; init; } = new Dictionary<string, double>();
}
