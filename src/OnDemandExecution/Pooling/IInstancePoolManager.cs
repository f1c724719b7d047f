namespace OnDemandExecution;

/// <summary>The warming and active pools, seen from outside: counts, and the maintenance they run.</summary>
/// <remarks>
/// Under a host, a background service refills and expires on <see cref="OnDemandExecutionOptions.MaintenanceInterval"/>;
/// without a host (or in tests), call <see cref="RunMaintenanceAsync"/> yourself.
/// </remarks>
public interface IInstancePoolManager
{
    /// <summary>The provider the pools create instances with.</summary>
    IInstanceProvider Provider { get; }

    /// <summary>Counts of every pool state.</summary>
    /// <returns>A snapshot; exact when no operation is in flight.</returns>
    PoolSnapshot GetSnapshot();

    /// <summary>Counts of every active pool (one per tenant and function ever served), by state.</summary>
    /// <returns>One entry per pool, including empty ones; exact when no operation is in flight.</returns>
    IReadOnlyList<ActivePoolCounts> GetActivePools();

    /// <summary>
    /// How many unassigned instances the warming pool keeps ready. Starts at
    /// <see cref="OnDemandExecutionOptions.WarmingPoolSize"/>; predictors lower it when they serve part of the demand
    /// themselves (for example periodic functions pre-loaded just in time). Takes effect at the next start or
    /// maintenance pass (a lower target trims surplus warm instances there).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or above <see cref="OnDemandExecutionOptions.MaxInstances"/>.</exception>
    int WarmingPoolTarget { get; set; }

    /// <summary>
    /// Makes sure at least <paramref name="count"/> idle instances hold <paramref name="definition"/>'s code for
    /// <paramref name="tenant"/>, loading more from the warming pool (or cold-starting them) ahead of expected requests.
    /// </summary>
    /// <param name="definition">The function to load.</param>
    /// <param name="tenant">The tenant the instances are assigned to.</param>
    /// <param name="count">How many idle instances are wanted.</param>
    /// <param name="keepAlive">How long the newly loaded instances wait for a request before they expire.</param>
    /// <param name="cancellationToken">Stops waiting; instances already loaded stay.</param>
    /// <returns>How many instances were newly loaded (0 when enough were idle already).</returns>
    /// <exception cref="InstanceCapacityExceededException">No room for another instance and none could be evicted.</exception>
    /// <exception cref="InstanceProviderException">The provider failed to create or load an instance.</exception>
    ValueTask<int> PreloadAsync(FunctionDefinition definition, TenantId tenant, int count, TimeSpan keepAlive, CancellationToken cancellationToken = default);

    /// <summary>Fills the warming pool up to <see cref="WarmingPoolTarget"/> and waits for it.</summary>
    /// <param name="cancellationToken">Stops waiting and creating.</param>
    /// <returns>A task that completes when the pool is full or a creation failed.</returns>
    ValueTask PrewarmAsync(CancellationToken cancellationToken = default);

    /// <summary>One maintenance pass: expire idle instances past their keep-alive, drop dead warm ones, trim and refill the warming pool.</summary>
    /// <param name="cancellationToken">Stops the pass.</param>
    /// <returns>A task that completes when the pass is done.</returns>
    ValueTask RunMaintenanceAsync(CancellationToken cancellationToken = default);
}
