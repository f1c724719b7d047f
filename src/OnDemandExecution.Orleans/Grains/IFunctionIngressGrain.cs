using OnDemandExecution.Orleans.Routing;

namespace OnDemandExecution.Orleans.Grains;

/// <summary>
/// Where an Orleans client's calls enter the cluster: one activation per tenant, so that a tenant's pre-triggers and the
/// calls that follow them are observed by the same silo's correlator. It routes each call like any silo does.
/// </summary>
internal interface IFunctionIngressGrain : IGrainWithStringKey
{
    [ResponseTimeout("00:15:00")]
    Task<RemoteResult> InvokeAsync(RemoteInvocation invocation, CancellationToken cancellationToken);

    Task<int> NotifyPreTriggerAsync(string key, Dictionary<string, string>? attributes);
}
