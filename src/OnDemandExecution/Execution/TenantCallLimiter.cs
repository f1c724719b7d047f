using System.Collections.Concurrent;

namespace OnDemandExecution.Execution;

/// <summary>
/// Counts each tenant's calls in the executor (waiting for a function's limit, starting or running) against
/// <see cref="OnDemandExecutionOptions.MaxConcurrentCallsPerTenant"/>, so that one tenant's flood or hung calls cannot
/// fill the functions' concurrency limits and queues that all tenants share.
/// </summary>
internal sealed class TenantCallLimiter
{
    private readonly ConcurrentDictionary<TenantId, Counter> _counters = new();
    private readonly int _limit;

    // The counter this thread used last: most calls repeat their thread's tenant, and then no lookup is needed.
    [ThreadStatic]
    private static Counter? t_last;

    public TenantCallLimiter(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        _limit = limit;
    }

    public int Limit => _limit;

    /// <summary>Calls of <paramref name="tenant"/> counted now.</summary>
    public int CountOf(TenantId tenant) => _counters.TryGetValue(tenant, out var counter) ? Volatile.Read(ref counter.Calls) : 0;

    /// <summary>Counts one call of <paramref name="tenant"/>; pass the result to <see cref="Exit"/> when it ends.</summary>
    /// <exception cref="TenantLimitExceededException">The tenant has <see cref="Limit"/> calls already.</exception>
    public Counter Enter(TenantId tenant, string functionName)
    {
        var counter = t_last;
        if (counter is null || counter.Owner != this || !string.Equals(counter.Tenant.Value, tenant.Value, StringComparison.Ordinal))
        {
            counter = _counters.GetOrAdd(tenant, static (t, self) => new Counter(self, t), this);
            t_last = counter;
        }

        if (Interlocked.Increment(ref counter.Calls) > _limit)
        {
            Interlocked.Decrement(ref counter.Calls);
            throw new TenantLimitExceededException(
                $"Tenant '{tenant}' already has {_limit} calls in progress ({nameof(OnDemandExecutionOptions.MaxConcurrentCallsPerTenant)}); the call of function '{functionName}' was rejected. Retry later, or raise {nameof(OnDemandExecutionOptions.MaxConcurrentCallsPerTenant)}.")
            {
                Tenant = tenant,
                LimitName = nameof(OnDemandExecutionOptions.MaxConcurrentCallsPerTenant),
                Limit = _limit,
            };
        }

        return counter;
    }

    public static void Exit(Counter counter) => Interlocked.Decrement(ref counter.Calls);

    /// <summary>One tenant's count.</summary>
    internal sealed class Counter(TenantCallLimiter owner, TenantId tenant)
    {
        public int Calls;

        public TenantCallLimiter Owner { get; } = owner;

        public TenantId Tenant { get; } = tenant;
    }
}
