namespace OnDemandExecution;

/// <summary>
/// Decides how long an instance that just went idle keeps a function's code loaded, and observes arrivals so it can
/// act ahead of demand (for example by calling <see cref="IInstancePoolManager.PreloadAsync"/> shortly before an
/// expected request, or by lowering <see cref="IInstancePoolManager.WarmingPoolTarget"/>).
/// </summary>
/// <remarks>
/// One policy serves an executor; register it with <c>builder.UseKeepAlivePolicy&lt;T&gt;()</c>. The default is
/// <see cref="FixedKeepAlivePolicy"/>. Both methods are called on the invocation path: they must be cheap, must not
/// block and must not throw. A policy that acts on the pools does so asynchronously (timers on the
/// <see cref="TimeProvider"/>), never inside these calls.
/// </remarks>
public interface IKeepAlivePolicy
{
    /// <summary>Called once for every accepted invocation, before an instance is acquired for it.</summary>
    /// <param name="definition">The function invoked.</param>
    /// <param name="tenant">The tenant it runs for.</param>
    void OnInvocation(FunctionDefinition definition, TenantId tenant);

    /// <summary>
    /// Called once when an invocation has finished: how long its instance (if it is kept) stays loaded and idle before
    /// it expires.
    /// </summary>
    /// <param name="definition">The function that ran.</param>
    /// <param name="tenant">The tenant it ran for.</param>
    /// <returns>
    /// The keep-alive: <see cref="TimeSpan.Zero"/> retires the instance at once (recycled into the warming pool when the
    /// provider can scrub it and the pool needs it, else destroyed); <see cref="Timeout.InfiniteTimeSpan"/> never expires
    /// it (it can still be evicted at <see cref="OnDemandExecutionOptions.MaxInstances"/>).
    /// </returns>
    TimeSpan OnCompleted(FunctionDefinition definition, TenantId tenant);
}
