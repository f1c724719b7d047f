namespace OnDemandExecution.Orleans.Routing;

/// <summary>One (tenant, function) entry of a host's report: the idle, loaded instances ready for a warm start.</summary>
[GenerateSerializer, Immutable]
internal sealed record FunctionCapacity([property: Id(0)] string Tenant, [property: Id(1)] string Function, [property: Id(2)] long Idle);

/// <summary>
/// What one host publishes: its warming pool, its load and its idle instances per (tenant, function). Versioned by
/// the host (a counter that grows with each change), so a directory keeps only the newest report of each silo.
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record HostCapacityReport(
    [property: Id(0)] SiloAddress Host,
    [property: Id(1)] long Version,
    [property: Id(2)] long WarmingPool,
    [property: Id(3)] long Busy,
    [property: Id(4)] long Live,
    [property: Id(5)] FunctionCapacity[] Functions);

/// <summary>The directory's answer to a pull: the reports of every live host, and the view's version.</summary>
[GenerateSerializer, Immutable]
internal sealed record CapacityViewUpdate([property: Id(0)] long Version, [property: Id(1)] HostCapacityReport[]? Reports);
