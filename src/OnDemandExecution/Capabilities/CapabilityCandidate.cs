namespace OnDemandExecution;

/// <summary>One function that provides a capability, with its expected cost for one tenant at one moment.</summary>
/// <param name="FunctionName">The function.</param>
/// <param name="ExpectedStart">How the instance would be obtained now: <see cref="StartKind.Warm"/> when the tenant has an idle instance of it.</param>
/// <param name="InvocationCost">The expected time to get an instance: zero when warm, the learned code-load time from the warming pool, the learned provisioning and code-load time on a cold start (priors: <see cref="CapabilityOptions.DefaultCodeLoadCost"/>, <see cref="CapabilityOptions.DefaultProvisioningCost"/>).</param>
/// <param name="ExecutionCost">The expected execution time: learned from its past calls (a moving average), or <see cref="CapabilityOptions.DefaultExecutionCost"/> before any.</param>
public readonly record struct CapabilityCandidate(string FunctionName, StartKind ExpectedStart, TimeSpan InvocationCost, TimeSpan ExecutionCost)
{
    /// <summary>What the choice minimises: <see cref="InvocationCost"/> + <see cref="ExecutionCost"/>.</summary>
    public TimeSpan TotalCost => InvocationCost + ExecutionCost;
}
