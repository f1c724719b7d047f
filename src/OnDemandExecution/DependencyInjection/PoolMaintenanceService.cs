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
    private readonly PoolManager _pool;
    private readonly OnDemandExecutionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    // Taking the catalog makes the host build it at start: a bad function registration fails start-up, not the first call.
    public PoolMaintenanceService(PoolManager pool, IFunctionCatalog catalog, IOptions<OnDemandExecutionOptions> options, TimeProvider timeProvider, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _pool = pool;
        _options = options.Value;
        _time = timeProvider;
        _logger = (ILogger?)loggerFactory?.CreateLogger<PoolMaintenanceService>() ?? NullLogger.Instance;
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.PrewarmOnStart)
        {
            try
            {
                await _pool.PrewarmAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.MaintenanceFailed(_logger, ex);
            }
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Both honour the host's token: a maintenance pass or a call that hangs cannot hold the host's stop beyond it.
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await _pool.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.PoolStarted(_logger, _options.WarmingPoolSize, _pool.Provider.Name);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _pool.RunMaintenancePassAsync(stoppingToken).ConfigureAwait(false);
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
