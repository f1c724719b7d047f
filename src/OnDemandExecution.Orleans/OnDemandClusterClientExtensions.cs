using OnDemandExecution.Orleans.Grains;
using OnDemandExecution.Orleans.Routing;

namespace OnDemandExecution.Orleans;

/// <summary>Calls into the OnDemandExecution cluster from an Orleans client (or any grain).</summary>
public static class OnDemandClusterClientExtensions
{
    /// <summary>
    /// Runs a call in the cluster. It enters through the tenant's ingress (one silo per tenant, so that the tenant's
    /// pre-triggers and calls are learned together) and is routed from there like any call.
    /// </summary>
    /// <param name="grains">The cluster client or grain factory.</param>
    /// <param name="request">The call.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The result, the host that ran it and the route.</returns>
    /// <exception cref="ClusterHostUnavailableException">The host (or the ingress) left the cluster before the result came back.</exception>
    public static async Task<RoutedInvocationResult> InvokeFunctionAsync(this IGrainFactory grains, InvocationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(request);
        RemoteResult remote;
        try
        {
            remote = await grains.GetGrain<IFunctionIngressGrain>(request.Tenant.Value)
                .InvokeAsync(RemoteInvocation.From(request, RouteKind.Local), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (Hosting.ClusterFunctionExecutor.IsHostLoss(ex))
        {
            throw new ClusterHostUnavailableException($"The ingress of tenant '{request.Tenant}' left the cluster before call {request.InvocationId} returned.", ex)
            {
                InvocationId = request.InvocationId,
            };
        }

        return remote.ErrorType is not null
            ? throw RemoteFailures.Rebuild(remote)
            : new RoutedInvocationResult(remote.ToResult(), remote.HostName, (RouteKind)remote.Route);
    }

    /// <summary>Reports a pre-trigger for a tenant to the tenant's ingress, whose correlator learns and acts on it.</summary>
    /// <param name="grains">The cluster client or grain factory.</param>
    /// <param name="key">The pre-trigger's key.</param>
    /// <param name="tenant">The tenant.</param>
    /// <param name="attributes">Logged attributes.</param>
    /// <returns>The number of predictions acted on.</returns>
    public static Task<int> NotifyPreTriggerAsync(this IGrainFactory grains, string key, TenantId tenant, IReadOnlyDictionary<string, string>? attributes = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        var tenantId = tenant.IsEmpty ? TenantId.Default : tenant;
        return grains.GetGrain<IFunctionIngressGrain>(tenantId.Value)
            .NotifyPreTriggerAsync(key, attributes is null ? null : new Dictionary<string, string>(attributes));
    }
}
