namespace OnDemandExecution;

/// <summary>The outcome of a call by capability.</summary>
/// <param name="FunctionName">The function chosen.</param>
/// <param name="Candidate">Its expected cost when it was chosen.</param>
/// <param name="Result">Its result.</param>
public sealed record CapabilityInvocationResult(string FunctionName, CapabilityCandidate Candidate, InvocationResult Result);
