using Microsoft.Extensions.DependencyInjection.Extensions;
using OnDemandExecution;
using OnDemandExecution.Pooling;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Advanced: where the pools run the work they start in the background.</summary>
public static class BackgroundSchedulerBuilderExtensions
{
    /// <summary>
    /// Advanced: starts the pools' background work (the warming-pool refill, which every start that is not a warm hit
    /// and every maintenance pass may begin) on <paramref name="scheduler"/> instead of the thread pool.
    /// </summary>
    /// <remarks>
    /// For simulators and tests on virtual time: with a scheduler that queues tasks and runs them when the caller says
    /// (and a <see cref="TimeProvider"/> whose timers fire on the caller's thread), every piece of the pools' work runs
    /// on one thread in a fixed order, so a replay is exactly repeatable. The scheduler must eventually run what it is
    /// given: work it never runs is a refill that never happens. A pool given a scheduler also looks for an idle instance
    /// from the first member of its active pool rather than from one picked by the thread's id (so its choice does not
    /// depend on which thread drives it), giving up that spreading of threads. Applications leave it alone.
    /// </remarks>
    /// <param name="builder">The builder.</param>
    /// <param name="scheduler">The scheduler.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseBackgroundScheduler(this IOnDemandExecutionBuilder builder, TaskScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(scheduler);
        builder.Services.RemoveAll<PoolBackgroundScheduler>();
        builder.Services.AddSingleton(new PoolBackgroundScheduler(scheduler));
        return builder;
    }
}
