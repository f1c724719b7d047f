namespace OnDemandExecution.Placement;

/// <summary>
/// The smoothed quality of one channel (location to endpoint): round-trip time and failure rate as exponentially
/// weighted moving averages, fed by probes and by executions' reports. Written under its own lock (off the invocation
/// path: probes run in the background, reports are a few arithmetic operations); read by the plan computation.
/// </summary>
internal sealed class ChannelEstimate
{
    private readonly object _gate = new();
    private double _roundTripMs;
    private double _failureRate;
    private bool _hasRoundTrip;
    private long _samples;
    private long _lastUpdated;

    public ChannelEstimate(InstanceLocation location, string endpoint)
    {
        Location = location;
        Endpoint = endpoint;
    }

    public InstanceLocation Location { get; }

    public string Endpoint { get; }

    /// <summary>Folds one measurement in: a success moves the round trip, every measurement moves the failure rate.</summary>
    public void Record(bool succeeded, TimeSpan roundTrip, long timestamp, double alpha)
    {
        var ms = Math.Max(roundTrip.TotalMilliseconds, 0);
        lock (_gate)
        {
            var failed = succeeded ? 0.0 : 1.0;
            _failureRate = _samples == 0 ? failed : ((1 - alpha) * _failureRate) + (alpha * failed);
            if (succeeded)
            {
                _roundTripMs = _hasRoundTrip ? ((1 - alpha) * _roundTripMs) + (alpha * ms) : ms;
                _hasRoundTrip = true;
            }

            _samples++;
            _lastUpdated = timestamp;
        }
    }

    public ChannelQuality Read(TimeProvider time, TimeSpan staleAfter)
    {
        lock (_gate)
        {
            var age = time.GetElapsedTime(_lastUpdated);
            return new ChannelQuality(_hasRoundTrip ? TimeSpan.FromMilliseconds(_roundTripMs) : null, _failureRate, _samples, age, _samples == 0 || age > staleAfter);
        }
    }
}

/// <summary>A channel's estimate at one moment.</summary>
/// <param name="RoundTrip">Smoothed round trip of the successful measurements; null when none succeeded.</param>
/// <param name="FailureRate">Smoothed share of failed measurements, in [0, 1].</param>
/// <param name="Samples">Measurements folded in so far.</param>
/// <param name="Age">Time since the last measurement.</param>
/// <param name="IsStale">Older than <see cref="ChannelQualityPlacementOptions.StaleAfter"/> (or never measured): it no longer steers placement.</param>
internal readonly record struct ChannelQuality(TimeSpan? RoundTrip, double FailureRate, long Samples, TimeSpan Age, bool IsStale)
{
    /// <summary>Expected cost of one round trip in ms: the round trip plus the failure rate times the failure penalty (a channel that never succeeded costs the penalty).</summary>
    public double CostMs(double failurePenaltyMs) =>
        (RoundTrip?.TotalMilliseconds ?? failurePenaltyMs) + (FailureRate * failurePenaltyMs);
}
