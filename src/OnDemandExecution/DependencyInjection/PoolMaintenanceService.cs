using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Pooling;

namespace OnDemandExecution.DependencyInjection;

/// <summary>
/// Starts and stops with the host: fills the warming pool at start, runs pool maintenance every
/// <see cref="OnDemandExecutionOptions.MaintenanceInterval"/> (on the registered <see cref="TimeProvider"/>), and
/// destroys every instance when the host stops.
/// </summary>
internal sealed class PoolMaintenanceService : BackgroundService
{
    private readonly ProviderPools _pools;
    private readonly OnDemandExecutionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    // Taking the catalog makes the host build it at start: a bad function registration fails start-up, not the first call.
    public PoolMaintenanceService(ProviderPools pools, IFunctionCatalog catalog, IOptions<OnDemandExecutionOptions> options, TimeProvider timeProvider, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _pools = pools;
        _options = options.Value;
        _time = timeProvider;
        _logger = (ILogger?)loggerFactory?.CreateLogger<PoolMaintenanceService>() ?? NullLogger.Instance;
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.PrewarmOnStart)
        {
            foreach (var pool in _pools.All)
            {
                try
                {
                    await pool.PrewarmAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.MaintenanceFailed(_logger, ex);
                }
            }
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Both honour the host's token: a maintenance pass or a call that hangs cannot hold the host's stop beyond it.
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        foreach (var pool in _pools.All)
        {
            await pool.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        foreach (var pool in _pools.All)
        {
            Log.PoolStarted(_logger, pool.Options.WarmingPoolSize, pool.Provider.Name);
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var pool in _pools.All)
                {
                    try
                    {
                        await pool.RunMaintenancePassAsync(stoppingToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                    {
                        Log.MaintenanceFailed(_logger, ex); // one provider's failure does not hold up the others
                    }
                }

                await Task.Delay(_options.MaintenanceInterval, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.MaintenanceFailed(_logger, ex);
                await Task.Delay(_options.MaintenanceInterval, _time, stoppingToken).ConfigureAwait(false);
            }
        }
    }
}
