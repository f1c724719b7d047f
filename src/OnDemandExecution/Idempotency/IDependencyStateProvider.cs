namespace OnDemandExecution;

/// <summary>
/// Reads the current state of an idempotent function's dependency: a version, an ETag, a content hash; anything that
/// changes whenever the dependency changes. Register one with <c>builder.UseDependencyStateProvider&lt;T&gt;()</c>;
/// the default is <see cref="InMemoryDependencyStateProvider"/>.
/// </summary>
/// <remarks>
/// Called for every request to an idempotent function (before looking for a stored result, and again after an
/// execution before storing it): keep it fast, cache on your side if reading is slow.
/// </remarks>
public interface IDependencyStateProvider
{
    /// <summary>Reads a dependency's state.</summary>
    /// <param name="dependency">The dependency's name, as declared in <see cref="IdempotencyDefinition.Dependencies"/>.</param>
    /// <param name="tenant">The tenant the request runs for (dependencies may be per tenant).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The state, or null when it is unknown: the request then runs and its result is not stored.</returns>
    ValueTask<string?> GetStateAsync(string dependency, TenantId tenant, CancellationToken cancellationToken);
}
