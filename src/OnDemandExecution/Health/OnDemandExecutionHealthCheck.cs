using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OnDemandExecution.Pooling;

namespace OnDemandExecution.Health;

/// <summary>
/// The pools' health, worst provider first: unhealthy when a provider cannot create anything, degraded when its warming
/// pool has stayed below target, its creations keep failing, or maintenance is late. Reads counters only: it creates
/// nothing and waits for nothing.
/// </summary>
internal sealed class OnDemandExecutionHealthCheck : IHealthCheck
{
    private readonly ProviderPools _pools;
    private readonly OnDemandExecutionHealthCheckOptions _options;

    public OnDemandExecutionHealthCheck(ProviderPools pools, IOptions<OnDemandExecutionHealthCheckOptions> options)
    {
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentNullException.ThrowIfNull(options);
        _pools = pools;
        _options = options.Value;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var worst = HealthStatus.Healthy;
        var reasons = new List<string>();
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var pool in _pools.All)
        {
            var h = pool.GetHealth();
            var (status, reason) = Judge(h);
            data[h.Name] = string.Create(
                CultureInfo.InvariantCulture,
                $"{status}: provider {h.ProviderName}, warm {h.Warm}/{h.WarmTarget}, live {h.Live}, create failures in a row {h.ConsecutiveCreateFailures}, last maintenance {(h.SinceLastMaintenance is { } t ? t.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + " s ago" : "never")}");
            if (reason is not null)
            {
                reasons.Add($"provider '{h.Name}': {reason}");
            }

            if (status < worst)
            {
                worst = status; // Unhealthy (0) < Degraded (1) < Healthy (2)
            }
        }

        var description = reasons.Count == 0 ? $"{_pools.All.Count} provider pool(s) healthy." : string.Join("; ", reasons);
        return Task.FromResult(new HealthCheckResult(worst == HealthStatus.Unhealthy ? context.Registration.FailureStatus : worst, description, data: data));
    }

    private (HealthStatus Status, string? Reason) Judge(PoolHealth h)
    {
        if (h.ConsecutiveCreateFailures >= _options.UnhealthyAfterCreateFailures && h.Live == 0)
        {
            return (HealthStatus.Unhealthy, $"cannot create instances: the last {h.ConsecutiveCreateFailures} creations failed and none is left ({h.LastCreateError})");
        }

        var late = h.MaintenanceInterval * _options.MaintenanceLateIntervals;
        var sinceMaintenance = h.SinceLastMaintenance ?? h.Age;
        if (sinceMaintenance >= late)
        {
            return (HealthStatus.Degraded, $"no maintenance pass completed for {sinceMaintenance} ({_options.MaintenanceLateIntervals} intervals of {h.MaintenanceInterval})");
        }

        if (h.ConsecutiveCreateFailures >= _options.DegradedAfterCreateFailures)
        {
            return (HealthStatus.Degraded, $"the last {h.ConsecutiveCreateFailures} instance creations failed ({h.LastCreateError})");
        }

        if (h.WarmBelowTargetFor is { } below && below >= _options.WarmingPoolBelowTargetFor)
        {
            return (HealthStatus.Degraded, $"the warming pool has been below its target ({h.Warm} of {h.WarmTarget}) for {below}");
        }

        return (HealthStatus.Healthy, null);
    }
}
