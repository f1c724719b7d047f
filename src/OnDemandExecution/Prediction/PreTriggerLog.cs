using Microsoft.Extensions.Logging;

namespace OnDemandExecution;

/// <summary>The pre-trigger correlator's log messages (event ids 40 to 49).</summary>
internal static partial class PreTriggerLog
{
    [LoggerMessage(40, LogLevel.Debug, "Pre-trigger {Key} (tenant {Tenant}, {AttributeCount} attributes): {Predictions} predictions from {Observations} past windows.")]
    public static partial void PreTriggerSeen(ILogger logger, string key, string tenant, int attributeCount, int predictions, int observations);

    [LoggerMessage(41, LogLevel.Information, "Pre-trigger {Key} predicts {Requests} requests of {Function} on {Instances} instances for tenant {Tenant} from {FirstMs:F0} ms to {LastMs:F0} ms (confidence {Confidence:F2}, lift {Lift:F1}).")]
    public static partial void Predicted(ILogger logger, string key, string function, string tenant, int requests, int instances, double firstMs, double lastMs, double confidence, double lift);

    [LoggerMessage(42, LogLevel.Debug, "Pre-trigger {Key} is not acted on for {Function}: {Reason} (confidence {Confidence:F2}, lift {Lift:F1}).")]
    public static partial void NotPredicted(ILogger logger, string key, string function, string reason, double confidence, double lift);

    [LoggerMessage(43, LogLevel.Debug, "Pre-initialized {Loaded} of {Count} instances of {Function} for tenant {Tenant}.")]
    public static partial void Prewarmed(ILogger logger, string function, string tenant, int loaded, int count);

    [LoggerMessage(44, LogLevel.Warning, "The pre-trigger history store failed; learning goes on in memory.")]
    public static partial void StoreFailed(ILogger logger, Exception exception);

    [LoggerMessage(45, LogLevel.Warning, "Pre-initializing instances of {Function} for a pre-trigger failed; its requests start on demand.")]
    public static partial void PrewarmFailed(ILogger logger, string function, Exception exception);

    [LoggerMessage(46, LogLevel.Debug, "Prediction for {Function} ended: {Used} of {Prewarmed} pre-initialized instances used.")]
    public static partial void PredictionEnded(ILogger logger, string function, long used, long prewarmed);

    [LoggerMessage(47, LogLevel.Debug, "Pre-trigger window of {Key} not opened: {Open} windows are open already.")]
    public static partial void WindowDropped(ILogger logger, string key, int open);
}
