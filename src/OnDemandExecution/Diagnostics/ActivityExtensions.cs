using System.Diagnostics;

namespace OnDemandExecution.Diagnostics;

/// <summary>How the library marks spans: failures, and background work in traces of its own.</summary>
internal static class ActivityExtensions
{
    /// <summary>
    /// Marks <paramref name="activity"/> failed: status <see cref="ActivityStatusCode.Error"/> with the message,
    /// <c>error.type</c> (the exception's full type name) and the exception as an <c>exception</c> span event.
    /// </summary>
    public static void Fail(this Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.SetTag(OnDemandExecutionDiagnostics.ErrorTypeTag, exception.GetType().FullName);
        activity.AddException(exception);
    }

    /// <summary>
    /// Starts a span for background work as the root of a new trace, linked to the span that triggered it (if any),
    /// so that a refill or a preload does not inflate whichever call happened to start it. Leaves
    /// <see cref="Activity.Current"/> set to the new span (or null): call it from an async method, whose changes to
    /// <see cref="Activity.Current"/> do not flow back to its caller.
    /// </summary>
    public static Activity? StartBackground(string name, ActivityContext trigger = default)
    {
        if (trigger == default && Activity.Current is { } current)
        {
            trigger = current.Context;
        }

        Activity.Current = null;
        if (!OnDemandMetrics.ActivitySource.HasListeners())
        {
            return null;
        }

        ActivityLink[]? links = trigger == default ? null : [new ActivityLink(trigger)];
        return OnDemandMetrics.ActivitySource.StartActivity(name, ActivityKind.Internal, parentContext: default, tags: null, links: links);
    }

    /// <summary>Runs <paramref name="start"/> with no current span, so that the work it starts does not join the caller's trace.</summary>
    public static void StartDetached<TState>(Action<TState> start, TState state)
    {
        var current = Activity.Current;
        if (current is null)
        {
            start(state);
            return;
        }

        Activity.Current = null;
        try
        {
            start(state);
        }
        finally
        {
            Activity.Current = current;
        }
    }
}
