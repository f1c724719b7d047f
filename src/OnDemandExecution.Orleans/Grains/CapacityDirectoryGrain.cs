using Microsoft.Extensions.Options;
using OnDemandExecution.Orleans.Routing;

namespace OnDemandExecution.Orleans.Grains;

/// <summary>
/// Holds the newest report of each live host. Reports of silos that membership no longer lists as active, or that were
/// not refreshed for <see cref="OnDemandClusterOptions.ReportTimeToLive"/>, are dropped. In memory: after a move to
/// another silo it starts empty and the hosts' periodic republish refills it.
/// </summary>
internal sealed class CapacityDirectoryGrain(
    IClusterMembershipService membership,
    TimeProvider timeProvider,
    IOptions<OnDemandClusterOptions> options) : Grain, ICapacityDirectoryGrain
{
    private readonly Dictionary<SiloAddress, (HostCapacityReport Report, long HeardAt)> _reports = [];

    // Starts at a random point so that a directory re-activated elsewhere never repeats the version a host holds.
    private long _version = Random.Shared.NextInt64(1, long.MaxValue / 2);
    private HostCapacityReport[]? _view;

    public Task<CapacityViewUpdate> ExchangeAsync(HostCapacityReport? report, long knownVersion)
    {
        var now = timeProvider.GetTimestamp();
        if (report is not null)
        {
            if (!_reports.TryGetValue(report.Host, out var held) || held.Report.Version != report.Version)
            {
                _view = null;
            }

            if (held.Report is null || held.Report.Version <= report.Version)
            {
                _reports[report.Host] = (report, now);
            }
        }

        Prune(now);
        if (_view is null)
        {
            _view = [.. _reports.Values.Select(r => r.Report)];
            _version++;
        }

        return Task.FromResult(new CapacityViewUpdate(_version, knownVersion == _version ? null : _view));
    }

    private void Prune(long now)
    {
        var snapshot = membership.CurrentSnapshot;
        List<SiloAddress>? dead = null;
        foreach (var (host, entry) in _reports)
        {
            var alive = snapshot.GetSiloStatus(host) == SiloStatus.Active;
            if (!alive || timeProvider.GetElapsedTime(entry.HeardAt, now) > options.Value.ReportTimeToLive)
            {
                (dead ??= []).Add(host);
            }
        }

        foreach (var host in dead ?? [])
        {
            _reports.Remove(host);
            _view = null;
        }
    }
}
