using System.Diagnostics.Metrics;
using OnDemandExecution.Diagnostics;

namespace OnDemandExecution.Orleans.Hosting;

/// <summary>
/// The cluster counters of this host on the library's one meter (<see cref="OnDemandExecutionDiagnostics.Name"/>), read
/// from <see cref="LocalHost"/> when collected: nothing is recorded on the call path beyond the host's own counters.
/// </summary>
internal sealed class ClusterMetrics : IDisposable
{
    private readonly Meter? _owned;

    public ClusterMetrics(LocalHost host, IMeterFactory? meterFactory = null)
    {
        var meter = meterFactory?.Create(OnDemandExecutionDiagnostics.Name) ?? (_owned = new Meter(OnDemandExecutionDiagnostics.Name));
        meter.CreateObservableCounter("ondemand.cluster.calls.entered", () => host.Snapshot().Entered, "{call}", "Calls that entered the cluster on this host.");
        meter.CreateObservableCounter("ondemand.cluster.calls.routed_away", () => host.Snapshot().RoutedAway, "{call}", "Calls this host sent to another host.");
        meter.CreateObservableCounter("ondemand.cluster.calls.served_for_others", () => host.Snapshot().ServedForOthers, "{call}", "Calls other hosts sent here.");
        meter.CreateObservableCounter("ondemand.cluster.calls.stale_routes", () => host.Snapshot().StaleRoutes, "{call}", "Calls sent here for an idle instance that was gone.");
        meter.CreateObservableCounter("ondemand.cluster.calls.host_unavailable", () => host.Snapshot().HostUnavailable, "{call}", "Calls whose host left the cluster.");
        meter.CreateObservableCounter("ondemand.cluster.reports.published", () => host.Snapshot().ReportsPublished, "{report}", "Capacity reports this host published.");
    }

    public void Dispose() => _owned?.Dispose();
}
