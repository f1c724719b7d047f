namespace OnDemandExecution;

/// <summary>
/// Calls by capability: the caller names what it needs (for example "resize-image"), and the executor chooses among
/// the functions that declare it (<see cref="FunctionDefinition.Capabilities"/>) the one with the lowest expected cost:
/// its learned execution time plus the cost of getting an instance for the tenant now (a warm idle instance costs
/// nothing, a warming-pool start its code load, a cold start its provisioning and code load).
/// </summary>
/// <remarks>Handlers call it with <see cref="FunctionContextExtensions.InvokeCapabilityAsync"/>, which carries their tenant.</remarks>
public interface ICapabilityInvoker
{
    /// <summary>The functions that provide <paramref name="capability"/>, cheapest first, as they would be chosen now for <paramref name="tenant"/>.</summary>
    /// <param name="capability">The capability's name (ordinal, case-sensitive).</param>
    /// <param name="tenant">The tenant; <see cref="TenantId.Default"/> when empty.</param>
    /// <returns>The candidates in order of preference; empty when no function provides it.</returns>
    IReadOnlyList<CapabilityCandidate> Rank(string capability, TenantId tenant = default);

    /// <summary>Invokes the cheapest function that provides <paramref name="capability"/>.</summary>
    /// <param name="capability">The capability's name.</param>
    /// <param name="payload">The input.</param>
    /// <param name="tenant">The tenant; <see cref="TenantId.Default"/> when empty.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The chosen function and its result.</returns>
    /// <exception cref="CapabilityNotFoundException">No registered function provides the capability.</exception>
    ValueTask<CapabilityInvocationResult> InvokeAsync(string capability, ReadOnlyMemory<byte> payload, TenantId tenant = default, CancellationToken cancellationToken = default);
}
