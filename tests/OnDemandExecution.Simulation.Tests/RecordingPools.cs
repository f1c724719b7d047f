namespace OnDemandExecution.Simulation.Tests;

/// <summary>Pools that only record the pre-loads a policy asks for (when, how many, for how long).</summary>
internal sealed class RecordingPools(TimeProvider time) : IInstancePoolManager
{
    public List<(DateTimeOffset At, int Count, TimeSpan KeepAlive)> Preloads { get; } = [];

    public IInstanceProvider Provider => throw new NotSupportedException();

    public int WarmingPoolTarget { get; set; }

    public PoolSnapshot GetSnapshot() => throw new NotSupportedException();

    public IReadOnlyList<ActivePoolCounts> GetActivePools() => [];

    public ValueTask<int> PreloadAsync(FunctionDefinition definition, TenantId tenant, int count, TimeSpan keepAlive, CancellationToken cancellationToken = default)
    {
        Preloads.Add((time.GetUtcNow(), count, keepAlive));
        return ValueTask.FromResult(count);
    }

    public ValueTask PrewarmAsync(CancellationToken cancellationToken = default) => default;

    public ValueTask RunMaintenanceAsync(CancellationToken cancellationToken = default) => default;
}
