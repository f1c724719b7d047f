namespace OnDemandExecution.Orleans;

/// <summary>The result of a call routed through the cluster: the host's result, the host that ran it, and why it went there.</summary>
/// <param name="Result">The result, as the host's executor returned it (<see cref="InvocationResult.StartKind"/> is the host's start kind).</param>
/// <param name="Host">The name of the silo that ran the call.</param>
/// <param name="Route">Why the call went to that host.</param>
public sealed record RoutedInvocationResult(InvocationResult Result, string Host, RouteKind Route);
