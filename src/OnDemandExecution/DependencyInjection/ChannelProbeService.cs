using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Placement;

namespace OnDemandExecution.DependencyInjection;

/// <summary>
/// Runs the channel-quality probes in the background: one round at start, then one every
/// <see cref="ChannelQualityPlacementOptions.ProbeInterval"/> (on the registered <see cref="TimeProvider"/>). Each round
/// recomputes the placement plans, so estimates that became stale stop steering placement even when no probe runs.
/// </summary>
internal sealed class ChannelProbeService : BackgroundService
{
    private readonly ChannelQualityPlacer _placer;
    private readonly ChannelQualityPlacementOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public ChannelProbeService(ChannelQualityPlacer placer, IOptions<ChannelQualityPlacementOptions> options, TimeProvider timeProvider, ILoggerFactory? loggerFactory = null)
    {
        _placer = placer;
        _options = options.Value;
        _time = timeProvider;
        _logger = (ILogger?)loggerFactory?.CreateLogger<ChannelProbeService>() ?? NullLogger.Instance;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.PlacementStarted(_logger, _options.LikelihoodThreshold, _options.ProbeInterval.TotalSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _placer.ProbeAllAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.ChannelProbeRoundFailed(_logger, ex);
            }

            try
            {
                await Task.Delay(_options.ProbeInterval, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

/// <summary>Forwards invocation events to the placer (which learns how many executions a function had).</summary>
internal sealed class PlacerInvocationObserver(ChannelQualityPlacer placer) : IInvocationObserver
{
    public void OnInvocationStarting(FunctionDefinition definition, InvocationRequest request) => placer.OnInvocationStarting(definition, request);

    public void OnInvocationCompleted(FunctionDefinition definition, InvocationRequest request, InvocationResult? result, Exception? exception) =>
        placer.OnInvocationCompleted(definition, request, result, exception);
}
