using Microsoft.Extensions.Logging;
using OnDemandExecution.Orleans.Grains;
using OnDemandExecution.Orleans.Routing;

namespace OnDemandExecution.Orleans.Hosting;

/// <summary>
/// The <see cref="IInstancePoolManager"/> the predictors (pre-trigger correlator, periodic and histogram policies) see
/// on a silo: everything is this silo's own pools, except <see cref="PreloadAsync"/>, which loads the instances on the
/// host the cluster will route the function's next call to. A pre-trigger observed here thereby pre-warms the host
/// where its follower runs, and the follower is routed to those instances.
/// </summary>
internal sealed class ClusterPoolManager(
    LocalHost host,
    ClusterCapacityView view,
    IGrainFactory grains,
    ILogger<ClusterPoolManager> logger) : IInstancePoolManager
{
    private IInstancePoolManager Local => host.Pools;

    public IInstanceProvider Provider => Local.Provider;

    public int WarmingPoolTarget
    {
        get => Local.WarmingPoolTarget;
        set => Local.WarmingPoolTarget = value;
    }

    public PoolSnapshot GetSnapshot() => Local.GetSnapshot();

    public IReadOnlyList<ActivePoolCounts> GetActivePools() => Local.GetActivePools();

    public ValueTask PrewarmAsync(CancellationToken cancellationToken = default) => Local.PrewarmAsync(cancellationToken);

    public ValueTask RunMaintenanceAsync(CancellationToken cancellationToken = default) => Local.RunMaintenanceAsync(cancellationToken);

    public async ValueTask<int> PreloadAsync(FunctionDefinition definition, TenantId tenant, int count, TimeSpan keepAlive, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var target = view.PreloadTarget(tenant, definition.Name);
        if (target is null || target.Equals(host.Address))
        {
            return await Local.PreloadAsync(definition, tenant, count, keepAlive, cancellationToken).ConfigureAwait(false);
        }

        host.PreloadForwarded();
        try
        {
            var grain = grains.GetGrain<IHostExecutorGrain>(target.ToParsableString());
            var loaded = await grain.PreloadAsync(tenant.Value, definition.Name, count, keepAlive).WaitAsync(cancellationToken).ConfigureAwait(false);
            view.NotePreloaded(target, tenant, definition.Name, loaded);
            return loaded;
        }
        catch (Exception ex) when (ClusterFunctionExecutor.IsHostLoss(ex))
        {
            Log.PreloadForwardFailed(logger, count, definition.Name, target.ToString(), ex);
            throw new InstanceProviderException($"Preloading {count} instances of '{definition.Name}' on host {target} failed: the host left the cluster.", ex);
        }
    }
}
