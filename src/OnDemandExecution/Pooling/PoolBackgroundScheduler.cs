namespace OnDemandExecution.Pooling;

/// <summary>
/// The <see cref="TaskScheduler"/> the pools start their background work on (the warming-pool refill); registered by
/// <c>UseBackgroundScheduler</c>. Without it the pools use <see cref="TaskScheduler.Default"/> (the thread pool).
/// </summary>
/// <param name="Scheduler">The scheduler.</param>
internal sealed record PoolBackgroundScheduler(TaskScheduler Scheduler);
