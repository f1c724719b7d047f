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
internal sealed class PoolManager : IInstancePoolManager, IAsyncDisposable
{
    private readonly IInstanceProvider _provider;
    private readonly OnDemandExecutionOptions _options;
    private readonly TimeProvider _time;
    private readonly OnDemandMetrics _metrics;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _providerTag;
    private readonly ChannelQualityPlacer? _placer; // null unless AddChannelQualityPlacement: then the default path is one null check longer

    private readonly SlotAllocator _slots;
    private readonly ConcurrentDictionary<Task, byte> _background = new();
    private readonly CancellationTokenSource _shutdown = new();

    private long _liveInstances; // reserved capacity: every slot not yet destroyed, plus reservations being created
    private long _created;
    private long _destroyed;
    private long _recycled;
    private int _warmProvisioning; // warming-pool creations in flight
    private Task _refill = Task.CompletedTask; // the warming-pool refill in flight (one at a time)
    private int _disposed;
    private int _warmTarget;

    public PoolManager(
        IInstanceProvider provider,
        IOptions<OnDemandExecutionOptions> options,
        TimeProvider timeProvider,
        OnDemandMetrics metrics,
        ILoggerFactory? loggerFactory = null,
        ChannelQualityPlacer? placer = null)
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
        _providerTag = new(OnDemandExecutionDiagnostics.ProviderTag, provider.Name);
        _warmTarget = _options.WarmingPoolSize;
        _slots = new SlotAllocator(Math.Clamp(_options.MaxInstances, 16, 1024));
        _placer = placer;
        metrics.ObservePoolsWith(GetSnapshot);
    }

    public IInstanceProvider Provider => _provider;

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
            Recycled: Volatile.Read(ref _recycled));
    }

    public IReadOnlyList<ActivePoolCounts> GetActivePools() => _slots.Keys.Select(SlotAllocator.CountKey).ToArray();

    /// <summary>
    /// Gets a busy instance holding <paramref name="function"/>'s code for <paramref name="tenant"/>: an idle one of the
    /// active pool (warm hit), else a warming-pool one assigned and loaded now, else a new one (cold start).
    /// </summary>
    public async ValueTask<PoolLease> AcquireAsync(FunctionDefinition function, TenantId tenant, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (_placer is { } placer && placer.TryGetPlan(function.Name, out var plan))
        {
            if (TryAcquirePlacedIdle(placer, plan, function, tenant, out var placed))
            {
                return placed;
            }

            return await AcquirePlacedAsync(placer, plan, function, tenant, cancellationToken).ConfigureAwait(false);
        }

        if (_slots.TryGetKey(tenant, function.Name, out var key) && _slots.TryAcquire(key, out var idle))
        {
            return new PoolLease(idle, StartKind.Warm, TimeSpan.Zero, TimeSpan.Zero);
        }

        return await AcquireFreshAsync(function, tenant, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The synchronous part of a placed acquire: claims the idle instance with the lowest penalty when its location is as
    /// good as the best one (the common case once placement has settled). False when there is none (or it kept losing
    /// races): the full decision follows.
    /// </summary>
    private bool TryAcquirePlacedIdle(ChannelQualityPlacer placer, PlacementPlan plan, FunctionDefinition function, TenantId tenant, out PoolLease lease)
    {
        for (var attempt = 0; attempt < 4 && _slots.TryGetKey(tenant, function.Name, out var key); attempt++)
        {
            var idle = BestIdle(plan, key, out var idleWord, out var idleCost);
            if (idle is null || idleCost > plan.BestPenaltyMs)
            {
                break;
            }

            if (idle.TryClaim(idleWord))
            {
                placer.RecordDecision(plan, PlacementKind.WarmBest, idle.Instance, idle.Instance?.Location, idleCost, double.NaN);
                lease = new PoolLease(idle, StartKind.Warm, TimeSpan.Zero, TimeSpan.Zero);
                return true;
            }
        }

        lease = default;
        return false;
    }

    /// <summary>The idle member of <paramref name="key"/> whose location has the lowest penalty (nothing is claimed).</summary>
    private static InstanceSlot? BestIdle(PlacementPlan plan, PoolKey key, out long idleWord, out double idleCost)
    {
        InstanceSlot? idle = null;
        idleWord = 0;
        idleCost = double.PositiveInfinity;
        foreach (var member in key.Members)
        {
            var word = member.Word;
            if (!InstanceSlot.LowMatches(word, key.LoadedLow))
            {
                continue;
            }

            var penalty = plan.PenaltyOf(member.Instance?.Location);
            if (penalty < idleCost)
            {
                idle = member;
                idleWord = word;
                idleCost = penalty;
            }
        }

        return idle;
    }

    /// <summary>
    /// Acquire for a function with a placement plan: the candidate with the lowest expected cost for this call, where an
    /// idle instance costs its location's channel penalty, a warming-pool instance the load time plus its penalty, and a
    /// cold start at the best location the cold-start time plus the best penalty. See docs/placement.md.
    /// </summary>
    private async ValueTask<PoolLease> AcquirePlacedAsync(ChannelQualityPlacer placer, PlacementPlan plan, FunctionDefinition function, TenantId tenant, CancellationToken cancellationToken)
    {
        var options = placer.Options;
        for (var attempt = 0; attempt < 4; attempt++)
        {
            // 1. The idle member at the best-scored location (a scan of the key's members; nothing is claimed yet).
            InstanceSlot? idle = null;
            long idleWord = 0;
            var idleCost = double.PositiveInfinity;
            if (_slots.TryGetKey(tenant, function.Name, out var key))
            {
                idle = BestIdle(plan, key, out idleWord, out idleCost);
            }

            var coldCost = options.AllowColdStartAtBestLocation && plan.Best is not null ? placer.ColdStartMs + plan.BestPenaltyMs : double.PositiveInfinity;
            if (idle is not null && idleCost <= plan.BestPenaltyMs)
            {
                if (idle.TryClaim(idleWord))
                {
                    placer.RecordDecision(plan, PlacementKind.WarmBest, idle.Instance, idle.Instance?.Location, idleCost, coldCost);
                    return new PoolLease(idle, StartKind.Warm, TimeSpan.Zero, TimeSpan.Zero);
                }

                continue; // somebody took it: look again
            }

            // 2. A bounded search of the warming pool for an instance cheaper than both the idle one and a cold start.
            var poolStart = placer.PoolStartMs;
            var fitsWarm = (function.MemoryMb ?? 0) <= _options.WarmInstance.MemoryMb;
            if (fitsWarm && _slots.WarmCount > 0 &&
                _slots.TryTakeBestWarm(plan, options.WarmPoolSearchDepth, Math.Min(idleCost, coldCost) - poolStart, out var warm, out var warmPenalty))
            {
                if (IsDisposed)
                {
                    _slots.RepoolWarm(warm);
                    DrainWarm("shutdown");
                    ObjectDisposedException.ThrowIf(true, this);
                }

                placer.RecordDecision(plan, PlacementKind.Pool, warm.Instance, warm.Instance?.Location, poolStart + warmPenalty, Math.Min(idleCost, coldCost));
                return await AcquireFreshAsync(function, tenant, cancellationToken, taken: warm).ConfigureAwait(false);
            }

            if (IsDisposed)
            {
                DrainWarm("shutdown");
                ObjectDisposedException.ThrowIf(true, this);
            }

            // 3. The idle instance elsewhere, unless a cold start at the best location is expected to be faster.
            if (idle is not null && idleCost <= coldCost)
            {
                if (idle.TryClaim(idleWord))
                {
                    placer.RecordDecision(plan, PlacementKind.WarmOther, idle.Instance, idle.Instance?.Location, idleCost, coldCost);
                    return new PoolLease(idle, StartKind.Warm, TimeSpan.Zero, TimeSpan.Zero);
                }

                continue;
            }

            // 4. A cold start asked at the best location (it was going to be cold anyway, or it is cheaper than the rest).
            if (!double.IsPositiveInfinity(coldCost))
            {
                placer.RecordDecision(plan, PlacementKind.ColdAtBest, null, plan.Best, coldCost, idleCost);
                return await AcquireFreshAsync(function, tenant, cancellationToken, coldAt: plan.Best).ConfigureAwait(false);
            }

            break; // no cold start at a location: the default choice below
        }

        placer.RecordDecision(plan, PlacementKind.Fallback, null, null, double.NaN, double.NaN);
        if (_slots.TryGetKey(tenant, function.Name, out var fallbackKey) && _slots.TryAcquire(fallbackKey, out var any))
        {
            return new PoolLease(any, StartKind.Warm, TimeSpan.Zero, TimeSpan.Zero);
        }

        return await AcquireFreshAsync(function, tenant, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A warming-pool instance assigned and loaded now, else a cold start; busy and owned by the caller.</summary>
    /// <param name="function">The function.</param>
    /// <param name="tenant">The tenant.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <param name="taken">A warm slot the placer already popped (owned, still Warm): assigned instead of popping one.</param>
    /// <param name="coldAt">The placer chose a cold start at this location (passed as <see cref="InstanceSpec.PreferredLocation"/>).</param>
    /// <param name="deadWarmRetries">How many more warm instances to try when the one taken turns out to have died.</param>
    private async ValueTask<PoolLease> AcquireFreshAsync(FunctionDefinition function, TenantId tenant, CancellationToken cancellationToken, InstanceSlot? taken = null, InstanceLocation? coldAt = null, int deadWarmRetries = 2)
    {
        var key = _slots.GetOrAddKey(tenant, function.Name);
        var kind = StartKind.WarmPool;
        var provisioning = TimeSpan.Zero;
        var requiredMemory = function.MemoryMb ?? 0;
        InstanceSlot slot;
        if (taken is not null)
        {
            slot = taken;
            _slots.Assign(slot, key, InstanceState.Warm);
        }
        else if (coldAt is not null || requiredMemory > _options.WarmInstance.MemoryMb || !_slots.TryTakeWarm(key, out slot))
        {
            kind = StartKind.Cold;
            var started = _time.GetTimestamp();
            var spec = requiredMemory > _options.WarmInstance.MemoryMb ? _options.WarmInstance with { MemoryMb = requiredMemory } : _options.WarmInstance;
            if (coldAt is not null)
            {
                spec = spec with { PreferredLocation = coldAt };
            }
            slot = await CreateSlotAsync(spec, "cold start", mayEvict: true, cancellationToken).ConfigureAwait(false);
            _slots.Assign(slot, key, InstanceState.Provisioning);
            provisioning = _time.GetElapsedTime(started);
        }

        _ = StartRefill(); // in the background: this start does not wait for it
        var loadStarted = _time.GetTimestamp();
        try
        {
            await LoadAsync(slot, function, tenant, cancellationToken).ConfigureAwait(false);
        }
        catch (InstanceProviderException ex) when (kind == StartKind.WarmPool && ex.InnerException is InstanceDiedException && deadWarmRetries > 0)
        {
            // The warm instance died while it waited (maintenance had not checked it yet); LoadAsync destroyed it.
            // Take another one (or cold-start) rather than fail this call for an instance it never used.
            return await AcquireFreshAsync(function, tenant, cancellationToken, deadWarmRetries: deadWarmRetries - 1).ConfigureAwait(false);
        }

        var load = _time.GetElapsedTime(loadStarted);
        slot.Transition(InstanceState.Assigned, InstanceState.Busy);
        _placer?.RecordStart(kind, provisioning + load);
        _metrics.StartDuration.Record(
            (provisioning + load).TotalSeconds,
            new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.StartKindTag, OnDemandMetrics.StartKindName(kind)));
        return new PoolLease(slot, kind, provisioning, load);
    }

    public async ValueTask<int> PreloadAsync(FunctionDefinition definition, TenantId tenant, int count, TimeSpan keepAlive, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var function = definition;
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (keepAlive < TimeSpan.Zero && keepAlive != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(keepAlive), keepAlive, "The keep-alive must be zero or positive, or Timeout.InfiniteTimeSpan.");
        }

        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var missing = count - (_slots.TryGetKey(tenant, function.Name, out var key) ? SlotAllocator.CountKey(key).Idle : 0);
        var loaded = 0;

        // In parallel, at most MaxConcurrentProvisioning at a time: instances wanted for one expected wave must be ready
        // together, not one start time after another. Each one is released as soon as it is loaded, so a failure of
        // one leaves the others in the pool.
        while (loaded < missing)
        {
            var batch = Math.Min(missing - loaded, _options.MaxConcurrentProvisioning);
            var starts = new Task[batch];
            for (var i = 0; i < batch; i++)
            {
                starts[i] = PreloadOneAsync(function, tenant, keepAlive, cancellationToken);
            }

            try
            {
                await Task.WhenAll(starts).ConfigureAwait(false);
            }
            finally
            {
                loaded += starts.Count(t => t.IsCompletedSuccessfully);
            }
        }

        return Math.Max(loaded, 0);
    }

    private async Task PreloadOneAsync(FunctionDefinition function, TenantId tenant, TimeSpan keepAlive, CancellationToken cancellationToken)
    {
        var lease = await AcquireFreshAsync(function, tenant, cancellationToken).ConfigureAwait(false);
        Release(lease.Slot, keep: true, "preloaded", keepAlive);
        _metrics.InstancesPreloaded.Add(1, _providerTag);
    }

    /// <summary>Returns a busy instance with its function's fixed keep-alive (for callers without a policy).</summary>
    public void Release(InstanceSlot slot, bool keep, string reason) =>
        Release(slot, keep, reason, slot.Function?.KeepAlive ?? _options.KeepAlive);

    /// <summary>
    /// Returns a busy instance: to the active pool for <paramref name="keepAlive"/> when <paramref name="keep"/>, else it
    /// is destroyed. A zero keep-alive retires it at once.
    /// </summary>
    public void Release(InstanceSlot slot, bool keep, string reason, TimeSpan keepAlive)
    {
        ArgumentNullException.ThrowIfNull(slot);
        if (!keep || IsDisposed)
        {
            slot.Transition(InstanceState.Busy, InstanceState.Destroyed);
            Destroy(slot, keep ? "shutdown" : reason);
            return;
        }

        if (keepAlive == TimeSpan.Zero)
        {
            if (!_slots.TryRetire(slot, slot.Word))
            {
                throw new InvalidOperationException($"Instance slot {slot.Index} changed while its owner released it.");
            }

            Track(RetireAsync(slot, "no keep-alive", _shutdown.Token).AsTask());
            return;
        }

        slot.KeepAlive = keepAlive;
        slot.LastUsedTimestamp = _time.GetTimestamp();
        var word = _slots.Release(slot);

        // DisposeAsync sets the flag and then sweeps; we published Loaded (a full fence) and then read the flag, so at
        // least one of us sees the other: either the sweep finds the slot Loaded, or we see the flag and take it back.
        if (IsDisposed && slot.TryTransition(word, InstanceState.Destroyed, out _))
        {
            Destroy(slot, "shutdown");
        }
    }

    /// <summary>
    /// The invocation gave up on a still-running call: once the call returns, keep the instance if the call ended by
    /// honouring its cancellation, else destroy it.
    /// </summary>
    /// <remarks>
    /// The invocation stops waiting as soon as its token fires, which is usually before the function has seen the same
    /// token (cancellation callbacks run one after another, and the function's completion may be posted), so a call
    /// still running at that moment is not yet proof that the function ignores cancellation: its outcome is.
    /// </remarks>
    public void ReleaseWhenDone(InstanceSlot slot, Task runningCall, TimeSpan keepAlive)
    {
        Log.InstanceAbandoned(_logger, slot.Instance!.Id);
        Track(runningCall.ContinueWith(
            static (call, state) =>
            {
                var (self, s, keepAlive) = ((PoolManager, InstanceSlot, TimeSpan))state!;
                // Kept only if it ended by honouring the cancellation; a call that ran on regardless (even to success)
                // ignored its timeout, and its instance is not trusted again.
                var honoured = call.IsCanceled || call.Exception?.InnerException is OperationCanceledException;
                self.Release(s, keep: honoured, honoured ? "released" : "abandoned", keepAlive);
            },
            (this, slot, keepAlive),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default));
    }

    /// <summary>
    /// Whether a finished call left its instance usable: it returned, honoured its cancellation, or failed in the
    /// function's own code. Instance deaths and provider faults leave it unusable.
    /// </summary>
    internal static bool CallLeftInstanceUsable(Task call) =>
        call.IsCompletedSuccessfully || call.IsCanceled ||
        call.Exception?.InnerException is OperationCanceledException or FunctionExecutionException;

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

        await ExpireIdleAsync(cancellationToken).ConfigureAwait(false);
        await DropDeadWarmAsync(cancellationToken).ConfigureAwait(false);
        TrimWarm();
        await StartRefill().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _shutdown.CancelAsync().ConfigureAwait(false);

        // Sweep every slot no one owns. Busy/Assigned ones are destroyed by their owner on release, Provisioning ones by
        // their creator, Recycling ones by the retiring maintenance pass, warm ones popped by a health check by that
        // check: each of them checks the flag after publishing.
        DrainWarm("shutdown");
        foreach (var slot in _slots.Slots)
        {
            var word = slot.Word;
            if (InstanceSlot.StateOf(word) == InstanceState.Loaded && slot.TryTransition(word, InstanceState.Destroyed, out _))
            {
                Destroy(slot, "shutdown");
            }
        }

        while (!_background.IsEmpty)
        {
            try
            {
                await Task.WhenAll(_background.Keys).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Failures were logged where they happened; shutting down goes on.
            }
        }

        Log.PoolStopped(_logger, Volatile.Read(ref _destroyed));
        _shutdown.Dispose();
    }

    private async ValueTask LoadAsync(InstanceSlot slot, FunctionDefinition function, TenantId tenant, CancellationToken cancellationToken)
    {
        var instance = slot.Instance!;
        using var activity = OnDemandMetrics.ActivitySource.StartActivity(OnDemandExecutionDiagnostics.LoadActivity);
        activity?.SetTag(OnDemandExecutionDiagnostics.FunctionNameTag, function.Name);
        activity?.SetTag(OnDemandExecutionDiagnostics.InstanceTag, instance.Id);
        try
        {
            await instance.LoadAsync(function, tenant, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            slot.Transition(InstanceState.Assigned, InstanceState.Destroyed);
            Destroy(slot, "load failed");
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            Log.LoadFailed(_logger, function.Name, instance.Id, ex);
            if (ex is InstanceProviderException)
            {
                throw;
            }

            throw new InstanceProviderException(
                $"Provider '{_provider.Name}' could not load function '{function.Name}' ({function.Code.Kind} code) into instance {instance.Id}: {ex.Message}",
                ex)
            {
                FunctionName = function.Name,
                ProviderName = _provider.Name,
            };
        }

        slot.Function = function;
    }

    /// <summary>Creates an instance in a new slot that the caller owns in state <see cref="InstanceState.Provisioning"/>.</summary>
    private async ValueTask<InstanceSlot> CreateSlotAsync(InstanceSpec spec, string purpose, bool mayEvict, CancellationToken cancellationToken)
    {
        ReserveCapacity(mayEvict);
        var slot = _slots.Rent();
        using var activity = OnDemandMetrics.ActivitySource.StartActivity(OnDemandExecutionDiagnostics.CreateInstanceActivity);
        activity?.SetTag(OnDemandExecutionDiagnostics.ProviderTag, _provider.Name);
        var started = _time.GetTimestamp();
        using var timeout = new CancellationTokenSource(_options.InstanceStartTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            slot.Instance = await _provider.CreateAsync(spec, linked.Token).ConfigureAwait(false)
                ?? throw new InstanceProviderException($"Provider '{_provider.Name}' returned no instance.") { ProviderName = _provider.Name };
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            slot.Transition(InstanceState.Provisioning, InstanceState.Destroyed);
            _slots.Return(slot);
            Interlocked.Decrement(ref _liveInstances);
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("Instance creation was cancelled by the caller.", ex, cancellationToken);
            }

            Log.InstanceCreateFailed(_logger, _provider.Name, ex);
            if (ex is OperationCanceledException && timeout.IsCancellationRequested)
            {
                throw new InstanceProviderException(
                    $"Provider '{_provider.Name}' did not create an instance within {nameof(OnDemandExecutionOptions.InstanceStartTimeout)} ({_options.InstanceStartTimeout}).",
                    ex)
                { ProviderName = _provider.Name };
            }

            if (ex is InstanceProviderException)
            {
                throw;
            }

            throw new InstanceProviderException($"Provider '{_provider.Name}' failed to create an instance: {ex.Message}", ex)
            {
                ProviderName = _provider.Name,
            };
        }

        Interlocked.Increment(ref _created);
        _placer?.NoteLocation(slot.Instance.Location);
        _metrics.InstancesCreated.Add(1, _providerTag);
        activity?.SetTag(OnDemandExecutionDiagnostics.InstanceTag, slot.Instance.Id);
        Log.InstanceCreated(_logger, slot.Instance.Id, _provider.Name, _time.GetElapsedTime(started).TotalMilliseconds, purpose);
        return slot;
    }

    /// <summary>Reserves room for one more instance; at the limit, a demand (<paramref name="mayEvict"/>) evicts the least recently used idle one.</summary>
    /// <param name="mayEvict">
    /// True for a cold start, which may evict an idle instance, then a warm one. False for the warming pool's refill: it
    /// never evicts (evicting an active instance to make a warm one trades a warm hit for a pool start, and evicting a
    /// warm one to make another never ends); at the limit it gives up until the next maintenance pass.
    /// </param>
    private void ReserveCapacity(bool mayEvict)
    {
        var max = _options.MaxInstances;
        for (var attempt = 0; attempt < 8; attempt++)
        {
            if (Interlocked.Increment(ref _liveInstances) <= max)
            {
                return;
            }

            Interlocked.Decrement(ref _liveInstances);
            if (!mayEvict || !TryEvictOne())
            {
                break;
            }
        }

        throw new InstanceCapacityExceededException(
            $"A new instance is needed but {nameof(OnDemandExecutionOptions.MaxInstances)} ({max}) instances exist and none is idle. Raise {nameof(OnDemandExecutionOptions.MaxInstances)} or lower the functions' MaxConcurrency.")
        {
            MaxInstances = max,
        };
    }

    private bool TryEvictOne()
    {
        // Prefer the least recently used idle instance of the active pool, then an unassigned warm one.
        InstanceSlot? oldest = null;
        long oldestWord = 0;
        foreach (var slot in _slots.Slots)
        {
            var word = slot.Word;
            if (InstanceSlot.StateOf(word) == InstanceState.Loaded && (oldest is null || slot.LastUsedTimestamp < oldest.LastUsedTimestamp))
            {
                oldest = slot;
                oldestWord = word;
            }
        }

        if (oldest is not null && oldest.TryTransition(oldestWord, InstanceState.Destroyed, out _))
        {
            Destroy(oldest, "evicted");
            return true;
        }

        if (_slots.TryPopWarm(out var warm))
        {
            warm.Transition(InstanceState.Warm, InstanceState.Destroyed);
            Destroy(warm, "evicted");
            return true;
        }

        return oldest is not null; // lost a race for it: someone else freed or took it, worth another try
    }

    /// <summary>Releases a slot already moved to <see cref="InstanceState.Destroyed"/> by its owner.</summary>
    private void Destroy(InstanceSlot slot, string reason)
    {
        var instance = slot.Instance;
        _slots.Return(slot); // reusable from here on: only the captured instance is used below
        Interlocked.Decrement(ref _liveInstances);
        Interlocked.Increment(ref _destroyed);
        _metrics.InstancesDestroyed.Add(1, _providerTag, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.ReasonTag, reason));
        if (instance is not null)
        {
            Log.InstanceDestroyed(_logger, instance.Id, reason);
            InstanceRetired?.Invoke(instance.Id);
            Track(DisposeInstanceAsync(instance));
        }
    }

    private async Task DisposeInstanceAsync(IInstance instance)
    {
        try
        {
            await instance.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.InstanceDisposeFailed(_logger, instance.Id, ex);
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

    /// <summary>Pools an owned slot as warm (from Provisioning or Recycling); after shutdown began, drains the pool again.</summary>
    private void EnqueueWarm(InstanceSlot slot, InstanceState from)
    {
        _slots.PushWarm(slot, from);
        if (IsDisposed)
        {
            DrainWarm("shutdown");
        }
    }

    /// <summary>Destroys every instance of the warming pool.</summary>
    private void DrainWarm(string reason)
    {
        while (_slots.TryPopWarm(out var slot))
        {
            slot.Transition(InstanceState.Warm, InstanceState.Destroyed);
            Destroy(slot, reason);
        }
    }

    /// <summary>Starts a refill of the warming pool unless one is running; returns the refill in flight.</summary>
    /// <remarks>
    /// One refill at a time: it runs on the pool's lifetime token, so a caller that stops waiting (its own token) does
    /// not stop it, and every caller that asks while it runs waits for the same one.
    /// </remarks>
    private Task StartRefill()
    {
        while (true)
        {
            var current = Volatile.Read(ref _refill);
            if (!current.IsCompleted)
            {
                return current;
            }

            if (WarmDeficit() <= 0 || IsDisposed)
            {
                return Task.CompletedTask; // nothing to do: allocate nothing (every non-warm start asks)
            }

            var starter = new Task<Task>(() => RefillLoopAsync(_shutdown.Token));
            var refill = starter.Unwrap();
            if (Interlocked.CompareExchange(ref _refill, refill, current) == current)
            {
                Track(refill);
                starter.Start(TaskScheduler.Default);
                return refill;
            }
        }
    }

    /// <summary>How many instances the warming pool lacks, counting creations in flight.</summary>
    private int WarmDeficit() => WarmingPoolTarget - (int)WarmCount - Volatile.Read(ref _warmProvisioning);

    private long WarmCount => _slots.WarmCount;

    private async Task RefillLoopAsync(CancellationToken cancellationToken)
    {
        while (!IsDisposed)
        {
            var deficit = WarmDeficit();
            if (deficit <= 0)
            {
                return;
            }

            var batch = Math.Min(deficit, _options.MaxConcurrentProvisioning);
            var tasks = new Task<bool>[batch];
            for (var i = 0; i < batch; i++)
            {
                tasks[i] = CreateWarmAsync(cancellationToken);
            }

            var results = await Task.WhenAll(tasks).ConfigureAwait(false);
            if (Array.IndexOf(results, false) >= 0)
            {
                return; // a creation failed: do not hammer a failing provider; the next maintenance pass retries
            }
        }
    }

    private async Task<bool> CreateWarmAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _warmProvisioning);
        try
        {
            var slot = await CreateSlotAsync(_options.WarmInstance, "warming pool", mayEvict: false, cancellationToken).ConfigureAwait(false);
            EnqueueWarm(slot, InstanceState.Provisioning);
            return true;
        }
        catch (Exception ex) when (ex is OnDemandExecutionException or OperationCanceledException)
        {
            return false;
        }
        finally
        {
            Interlocked.Decrement(ref _warmProvisioning);
        }
    }

    private async ValueTask ExpireIdleAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetTimestamp();
        var expired = 0;
        foreach (var slot in _slots.Slots)
        {
            var word = slot.Word;
            if (InstanceSlot.StateOf(word) != InstanceState.Loaded)
            {
                continue;
            }

            // LastUsedTimestamp was written before the slot published this word; if it is reused meanwhile, the word
            // changes and the CAS below fails, so a fresh timestamp is never judged by a stale word.
            var idle = _time.GetElapsedTime(slot.LastUsedTimestamp, now);
            if (slot.KeepAlive == Timeout.InfiniteTimeSpan || idle < slot.KeepAlive || !_slots.TryRetire(slot, word))
            {
                continue;
            }

            expired++;
            Log.InstanceExpired(_logger, slot.Instance!.Id, slot.Function!.Name, idle.TotalSeconds);
            await RetireAsync(slot, "expired", cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>An expired instance: scrub it back into the warming pool when the provider can and the pool needs it, else destroy.</summary>
    private async ValueTask RetireAsync(InstanceSlot slot, string reason, CancellationToken cancellationToken)
    {
        var warmNeeded = WarmDeficit() > 0;
        if (warmNeeded && _provider.Capabilities.SupportsRecycle && !IsDisposed)
        {
            var recycled = false;
            try
            {
                recycled = await slot.Instance!.RecycleAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.RecycleFailed(_logger, slot.Instance!.Id, ex);
            }
            catch (OperationCanceledException)
            {
                // Shutting down: destroyed below.
            }

            if (recycled)
            {
                Interlocked.Increment(ref _recycled);
                _metrics.InstancesRecycled.Add(1, _providerTag);
                Log.InstanceRecycled(_logger, slot.Instance!.Id);
                InstanceRetired?.Invoke(slot.Instance!.Id);
                EnqueueWarm(slot, InstanceState.Recycling);
                return;
            }
        }

        slot.Transition(InstanceState.Recycling, InstanceState.Destroyed);
        Destroy(slot, reason);
    }

    private async ValueTask DropDeadWarmAsync(CancellationToken cancellationToken)
    {
        // Take them all out first: the warming pool is a stack, so one put back would be popped again at once.
        var checking = new List<InstanceSlot>((int)WarmCount);
        while (_slots.TryPopWarm(out var popped))
        {
            checking.Add(popped);
        }

        var next = 0;
        try
        {
            for (; next < checking.Count; next++)
            {
                var slot = checking[next];
                InstanceHealth health;
                try
                {
                    health = await slot.Instance!.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    health = InstanceHealth.Dead;
                }

                if (health == InstanceHealth.Healthy)
                {
                    _slots.RepoolWarm(slot);
                }
                else
                {
                    slot.Transition(InstanceState.Warm, InstanceState.Destroyed);
                    Destroy(slot, "unhealthy");
                }
            }
        }
        finally
        {
            // Stopped early (cancelled): the unchecked ones go back as they were.
            for (; next < checking.Count; next++)
            {
                _slots.RepoolWarm(checking[next]);
            }

            if (IsDisposed)
            {
                DrainWarm("shutdown");
            }
        }
    }

    private void TrimWarm()
    {
        while (WarmCount > WarmingPoolTarget && _slots.TryPopWarm(out var slot))
        {
            slot.Transition(InstanceState.Warm, InstanceState.Destroyed);
            Destroy(slot, "trimmed");
        }
    }
}
