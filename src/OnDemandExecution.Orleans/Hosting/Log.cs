using Microsoft.Extensions.Logging;

namespace OnDemandExecution.Orleans.Hosting;

internal static partial class Log
{
    [LoggerMessage(900, LogLevel.Warning, "Cluster: exchanging the capacity report with the directory failed; the next interval retries.")]
    public static partial void ExchangeFailed(ILogger logger, Exception exception);

    [LoggerMessage(901, LogLevel.Warning, "Cluster: host {Host} left while running call {InvocationId} of {Function}; the call ends with ClusterHostUnavailableException.")]
    public static partial void HostUnavailable(ILogger logger, string host, string invocationId, string function, Exception exception);

    [LoggerMessage(902, LogLevel.Debug, "Cluster: call {InvocationId} of {Function} was sent here for an idle instance that was gone (stale view); it ran with a {StartKind} start.")]
    public static partial void StaleRoute(ILogger logger, string invocationId, string function, StartKind startKind);

    [LoggerMessage(903, LogLevel.Debug, "Cluster: view {Version} applied, {Hosts} hosts.")]
    public static partial void ViewApplied(ILogger logger, long version, int hosts);

    [LoggerMessage(904, LogLevel.Warning, "Cluster: forwarding a preload of {Count} instances of {Function} to host {Host} failed; none were loaded there.")]
    public static partial void PreloadForwardFailed(ILogger logger, int count, string function, string host, Exception exception);
}
