using Microsoft.Extensions.Logging;
using OnDemandExecution.Orleans.Grains;
using OnDemandExecution.Orleans.Routing;

namespace OnDemandExecution.Orleans.Hosting;

/// <summary>
/// Routes each call with this silo's capacity view (no message to decide), runs it locally when this silo is the host,
/// else sends it to the host's executor grain. The invocation observers of this silo (the pre-trigger correlator) see
/// routed calls too, so that a pre-trigger and the calls that follow it are learned where they entered.
/// </summary>
internal sealed class ClusterFunctionExecutor(
    LocalHost host,
    ClusterCapacityView view,
    IFunctionExecutor local,
    IFunctionCatalog catalog,
    IEnumerable<IInvocationObserver> observers,
    IGrainFactory grains,
    ILogger<ClusterFunctionExecutor> logger) : IClusterFunctionExecutor
{
    private readonly IInvocationObserver[] _observers = [.. observers];

    public string HostName => host.Name;

    public ClusterHostStatistics GetStatistics() => host.Snapshot();

    public async ValueTask<InvocationResult> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken = default) =>
        (await InvokeRoutedAsync(request, cancellationToken).ConfigureAwait(false)).Result;

    public async ValueTask<RoutedInvocationResult> InvokeRoutedAsync(InvocationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        host.Entered();
        var (target, route) = view.Route(request.Tenant, request.FunctionName);
        if (target is null || target.Equals(host.Address))
        {
            try
            {
                var result = await local.InvokeAsync(request, cancellationToken).ConfigureAwait(false);
                host.Served(result, forOther: false, route);
                if (target is not null)
                {
                    view.Completed(target, request.Tenant, request.FunctionName, succeeded: true);
                }

                return new RoutedInvocationResult(result, host.Name, route);
            }
            catch (Exception)
            {
                host.Failed(hostUnavailable: false);
                if (target is not null)
                {
                    view.Completed(target, request.Tenant, request.FunctionName, succeeded: false);
                }

                throw;
            }
        }

        host.RoutedAway();
        var definition = catalog.TryGetFunction(request.FunctionName, out var d) ? d : null;
        Observe(definition, request, null, null, starting: true);
        try
        {
            var remote = await SendAsync(target, request, route, cancellationToken).ConfigureAwait(false);
            if (remote.ErrorType is not null)
            {
                throw RemoteFailures.Rebuild(remote);
            }

            var result = remote.ToResult();
            view.Completed(target, request.Tenant, request.FunctionName, succeeded: true);
            Observe(definition, request, result, null, starting: false);
            return new RoutedInvocationResult(result, remote.HostName, route);
        }
        catch (Exception ex)
        {
            host.Failed(ex is ClusterHostUnavailableException);
            view.Completed(target, request.Tenant, request.FunctionName, succeeded: false);
            Observe(definition, request, null, ex, starting: false);
            throw;
        }
    }

    private async Task<RemoteResult> SendAsync(SiloAddress target, InvocationRequest request, RouteKind route, CancellationToken cancellationToken)
    {
        var grain = grains.GetGrain<IHostExecutorGrain>(target.ToParsableString());
        try
        {
            return await grain.InvokeAsync(RemoteInvocation.From(request, route), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsHostLoss(ex))
        {
            Log.HostUnavailable(logger, target.ToString(), request.InvocationId, request.FunctionName, ex);
            throw new ClusterHostUnavailableException(
                $"Host {target} left the cluster before call {request.InvocationId} of '{request.FunctionName}' returned; it was not retried.", ex)
            {
                Host = target.ToString(),
                InvocationId = request.InvocationId,
            };
        }
    }

    /// <summary>The failures Orleans reports when the target silo is gone or unreachable.</summary>
    internal static bool IsHostLoss(Exception ex) =>
        ex is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException
        || (ex is OrleansException && ex.InnerException is not null && IsHostLoss(ex.InnerException));

    private void Observe(FunctionDefinition? definition, InvocationRequest request, InvocationResult? result, Exception? exception, bool starting)
    {
        if (definition is null)
        {
            return;
        }

        foreach (var observer in _observers)
        {
            try
            {
                if (starting)
                {
                    observer.OnInvocationStarting(definition, request);
                }
                else
                {
                    observer.OnInvocationCompleted(definition, request, result, exception);
                }
            }
#pragma warning disable CA1031 // an observer never fails a call
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }
}
