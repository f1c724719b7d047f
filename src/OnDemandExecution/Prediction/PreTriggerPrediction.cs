namespace OnDemandExecution;

/// <summary>What the correlator expects to follow one pre-trigger, for one function, and acts on.</summary>
/// <param name="Key">The pre-trigger's key.</param>
/// <param name="Tenant">The tenant the instances are loaded for; null when unknown (the generic warming pool is raised).</param>
/// <param name="Function">The follower function.</param>
/// <param name="Requests">How many requests are expected in the window (the configured quantile of past counts).</param>
/// <param name="Instances">How many instances they need (the configured quantile of their past peak concurrency, at most <paramref name="Requests"/>): the instances pre-initialized.</param>
/// <param name="FirstExpected">When the first request is expected (the configured low quantile of past first delays), from the pre-trigger.</param>
/// <param name="LastExpected">When the last request is expected (the configured high quantile of past last delays), from the pre-trigger.</param>
/// <param name="Confidence">The share of past windows in which the function followed the key (0 to 1).</param>
/// <param name="Lift">How many times more requests follow the key than the function's base rate predicts for the same span.</param>
/// <param name="Observations">How many past windows of the key the prediction rests on.</param>
public sealed record PreTriggerPrediction(
    string Key,
    TenantId? Tenant,
    string Function,
    int Requests,
    int Instances,
    TimeSpan FirstExpected,
    TimeSpan LastExpected,
    double Confidence,
    double Lift,
    int Observations);

/// <summary>Counts of a pre-trigger correlator since start.</summary>
/// <param name="PreTriggers">Pre-triggers seen (explicit and implicit).</param>
/// <param name="Predictions">Predictions acted on (one per pre-trigger and follower function).</param>
/// <param name="InstancesPrewarmed">Instances newly loaded (or added to the warming-pool target) for predictions.</param>
/// <param name="InstancesUsed">Of those, instances a follower request used before the prediction's window ended.</param>
/// <param name="InstancesWasted">Of those, instances no follower request used (released by their keep-alive).</param>
public readonly record struct PreTriggerStatistics(long PreTriggers, long Predictions, long InstancesPrewarmed, long InstancesUsed, long InstancesWasted);
