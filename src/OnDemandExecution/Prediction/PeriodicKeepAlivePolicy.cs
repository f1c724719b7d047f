using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>
/// Manages periodic functions (timers, cron jobs, polling clients) just in time: a <see cref="PeriodicityDetector"/>
/// per (tenant, function) watches the arrivals; once its degree of periodicity reaches
/// <see cref="PeriodicKeepAliveOptions.DegreeThreshold"/>, the function's instances are retired right after each beat
/// and one is pre-loaded (<see cref="IInstancePoolManager.PreloadAsync"/>) shortly before the next expected beat; it is
/// released if the request does not come within the grace window. The warming pool target is lowered by the share of
/// warming-pool demand periodic functions account for. Functions that are not periodic get a fixed keep-alive.
/// </summary>
/// <remarks>
/// <para>Timing of a beat expected at E with jitter allowance A = max(<see cref="PeriodicKeepAliveOptions.MinimumJitterAllowance"/>,
/// <see cref="PeriodicKeepAliveOptions.JitterAllowanceFactor"/> x jitter): the pre-load starts at E - A -
/// <see cref="PeriodicKeepAliveOptions.PreloadLead"/> and the instance waits until E + A +
/// <see cref="PeriodicKeepAliveOptions.GraceWindow"/>. After a beat, the instance stays only through the burst
/// (twice the longest burst seen) when beats bring several requests, else it is retired at once. When the period is so
/// short that pre-loading would not let the instance go (period at most lead + grace + 2 A), the instance is simply kept
/// through the period.</para>
/// <para>Each beat pre-loads as many instances as the peak concurrency of the last four beats (at least
/// <see cref="PeriodicKeepAliveOptions.InstancesPerBeat"/>), so overlapping bursts find enough warm instances.</para>
/// <para>Cost on the invocation path: <see cref="OnInvocation"/> refits the function's detector (O(W log W) for its
/// window W, bounded) and re-arms one timer; <see cref="OnCompleted"/> is O(1). Pre-loads and warming-pool changes run
/// on <see cref="TimeProvider"/> timers, never inside these calls.</para>
/// </remarks>
public sealed class PeriodicKeepAlivePolicy : IKeepAlivePolicy, IDisposable
{
    private const int MaxPreloadPerBeat = 64;

    private readonly IInstancePoolManager _pools;
    private readonly TimeProvider _time;
    private readonly PeriodicKeepAliveOptions _options;
    private readonly TimeSpan _fallbackKeepAlive;
    private readonly int _baseWarmingPool;
    private readonly DateTimeOffset _origin;
    private readonly ConcurrentDictionary<(TenantId Tenant, string Function), FunctionState> _states = new();
    private readonly ITimer? _rebalanceTimer;
    private long _poolDemand;
    private long _periodicPoolDemand;
    private double _periodicShare;
    private int _disposed;

    /// <summary>Creates the policy.</summary>
    /// <param name="pools">The pools it pre-loads into and whose warming-pool target it lowers.</param>
    /// <param name="timeProvider">The clock of its timers.</param>
    /// <param name="options">Its options.</param>
    /// <param name="executionOptions">The pools' options (default keep-alive and warming-pool size).</param>
    public PeriodicKeepAlivePolicy(
        IInstancePoolManager pools,
        TimeProvider timeProvider,
        IOptions<PeriodicKeepAliveOptions> options,
        IOptions<OnDemandExecutionOptions> executionOptions)
    {
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(executionOptions);
        _pools = pools;
        _time = timeProvider;
        _options = options.Value;
        var failures = new PeriodicKeepAliveOptionsValidator().Validate(null, _options);
        if (failures.Failed)
        {
            throw new OptionsValidationException(nameof(PeriodicKeepAliveOptions), typeof(PeriodicKeepAliveOptions), failures.Failures);
        }

        _fallbackKeepAlive = _options.FallbackKeepAlive ?? executionOptions.Value.KeepAlive;
        _baseWarmingPool = executionOptions.Value.WarmingPoolSize;
        _origin = timeProvider.GetUtcNow();
        if (_options.AdjustWarmingPool)
        {
            _rebalanceTimer = timeProvider.CreateTimer(static s => ((PeriodicKeepAlivePolicy)s!).Rebalance(), this, _options.RebalanceInterval, _options.RebalanceInterval);
        }
    }

    /// <summary>
    /// The share (0 to 1, smoothed over rebalance intervals) of warming-pool demand that comes from functions managed as
    /// periodic: arrivals that a fixed keep-alive would find no idle instance for (none in flight and the last call ended
    /// longer than the fallback keep-alive ago). The warming-pool target is the configured size times one minus it.
    /// </summary>
    public double PeriodicShare => Volatile.Read(ref _periodicShare);

    /// <summary>The detector's estimate for a function, or null when it has never been invoked for that tenant.</summary>
    /// <param name="functionName">The function's name.</param>
    /// <param name="tenant">The tenant.</param>
    /// <returns>The estimate.</returns>
    public PeriodicityEstimate? GetEstimate(string functionName, TenantId tenant)
    {
        if (!_states.TryGetValue((tenant, functionName), out var state))
        {
            return null;
        }

        lock (state)
        {
            return state.Detector.Estimate;
        }
    }

    /// <summary>Whether a function is currently managed as periodic for a tenant.</summary>
    /// <param name="functionName">The function's name.</param>
    /// <param name="tenant">The tenant.</param>
    /// <returns>True when its degree of periodicity passed the threshold at its last arrival.</returns>
    public bool IsPeriodic(string functionName, TenantId tenant) =>
        _states.TryGetValue((tenant, functionName), out var state) && Volatile.Read(ref state.Periodic);

    /// <inheritdoc />
    public void OnInvocation(FunctionDefinition definition, TenantId tenant)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        var now = Now();
        var state = _states.GetOrAdd((tenant, definition.Name), static (_, self) => new FunctionState(self._options.WindowSize), this);
        lock (state)
        {
            state.Definition = definition;
            state.Tenant = tenant;
            state.Missed = 0;
            var previous = state.Detector.Estimate;

            // Demand on the warming pool: an arrival that a fixed keep-alive would not find an instance for.
            var needsPool = state.InFlight == 0 && (state.LastCompletion is not { } done || now - done > _fallbackKeepAlive);

            // Concurrency per beat: the peak of requests in flight during the beat, over the last beats.
            var burstGap = previous.BurstSpread + previous.BurstSpread + TimeSpan.FromSeconds(1);
            if (state.LastArrival is not { } lastArrival || now - lastArrival > burstGap)
            {
                state.RecentPeaks[state.NextPeak] = state.BeatPeak;
                state.NextPeak = (state.NextPeak + 1) % state.RecentPeaks.Length;
                state.BeatPeak = 0;
            }

            state.LastArrival = now;
            state.InFlight++;
            state.BeatPeak = Math.Max(state.BeatPeak, state.InFlight);
            state.Detector.Observe(now);
            var e = state.Detector.Estimate;
            var periodic = e.HasPeriod && e.Degree >= _options.DegreeThreshold && e.Beats >= _options.MinimumBeats;
            Volatile.Write(ref state.Periodic, periodic);
            if (needsPool)
            {
                Interlocked.Increment(ref _poolDemand);
                if (periodic)
                {
                    Interlocked.Increment(ref _periodicPoolDemand);
                }
            }

            if (!periodic || KeepsThroughPeriod(e))
            {
                state.Timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                return;
            }

            // The next beat at least half a period away, so an early arrival of this beat does not schedule this beat again.
            Schedule(state, e.NextAfter(now + (e.Period / 2)), now);
        }
    }

    /// <inheritdoc />
    public TimeSpan OnCompleted(FunctionDefinition definition, TenantId tenant)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (!_states.TryGetValue((tenant, definition.Name), out var state))
        {
            return definition.KeepAlive ?? _fallbackKeepAlive;
        }

        PeriodicityEstimate e;
        lock (state)
        {
            state.InFlight = Math.Max(0, state.InFlight - 1);
            state.LastCompletion = Now();
            if (!state.Periodic)
            {
                return definition.KeepAlive ?? _fallbackKeepAlive;
            }

            e = state.Detector.Estimate;
        }

        if (KeepsThroughPeriod(e))
        {
            return e.Period + Allowance(e) + _options.GraceWindow;
        }

        // Stay through the rest of a burst; otherwise retire now, the next beat is pre-loaded just in time.
        return e.ArrivalsPerBeat > 1.05 ? e.BurstSpread + e.BurstSpread + TimeSpan.FromSeconds(1) : TimeSpan.Zero;
    }

    /// <summary>Stops the timers.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _rebalanceTimer?.Dispose();
        foreach (var state in _states.Values)
        {
            lock (state)
            {
                state.Timer?.Dispose();
                state.Timer = null;
            }
        }
    }

    private TimeSpan Now() => _time.GetUtcNow() - _origin;

    private TimeSpan Allowance(PeriodicityEstimate e)
    {
        var allowance = TimeSpan.FromTicks((long)(e.Jitter.Ticks * _options.JitterAllowanceFactor));
        return allowance > _options.MinimumJitterAllowance ? allowance : _options.MinimumJitterAllowance;
    }

    private bool KeepsThroughPeriod(PeriodicityEstimate e) =>
        e.Period <= _options.PreloadLead + _options.GraceWindow + Allowance(e) + Allowance(e);

    /// <summary>Arms the function's timer to pre-load for the beat expected at <paramref name="expected"/>. Caller holds the lock.</summary>
    private void Schedule(FunctionState state, TimeSpan expected, TimeSpan now)
    {
        state.Expected = expected;
        var due = expected - Allowance(state.Detector.Estimate) - _options.PreloadLead - now;
        if (due < TimeSpan.Zero)
        {
            due = TimeSpan.Zero;
        }

        if (state.Timer is null)
        {
            state.Timer = _time.CreateTimer(static s => ((FunctionState)s!).Owner!.OnPreloadDue((FunctionState)s!), state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            state.Owner = this;
        }

        state.Timer.Change(due, Timeout.InfiniteTimeSpan);
    }

    private void OnPreloadDue(FunctionState state)
    {
        FunctionDefinition definition;
        TenantId tenant;
        TimeSpan keepAlive;
        int count;
        lock (state)
        {
            if (Volatile.Read(ref _disposed) != 0 || !state.Periodic || state.Definition is null || state.Timer is null)
            {
                return;
            }

            var e = state.Detector.Estimate;
            var now = Now();
            var allowance = Allowance(e);
            definition = state.Definition;
            tenant = state.Tenant;
            count = Math.Clamp(Math.Max(state.RecentPeaks.Max(), state.BeatPeak), _options.InstancesPerBeat, Math.Max(_options.InstancesPerBeat, MaxPreloadPerBeat));
            keepAlive = state.Expected - now + allowance + _options.GraceWindow;
            if (keepAlive < _options.GraceWindow)
            {
                keepAlive = _options.GraceWindow;
            }

            // If this beat is missed, the next one is pre-loaded too (an arrival re-arms the timer anyway).
            state.Missed++;
            if (state.Missed <= _options.MaxMissedBeats)
            {
                Schedule(state, state.Expected + e.Period, now);
            }
        }

        _ = PreloadAsync(definition, tenant, count, keepAlive);
    }

    private async Task PreloadAsync(FunctionDefinition definition, TenantId tenant, int count, TimeSpan keepAlive)
    {
        try
        {
            await _pools.PreloadAsync(definition, tenant, count, keepAlive).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OnDemandExecutionException or ObjectDisposedException or OperationCanceledException)
        {
            // A missed pre-load costs a start on demand, nothing more; the pools log provider failures themselves.
        }
    }

    private void Rebalance()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        var total = Interlocked.Exchange(ref _poolDemand, 0);
        var periodic = Interlocked.Exchange(ref _periodicPoolDemand, 0);
        if (total > 0)
        {
            var share = (0.5 * Volatile.Read(ref _periodicShare)) + (0.5 * periodic / total);
            Volatile.Write(ref _periodicShare, share);
        }

        var target = (int)Math.Ceiling(_baseWarmingPool * (1 - Volatile.Read(ref _periodicShare)) - 1e-9);
        target = Math.Clamp(target, Math.Min(_options.MinimumWarmingPoolTarget, _baseWarmingPool), _baseWarmingPool);
        try
        {
            _pools.WarmingPoolTarget = target;
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or ObjectDisposedException)
        {
            // The pools refused the target (or are gone): keep the current one.
        }
    }

    private sealed class FunctionState
    {
        public FunctionState(int windowSize) => Detector = new PeriodicityDetector(windowSize);

        public PeriodicityDetector Detector { get; }

        public PeriodicKeepAlivePolicy? Owner { get; set; }

        public FunctionDefinition? Definition { get; set; }

        public TenantId Tenant { get; set; }

        public ITimer? Timer { get; set; }

        public TimeSpan Expected { get; set; }

        public int Missed { get; set; }

        public int InFlight { get; set; }

        public int BeatPeak { get; set; }

        public int[] RecentPeaks { get; } = new int[4];

        public int NextPeak { get; set; }

        public TimeSpan? LastArrival { get; set; }

        public TimeSpan? LastCompletion { get; set; }

        public bool Periodic; // a field, for Volatile access
    }
}
