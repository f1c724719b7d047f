namespace OnDemandExecution;

/// <summary>What a <see cref="PeriodicityDetector"/> currently believes about a stream of arrivals.</summary>
/// <param name="Period">The estimated period; <see cref="TimeSpan.Zero"/> when there is no estimate yet.</param>
/// <param name="Degree">
/// The degree of periodicity in [0, 1]: the phase coherence (vector strength) of the arrivals in the window at
/// <paramref name="Period"/>. 1 is a perfect clock; Poisson arrivals give about <c>1/sqrt(n)</c> for n arrivals.
/// </param>
/// <param name="Anchor">The time of a fitted beat: beats are expected at <c>Anchor + k * Period</c>.</param>
/// <param name="Jitter">The standard deviation of the beats around the fitted clock.</param>
/// <param name="BurstSpread">The longest span of one beat (the first to the last arrival of a burst).</param>
/// <param name="ArrivalsPerBeat">The mean number of arrivals per beat (1 without bursts).</param>
/// <param name="Beats">How many beats the window holds.</param>
public readonly record struct PeriodicityEstimate(
    TimeSpan Period,
    double Degree,
    TimeSpan Anchor,
    TimeSpan Jitter,
    TimeSpan BurstSpread,
    double ArrivalsPerBeat,
    int Beats)
{
    /// <summary>True when a period has been estimated.</summary>
    public bool HasPeriod => Period > TimeSpan.Zero;

    /// <summary>The first expected beat strictly after <paramref name="time"/>.</summary>
    /// <param name="time">A time on the same clock as the observed arrivals.</param>
    /// <returns>The expected time, or <paramref name="time"/> when there is no period.</returns>
    public TimeSpan NextAfter(TimeSpan time)
    {
        if (!HasPeriod)
        {
            return time;
        }

        var k = Math.Floor((double)(time - Anchor).Ticks / Period.Ticks) + 1;
        return Anchor + TimeSpan.FromTicks((long)Math.Round(k * Period.Ticks));
    }
}
