using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Options;

namespace OnDemandExecution.Benchmarks;

/// <summary>
/// What a keep-alive policy adds to every call: one <see cref="IKeepAlivePolicy.OnInvocation"/> and one
/// <see cref="IKeepAlivePolicy.OnCompleted"/>, for one of 64 functions in turn (the state of a warm function), on the
/// system clock. The baseline is the fixed keep-alive (the default, a constant). The predictive policies' timers run
/// beside (their pre-loads go to pools that only count them).
/// </summary>
[MemoryDiagnoser]
public class KeepAlivePolicyBenchmarks
{
    private static readonly TenantId Tenant = new("bench");
    private readonly FunctionDefinition[] _functions = [.. Enumerable.Range(0, 64).Select(i => new FunctionDefinition($"f{i}", new DelegateFunctionCode((ctx, _) => new ValueTask<ReadOnlyMemory<byte>>(ctx.Payload))))];
    private IKeepAlivePolicy _fixed = null!;
    private IKeepAlivePolicy _adaptive = null!;
    private IKeepAlivePolicy _burst = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var pools = new CountingPools();
        _fixed = new FixedKeepAlivePolicy(TimeSpan.FromMinutes(10));
        _adaptive = new AdaptiveCapacityPolicy(pools, TimeProvider.System, Options.Create(new AdaptiveCapacityOptions()), Options.Create(new OnDemandExecutionOptions()));
        _burst = new RecurringBurstPolicy(pools, TimeProvider.System, Options.Create(new RecurringBurstOptions()));
        foreach (var policy in new[] { _fixed, _adaptive, _burst })
        {
            for (var i = 0; i < 1000; i++)
            {
                Call(policy);
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        (_adaptive as IDisposable)?.Dispose();
        (_burst as IDisposable)?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "fixed keep-alive")]
    public TimeSpan Fixed() => Call(_fixed);

    [Benchmark(Description = "adaptive capacity")]
    public TimeSpan Adaptive() => Call(_adaptive);

    [Benchmark(Description = "recurring burst")]
    public TimeSpan RecurringBurst() => Call(_burst);

    private TimeSpan Call(IKeepAlivePolicy policy)
    {
        var function = _functions[_next++ & 63];
        policy.OnInvocation(function, Tenant);
        return policy.OnCompleted(function, Tenant);
    }

    private sealed class CountingPools : IInstancePoolManager
    {
        private int _preloads;

        public IInstanceProvider Provider => throw new NotSupportedException();

        public int WarmingPoolTarget { get; set; }

        public PoolSnapshot GetSnapshot() => throw new NotSupportedException();

        public IReadOnlyList<ActivePoolCounts> GetActivePools() => [];

        public ValueTask<int> PreloadAsync(FunctionDefinition definition, TenantId tenant, int count, TimeSpan keepAlive, CancellationToken cancellationToken = default)
        {
            Interlocked.Add(ref _preloads, count);
            return ValueTask.FromResult(count);
        }

        public ValueTask PrewarmAsync(CancellationToken cancellationToken = default) => default;

        public ValueTask RunMaintenanceAsync(CancellationToken cancellationToken = default) => default;
    }
}
