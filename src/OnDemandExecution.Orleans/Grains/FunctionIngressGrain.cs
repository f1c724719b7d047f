using Microsoft.Extensions.DependencyInjection;
using OnDemandExecution.Orleans.Hosting;
using OnDemandExecution.Orleans.Routing;

namespace OnDemandExecution.Orleans.Grains;

[Reentrant]
internal sealed class FunctionIngressGrain(IClusterFunctionExecutor executor, LocalHost host, IServiceProvider services) : Grain, IFunctionIngressGrain
{
    public async Task<RemoteResult> InvokeAsync(RemoteInvocation invocation, CancellationToken cancellationToken)
    {
        try
        {
            var routed = await executor.InvokeRoutedAsync(invocation.ToRequest(), cancellationToken).ConfigureAwait(true);
            return RemoteResult.Success(host.Address, routed.Host, routed.Result) with { Route = (int)routed.Route };
        }
        catch (Exception ex) when (ex is OnDemandExecutionException or OperationCanceledException or ArgumentException)
        {
            return RemoteResult.Failure(host.Address, host.Name, invocation.InvocationId, ex);
        }
    }

    public async Task<int> NotifyPreTriggerAsync(string key, Dictionary<string, string>? attributes)
    {
        var correlator = services.GetService<IPreTriggerCorrelator>()
            ?? throw new InvalidOperationException("Pre-triggers are not enabled on the silos: call AddPreTriggers() on the OnDemandExecution builder.");
        var predictions = await correlator.NotifyPreTriggerAsync(key, new TenantId(this.GetPrimaryKeyString()), attributes).ConfigureAwait(true);
        return predictions.Count;
    }
}
