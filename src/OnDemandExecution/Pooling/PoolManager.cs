using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Placement;

namespace OnDemandExecution.Pooling;

/// <summary>
/// The warming pool (pre-initialized, unassigned instances) and the active pool (instances assigned to a tenant with a
/// function's code loaded), over one <see cref="IInstanceProvider"/>.
/// </summary>
/// <remarks>
/// The slots, the warming pool and the active pools are the lock-free <see cref="SlotAllocator"/>'s: ownership is
/// decided by compare-and-swap on each slot's versioned state word, which also carries the active key, so a warm hit
/// and a release take no lock and allocate nothing. This class adds what is slow or asynchronous around it: creating,
/// loading, recycling and destroying instances through the provider, capacity, refills and maintenance.
/// </remarks>
internal sealed partial class PoolManager : IInstancePoolManager, IAsyncDisposable, IDisposable
{
    private readonly IInstanceProvider _provider;
    private readonly OnDemandExecutionOptions _options;
    private readonly TimeProvider _time;
    private readonly OnDemandMetrics _metrics;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _providerTag;
    private readonly ChannelQualityPlacer? _placer; // null unless AddChannelQualityPlacement: then the default path is one null check longer
    private readonly TaskScheduler _backgroundScheduler; // the thread pool unless UseBackgroundScheduler (simulators)

    private readonly SlotAllocator _slots;
    private readonly ConcurrentDictionary<Task, byte> _background = new();
    private readonly CancellationTokenSource _shutdown = new();

    private long _liveInstances; // reserved capacity: every slot not yet destroyed, plus reservations being created
    private long _created;
    private long _destroyed;
    private long _recycled;
    private int _warmProvisioning; // warming-pool creations in flight
    private int _warmChecking; // warming-pool instances out of the pool for a health check
    private Task _refill = Task.CompletedTask; // the warming-pool refill in flight (one at a time)
    private int _disposed;
    private int _warmTarget;
    private long _nextExpiry = long.MaxValue; // timestamp before which no idle instance expires (a hint: never later than the earliest)
    private long _provisionedLive; // slots flagged Provisioned (kept up by maintenance)

    public PoolManager(
        IInstanceProvider provider,
        IOptions<OnDemandExecutionOptions> options,
        TimeProvider timeProvider,
        OnDemandMetrics metrics,
        ILoggerFactory? loggerFactory = null,
        ChannelQualityPlacer? placer = null,
        PoolBackgroundScheduler? backgroundScheduler = null,
        string? name = null)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(metrics);
        _provider = provider;
        _options = options.Value;
        _time = timeProvider;
        _metrics = metrics;
        _logger = (ILogger?)loggerFactory?.CreateLogger<PoolManager>() ?? NullLogger.Instance;
        Name = name ?? ProviderPools.DefaultName;
        _providerTag = new(OnDemandExecutionDiagnostics.ProviderTag, name ?? provider.Name); // a named pool is tagged with its registration name
        _warmTarget = _options.WarmingPoolSize;
        _constructed = timeProvider.GetTimestamp();
        // A caller-supplied background scheduler means one thread drives the pools (a simulation): choices must not
        // depend on thread ids there.
        _slots = new SlotAllocator(Math.Clamp(_options.MaxInstances, 16, 1024), spreadScans: backgroundScheduler is null);
        _placer = placer;
        _backgroundScheduler = backgroundScheduler?.Scheduler ?? TaskScheduler.Default;
        metrics.ObservePools(_providerTag, GetSnapshot);
    }

    public IInstanceProvider Provider => _provider;

    /// <summary>Whether handlers run in this process (no isolation), where the invocation frame can reach them.</summary>
    internal bool HandlersRunInProcess => _provider.Capabilities.Isolation == IsolationLevel.None;

    /// <summary>The name functions use to pick this pool's provider (<see cref="ProviderPools.DefaultName"/> for the default one).</summary>
    public string Name { get; }

    /// <summary>The options this pool runs with (the default options, or the ones named after a named provider).</summary>
    public OnDemandExecutionOptions Options => _options;

    /// <summary>Every pool of the host, set once they are all built; routes preloads of another provider's functions.</summary>
    internal ProviderPools? Registry { get; set; }

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public int WarmingPoolTarget
    {
        get => Volatile.Read(ref _warmTarget);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, _options.MaxInstances);
            Volatile.Write(ref _warmTarget, value);
        }
    }

    /// <summary>The allocator under the pools (for tests and diagnostics).</summary>
    internal SlotAllocator Slots => _slots;

    /// <summary>
    /// Raised with the instance's id each time an instance stops serving its tenant: destroyed (before it is disposed),
    /// or scrubbed back into the warming pool. Handlers run on that thread, must be cheap and must not throw; sidecars
    /// use it to stop with the last primary they serve.
    /// </summary>
    internal event Action<string>? InstanceRetired;

    public PoolSnapshot GetSnapshot()
    {
        var counts = _slots.CountStates();
        long Count(InstanceState s) => counts[(int)s];
        return new PoolSnapshot(
            Provisioning: Count(InstanceState.Provisioning),
            Warm: Count(InstanceState.Warm),
            Assigned: Count(InstanceState.Assigned),
            Idle: Count(InstanceState.Loaded),
            Busy: Count(InstanceState.Busy),
            Recycling: Count(InstanceState.Recycling),
            Created: Volatile.Read(ref _created),
            Destroyed: Volatile.Read(ref _destroyed),
            Recycled: Volatile.Read(ref _recycled))
        {
            Provisioned = Volatile.Read(ref _provisionedLive),
        };
    }

    public IReadOnlyList<ActivePoolCounts> GetActivePools() => _slots.Keys.Select(SlotAllocator.CountKey).ToArray();


    public async ValueTask PrewarmAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        await StartRefill().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask RunMaintenanceAsync(CancellationToken cancellationToken = default)
    {
        if (IsDisposed)
        {
            return;
        }

        await RunMaintenancePassAsync(cancellationToken).ConfigureAwait(false);
        await StartProvisioning().WaitAsync(cancellationToken).ConfigureAwait(false);
        await StartRefill().WaitAsync(cancellationToken).ConfigureAwait(false);
        NoteMaintenanceCompleted(); // this pass waited for its refill: the warming pool is judged after it
    }

    /// <summary>
    /// One maintenance pass as the background service runs it: idle expiry, health checks of the warming pool (bounded
    /// by <see cref="OnDemandExecutionOptions.HealthCheckTimeout"/>), trim, and a refill started but not waited for, so
    /// that the next pass's expiry never waits behind provisioning.
    /// </summary>
    internal async ValueTask RunMaintenancePassAsync(CancellationToken cancellationToken)
    {
        if (IsDisposed)
        {
            return;
        }

        using var activity = ActivityExtensions.StartBackground(OnDemandExecutionDiagnostics.MaintenanceActivity);
        try
        {
            ExpireIdle();
            await DropDeadWarmAsync(cancellationToken).ConfigureAwait(false);
            TrimWarm();
            _ = StartProvisioning(); // the provisioned floors, in the background like the refill
            _ = StartRefill();
            NoteMaintenanceCompleted();
        }
        catch (Exception ex)
        {
            activity.Fail(ex);
            throw;
        }
    }

    private void Track(Task task)
    {
        if (task.IsCompleted)
        {
            return;
        }

        _background.TryAdd(task, 0);
        task.ContinueWith(
            static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _),
            _background,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }
}
