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

    /// <summary>Fills the warming pool up to <see cref="OnDemandExecutionOptions.WarmingPoolSize"/> and waits for it.</summary>
    /// <param name="cancellationToken">Stops waiting and creating.</param>
    /// <returns>A task that completes when the pool is full or a creation failed.</returns>
    ValueTask PrewarmAsync(CancellationToken cancellationToken = default);

    /// <summary>One maintenance pass: expire idle instances past their keep-alive, drop dead warm ones, trim and refill the warming pool.</summary>
    /// <param name="cancellationToken">Stops the pass.</param>
    /// <returns>A task that completes when the pass is done.</returns>
    ValueTask RunMaintenanceAsync(CancellationToken cancellationToken = default);
}
