namespace OnDemandExecution;

/// <summary>
/// Learns how many requests for which functions follow a pre-trigger (an upload started, a batch began, a function
/// ran) and pre-initializes that many instances in time for them.
/// </summary>
/// <remarks>
/// Explicit pre-triggers come through <see cref="NotifyPreTriggerAsync"/>; implicit ones are invocations of the
/// functions opted in with <see cref="PreTriggerOptions.ImplicitFunctions"/> (or every function, with
/// <see cref="PreTriggerOptions.ImplicitForAllFunctions"/>), under the key <see cref="PreTriggerOptions.ImplicitKeyPrefix"/>
/// + the function's name. Register with <c>builder.AddPreTriggers(o =&gt; ...)</c>; see docs/pre-triggers.md.
/// </remarks>
public interface IPreTriggerCorrelator
{
    /// <summary>
    /// Reports a pre-trigger: learns what follows it (the invocations of the next
    /// <see cref="PreTriggerOptions.ObservationWindow"/>) and, when its history is confident and beats the followers'
    /// base rates, schedules pre-initialization of the predicted instances.
    /// </summary>
    /// <param name="key">What happened, for example <c>upload-started</c>; compared ordinally.</param>
    /// <param name="tenant">The tenant whose functions will follow, or null when unknown (the generic warming pool is pre-warmed instead).</param>
    /// <param name="attributes">Optional attributes of the event (logged; not part of the key).</param>
    /// <param name="cancellationToken">Stops waiting for the history lookup; nothing scheduled is undone.</param>
    /// <returns>The predictions acted on (empty when no follower passed the thresholds).</returns>
    ValueTask<IReadOnlyList<PreTriggerPrediction>> NotifyPreTriggerAsync(string key, TenantId? tenant, IReadOnlyDictionary<string, string>? attributes = null, CancellationToken cancellationToken = default);

    /// <summary>Counts since start: predictions made, instances pre-warmed, used and wasted.</summary>
    /// <returns>A snapshot.</returns>
    PreTriggerStatistics GetStatistics();
}
