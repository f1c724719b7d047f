namespace OnDemandExecution.Execution;

/// <summary>
/// The per-call timeout sources, reused: one kept per thread and reset (<see cref="CancellationTokenSource.TryReset"/>)
/// after a call that neither timed out nor was cancelled, so a warm hit allocates no source and no timer.
/// </summary>
/// <remarks>
/// A source is reused only when <see cref="CancellationTokenSource.TryReset"/> proves its timer never fired, which also
/// drops every registration the finished call left on its token; it is never reused after an abandoned call (the call
/// may still hold the token). Time providers whose timers cannot be reset (TryReset is false for them) get a new
/// source per call, as before.
/// </remarks>
internal static class TimeoutSources
{
    [ThreadStatic]
    private static CancellationTokenSource? t_source;

    [ThreadStatic]
    private static TimeProvider? t_time; // the provider t_source's timer belongs to

    /// <summary>A source that cancels after <paramref name="timeout"/> on <paramref name="time"/>.</summary>
    public static CancellationTokenSource Rent(TimeProvider time, TimeSpan timeout)
    {
        var cached = t_source;
        if (cached is not null && ReferenceEquals(t_time, time))
        {
            t_source = null;
#pragma warning disable RS0030 // created with the TimeProvider below: CancelAfter re-arms that provider's own timer
            cached.CancelAfter(timeout);
#pragma warning restore RS0030
            return cached;
        }

        return new CancellationTokenSource(timeout, time);
    }

    /// <summary>Keeps <paramref name="source"/> for this thread's next call when it can be reset, else disposes it.</summary>
    /// <param name="source">The source of a call that is over.</param>
    /// <param name="reusable">False when the call may still hold the token (abandoned).</param>
    /// <param name="time">The time provider the source was created with.</param>
    public static void Return(CancellationTokenSource source, bool reusable, TimeProvider time)
    {
        if (reusable && t_source is null && source.TryReset())
        {
            t_source = source;
            t_time = time;
            return;
        }

        source.Dispose();
    }
}
