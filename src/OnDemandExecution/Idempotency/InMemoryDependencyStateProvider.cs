using System.Collections.Concurrent;
using System.Globalization;

namespace OnDemandExecution;

/// <summary>
/// The default <see cref="IDependencyStateProvider"/>: states the application sets in memory (shared by all tenants).
/// A dependency never set is at version "0". Call <see cref="Touch"/> when a dependency changes, or
/// <see cref="SetState"/> with its version, ETag or hash.
/// </summary>
public sealed class InMemoryDependencyStateProvider : IDependencyStateProvider
{
    private readonly ConcurrentDictionary<string, string> _states = new(StringComparer.Ordinal);
    private long _version;

    /// <summary>Sets a dependency's state.</summary>
    /// <param name="dependency">The dependency's name.</param>
    /// <param name="state">Its version, ETag or hash.</param>
    public void SetState(string dependency, string state)
    {
        ArgumentException.ThrowIfNullOrEmpty(dependency);
        ArgumentNullException.ThrowIfNull(state);
        _states[dependency] = state;
    }

    /// <summary>Marks a dependency changed: gives it a new version, unique in this provider.</summary>
    /// <param name="dependency">The dependency's name.</param>
    /// <returns>The new version.</returns>
    public string Touch(string dependency)
    {
        ArgumentException.ThrowIfNullOrEmpty(dependency);
        var state = Interlocked.Increment(ref _version).ToString(CultureInfo.InvariantCulture);
        _states[dependency] = state;
        return state;
    }

    /// <inheritdoc/>
    public ValueTask<string?> GetStateAsync(string dependency, TenantId tenant, CancellationToken cancellationToken) =>
        new(_states.TryGetValue(dependency, out var state) ? state : "0");
}
