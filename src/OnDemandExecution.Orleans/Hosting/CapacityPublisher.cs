using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OnDemandExecution.Orleans.Grains;
using OnDemandExecution.Orleans.Routing;

namespace OnDemandExecution.Orleans.Hosting;

/// <summary>
/// Publishes this host's capacity (warming pool, load, idle instances per (tenant, function)) to the directory when it
/// changed, at most once per <see cref="OnDemandClusterOptions.PublishInterval"/>, and pulls the cluster view in the
/// same message; follows membership so that a dead host leaves the local view as soon as membership says so.
/// </summary>
internal sealed class CapacityPublisher(
    LocalHost host,
    ClusterCapacityView view,
    IGrainFactory grains,
    IClusterMembershipService membership,
    TimeProvider timeProvider,
    IOptions<OnDemandClusterOptions> options,
    ILogger<CapacityPublisher> logger) : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly SemaphoreSlim _exchange = new(1, 1);
    private CancellationTokenSource? _stopping;
    private Task? _loop;
    private Task? _membershipLoop;
    private long _version;
    private FunctionCapacity[] _lastFunctions = [];
    private (long Warm, long Busy, long Live) _lastTotals = (-1, -1, -1);
    private int _unchanged;

    public void Dispose()
    {
        _exchange.Dispose();
        _stopping?.Dispose();
    }

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(CapacityPublisher), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = new CancellationTokenSource();
        _membershipLoop = Task.Run(() => FollowMembershipAsync(_stopping.Token), CancellationToken.None);
        if (options.Value.PublishInterval != Timeout.InfiniteTimeSpan)
        {
            _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping is null)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var task in new[] { _loop, _membershipLoop })
        {
            if (task is not null)
            {
                await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.Value.PublishInterval, timeProvider);
        try
        {
            do
            {
                await ExchangeAsync(force: false, cancellationToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task FollowMembershipAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                view.SetActiveHosts(snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Publishes the report if it changed (or always, with <paramref name="force"/>) and pulls the view. One exchange at a
    /// time; a failure is logged and left to the next interval.
    /// </summary>
    public async Task ExchangeAsync(bool force, CancellationToken cancellationToken = default)
    {
        await _exchange.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var report = BuildReportIfChanged(force);
            var directory = grains.GetGrain<ICapacityDirectoryGrain>(0);
            var update = await directory.ExchangeAsync(report, view.Version).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (report is not null)
            {
                host.ReportPublished();
            }

            view.Apply(update);
            if (update.Reports is not null)
            {
                Log.ViewApplied(logger, update.Version, update.Reports.Length);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _lastTotals = (-1, -1, -1); // publish again next time
            Log.ExchangeFailed(logger, ex);
        }
        finally
        {
            _exchange.Release();
        }
    }

    /// <summary>Starts an exchange now without waiting for it (after a preload, so that other hosts see it early).</summary>
    public void PublishSoon() => _ = ExchangeAsync(force: false, _stopping?.Token ?? CancellationToken.None);

    private HostCapacityReport? BuildReportIfChanged(bool force)
    {
        var snapshot = host.Pools.GetSnapshot();
        var totals = (snapshot.Warm, snapshot.Busy + snapshot.Assigned, snapshot.Live);
        var functions = host.Pools.GetActivePools()
            .Where(p => p.Idle > 0)
            .OrderByDescending(p => p.Idle)
            .Take(options.Value.MaxFunctionsPerReport)
            .Select(p => new FunctionCapacity(p.Tenant.Value, p.Function, p.Idle))
            .OrderBy(f => f.Tenant, StringComparer.Ordinal)
            .ThenBy(f => f.Function, StringComparer.Ordinal)
            .ToArray();
        var changed = totals != _lastTotals || !functions.AsSpan().SequenceEqual(_lastFunctions);
        if (!changed && !force && ++_unchanged < options.Value.RepublishEvery)
        {
            return null;
        }

        _unchanged = 0;
        if (changed)
        {
            _version++;
        }

        _lastTotals = totals;
        _lastFunctions = functions;
        return new HostCapacityReport(host.Address, _version, totals.Warm, totals.Item2, totals.Live, functions);
    }
}
