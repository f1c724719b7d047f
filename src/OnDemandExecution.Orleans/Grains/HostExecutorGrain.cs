using Microsoft.Extensions.Logging;
using OnDemandExecution.Orleans.Hosting;
using OnDemandExecution.Orleans.Routing;

namespace OnDemandExecution.Orleans.Grains;

/// <summary>Runs routed calls and preloads on the silo it is placed on; reentrant: the executor does the queueing.</summary>
[Reentrant]
[HostAffinityPlacement]
internal sealed class HostExecutorGrain(
    LocalHost host,
    IFunctionExecutor executor,
    IFunctionCatalog catalog,
    CapacityPublisher publisher,
    ILogger<HostExecutorGrain> logger) : Grain, IHostExecutorGrain
{
    public async Task<RemoteResult> InvokeAsync(RemoteInvocation invocation, CancellationToken cancellationToken)
    {
        InvocationResult result;
        try
        {
            result = await executor.InvokeAsync(invocation.ToRequest(), cancellationToken).ConfigureAwait(true);
        }
        catch (Exception ex) when (ex is OnDemandExecutionException or OperationCanceledException or ArgumentException)
        {
            return RemoteResult.Failure(host.Address, host.Name, invocation.InvocationId, ex);
        }

        var route = (RouteKind)invocation.Route;
        host.Served(result, forOther: true, route);
        if (route == RouteKind.Warm && result.StartKind != StartKind.Warm && result.Origin == ResultOrigin.Executed)
        {
            Log.StaleRoute(logger, invocation.InvocationId, invocation.Function, result.StartKind);
        }

        return RemoteResult.Success(host.Address, host.Name, result);
    }

    public async Task<int> PreloadAsync(string tenant, string function, int count, TimeSpan keepAlive)
    {
        if (!catalog.TryGetFunction(function, out var definition))
        {
            return 0;
        }

        var loaded = await host.Pools.PreloadAsync(definition, new TenantId(tenant), count, keepAlive).ConfigureAwait(true);
        if (loaded > 0)
        {
            publisher.PublishSoon();
        }

        return loaded;
    }
}
