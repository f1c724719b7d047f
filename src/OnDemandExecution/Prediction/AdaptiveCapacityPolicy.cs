using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>
/// Decides per function <i>and per instance</i> how long idle instances stay loaded and when they are loaded again,
/// from what each function did before, priced by one knob (<see cref="AdaptiveCapacityOptions.ColdStartCost"/>: a
/// cold start against GB-seconds of idle memory).
/// </summary>
/// <remarks>
/// <para><b>Instance levels.</b> The calls of a function in flight go up and down one at a time. When a call ends with
/// r calls in flight (itself included), the instance it frees is the function's r-th: it is needed again when r calls
/// are in flight again. Each level r (1 to 8 on their own, then 9-16, 17-32, 33-64, 65 and up) keeps a decaying
/// histogram of these idle gaps (from the r-th instance going idle to the next time r calls run). The first level of a
/// busy function has short gaps and is kept; the levels a burst reaches once an hour have long gaps and are released at
/// once. The instances kept loaded therefore track how often each concurrency level recurs: a high percentile of recent
/// concurrency, not one window for all instances.</para>
/// <para><b>Plans.</b> For the level's histogram the policy picks the plan of least expected cost per gap
/// (<see cref="CapacityPlan"/>): keep the instance for T, and optionally unload it and pre-load one again over a window
/// [S, E) (a cold start costs <see cref="AdaptiveCapacityOptions.ColdStartCost"/>, a pre-load that fraction
/// <see cref="AdaptiveCapacityOptions.PreloadCostRatio"/> of it, idle memory m GB-seconds per second). A level with fewer
/// than <see cref="AdaptiveCapacityOptions.MinimumSamples"/> gaps keeps its instance for the break-even time
/// ColdStartCost / m. When the first level (the function going idle) has a window, one timer pre-loads as many instances
/// as the consecutive levels from 1 up that have windows, at S less <see cref="AdaptiveCapacityOptions.PreloadLead"/>,
/// kept until E; any arrival first disarms it.</para>
/// <para><b>Periodicity.</b> When the function's <see cref="PeriodicityDetector"/> (fed the arrivals that find nothing
/// running) reaches <see cref="AdaptiveCapacityOptions.PeriodicityThreshold"/>, a window is placed on the fitted clock
/// instead: the next beat E' +- max(<see cref="AdaptiveCapacityOptions.MinimumJitterAllowance"/>, 3 x jitter). The
/// phase comes from every beat in the detector's window, so minute-level jitter of single arrivals does not move it;
/// a missed beat re-arms the next one, up to <see cref="AdaptiveCapacityOptions.MaxMissedBeats"/> in a row.</para>
/// <para><b>Online, bounded.</b> Every decision uses only arrivals and completions already observed. Per function:
/// at most 12 histograms of 56 doubles (allocated as levels are reached), 65 release times and the detector's window of
/// 32 arrivals (about 8 KiB at most). Per call: <see cref="OnInvocation"/> and <see cref="OnCompleted"/> are O(1) (one
/// bin update); a plan is refitted (O(56^2)) only after an eighth of its level's histogram is new; the detector refits
/// (O(32 log 32)) only on arrivals that find nothing running. Pre-loads run on <see cref="TimeProvider"/> timers, never
/// inside these calls.</para>
/// </remarks>
public sealed class AdaptiveCapacityPolicy : IKeepAlivePolicy, IDisposable
{
    private const int MaxLevel = 64;
    private const int LevelSlots = 12;
    private const int DetectorWindow = 32;

    private readonly IInstancePoolManager _pools;
    private readonly TimeProvider _time;
    private readonly AdaptiveCapacityOptions _options;
    private readonly int _defaultMemoryMb;
    private readonly long _origin;
    private readonly double _preloadCost;
    private readonly double _maxKeepAlive;
    private readonly double _lead;
    private readonly ConcurrentDictionary<(TenantId Tenant, string Function), FunctionState> _states = new();
    private int _disposed;

    /// <summary>Creates the policy.</summary>
    /// <param name="pools">The pools it pre-loads into.</param>
    /// <param name="timeProvider">The clock of its timers.</param>
    /// <param name="options">Its options.</param>
    /// <param name="executionOptions">The pools' options (the memory of instances of functions that set none).</param>
    public AdaptiveCapacityPolicy(
        IInstancePoolManager pools,
        TimeProvider timeProvider,
        IOptions<AdaptiveCapacityOptions> options,
        IOptions<OnDemandExecutionOptions> executionOptions)
    {
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(executionOptions);
        _pools = pools;
        _time = timeProvider;
        _options = options.Value;
        var result = new AdaptiveCapacityOptionsValidator().Validate(null, _options);
        if (result.Failed)
        {
            throw new OptionsValidationException(nameof(AdaptiveCapacityOptions), typeof(AdaptiveCapacityOptions), result.Failures);
        }

        _defaultMemoryMb = Math.Max(1, executionOptions.Value.WarmInstance.MemoryMb);
        _origin = timeProvider.GetTimestamp();
        _preloadCost = _options.ColdStartCost * _options.PreloadCostRatio;
        _maxKeepAlive = _options.MaxKeepAlive.TotalSeconds;
        _lead = _options.PreloadLead.TotalSeconds;
    }

    /// <summary>The plan the policy would apply now to a function's instance at a concurrency level, or null when that level has no history yet.</summary>
    /// <param name="functionName">The function's name.</param>
    /// <param name="tenant">The tenant.</param>
    /// <param name="level">The instance level: 1 for the last instance of the function to go idle, r for the one freed with r calls in flight.</param>
    /// <returns>The plan fitted to the level's idle gaps; null before <see cref="AdaptiveCapacityOptions.MinimumSamples"/> gaps.</returns>
    public CapacityPlan? GetPlan(string functionName, TenantId tenant, int level)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(level, 1);
        if (!_states.TryGetValue((tenant, functionName), out var state))
        {
            return null;
        }

        lock (state)
        {
            var h = state.Levels[Slot(level)];
            return h is null || h.Total < _options.MinimumSamples ? null : h.Plan(state.MemoryGb, _options.ColdStartCost, _preloadCost, _maxKeepAlive, 2 * _lead);
        }
    }

    /// <summary>Whether a function's pre-loads currently follow its fitted clock (its degree of periodicity passed the threshold).</summary>
    /// <param name="functionName">The function's name.</param>
    /// <param name="tenant">The tenant.</param>
    /// <returns>True when periodic.</returns>
    public bool IsPeriodic(string functionName, TenantId tenant)
    {
        if (!_states.TryGetValue((tenant, functionName), out var state))
        {
            return false;
        }

        lock (state)
        {
            return Periodic(state, out _);
        }
    }

    /// <inheritdoc />
    public void OnInvocation(FunctionDefinition definition, TenantId tenant)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        var now = Now();
        var state = _states.GetOrAdd((tenant, definition.Name), static (key, self) => new FunctionState(key.Tenant), this);
        lock (state)
        {
            state.Definition = definition;
            state.MemoryGb = Math.Max(definition.MemoryMb ?? 0, _defaultMemoryMb) / 1024.0;
            if (state.TimerArmed)
            {
                state.Timer!.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                state.TimerArmed = false;
            }

            state.Missed = 0;
            var level = ++state.InFlight;
            if (level == 1 && _options.UsePeriodicity)
            {
                state.Detector ??= new PeriodicityDetector(DetectorWindow);
                state.Detector.Observe(TimeSpan.FromSeconds(now));
                state.LastBeat = now;
            }

            var index = Math.Min(level, MaxLevel);
            if (index < state.Releases.Length && state.Releases[index] is var released and >= 0)
            {
                var slot = Slot(level);
                (state.Levels[slot] ??= new IdleGapHistogram()).Add(now - released, _options.HistoryHalfLife);
                state.Releases[index] = -1;
            }
        }
    }

    /// <inheritdoc />
    public TimeSpan OnCompleted(FunctionDefinition definition, TenantId tenant)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var breakEven = BreakEven(Math.Max(definition.MemoryMb ?? 0, _defaultMemoryMb) / 1024.0);
        if (!_states.TryGetValue((tenant, definition.Name), out var state))
        {
            return breakEven;
        }

        var now = Now();
        lock (state)
        {
            var level = state.InFlight;
            if (level <= 0)
            {
                return breakEven; // a completion without its arrival (the policy was swapped in mid-call)
            }

            state.InFlight--;
            var index = Math.Min(level, MaxLevel);
            if (index >= state.Releases.Length)
            {
                var grown = new double[Math.Min(MaxLevel + 1, Math.Max(index + 1, state.Releases.Length * 2))];
                Array.Fill(grown, -1);
                Array.Copy(state.Releases, grown, state.Releases.Length);
                state.Releases = grown;
            }

            state.Releases[index] = now;
            var plan = PlanOf(state, level);

            if (level == 1 && Volatile.Read(ref _disposed) == 0)
            {
                if (Periodic(state, out var estimate) && plan.HasWindow)
                {
                    var next = estimate.NextAfter(TimeSpan.FromSeconds(Math.Max(now + plan.KeepAlive.TotalSeconds, state.LastBeat + (estimate.Period.TotalSeconds / 2))));
                    ScheduleBeat(state, next.TotalSeconds, estimate, now);
                }
                else if (plan.HasWindow)
                {
                    Schedule(state, now + plan.PreloadAt.TotalSeconds - _lead, now + plan.PreloadUntil.TotalSeconds, PreloadCount(state), now);
                }
            }

            return plan.KeepAlive;
        }
    }

    /// <summary>Stops the pre-load timers.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var state in _states.Values)
        {
            lock (state)
            {
                state.Timer?.Dispose();
                state.Timer = null;
                state.TimerArmed = false;
            }
        }
    }

    private static int Slot(int level) => level switch
    {
        <= 8 => level - 1,
        <= 16 => 8,
        <= 32 => 9,
        <= 64 => 10,
        _ => 11,
    };

    private double Now() => _time.GetElapsedTime(_origin).TotalSeconds;

    private TimeSpan BreakEven(double memoryGb) => TimeSpan.FromSeconds(Math.Min(_options.ColdStartCost / memoryGb, _maxKeepAlive));

    /// <summary>The level's fitted plan, or the break-even keep-alive while it has too few gaps. Caller holds the lock.</summary>
    private CapacityPlan PlanOf(FunctionState state, int level)
    {
        var h = state.Levels[Slot(level)];
        if (h is null || h.Total < _options.MinimumSamples)
        {
            return new CapacityPlan(BreakEven(state.MemoryGb), TimeSpan.Zero, TimeSpan.Zero, double.NaN, h?.Total ?? 0);
        }

        return h.Plan(state.MemoryGb, _options.ColdStartCost, _preloadCost, _maxKeepAlive, 2 * _lead);
    }

    /// <summary>How many instances a pre-load wants: the consecutive levels from 1 up whose plans unload and pre-load.</summary>
    private int PreloadCount(FunctionState state)
    {
        var count = 1;
        for (var level = 2; level <= MaxLevel; level++)
        {
            var h = state.Levels[Slot(level)];
            if (h is null || h.Total < _options.MinimumSamples || !PlanOf(state, level).HasWindow)
            {
                break;
            }

            count = level;
        }

        return count;
    }

    private bool Periodic(FunctionState state, out PeriodicityEstimate estimate)
    {
        estimate = state.Detector?.Estimate ?? default;
        return _options.UsePeriodicity && estimate.HasPeriod && estimate.Degree >= _options.PeriodicityThreshold && estimate.Beats >= 6;
    }

    private double Allowance(PeriodicityEstimate e) =>
        Math.Max(_options.MinimumJitterAllowance.TotalSeconds, _options.JitterAllowanceFactor * e.Jitter.TotalSeconds);

    /// <summary>Arms the pre-load for a beat expected at <paramref name="expected"/> on the fitted clock. Caller holds the lock.</summary>
    private void ScheduleBeat(FunctionState state, double expected, PeriodicityEstimate e, double now)
    {
        var allowance = Allowance(e);
        state.Expected = expected;
        Schedule(state, expected - allowance - _lead, expected + allowance, PreloadCount(state), now);
    }

    /// <summary>Arms the function's pre-load timer. Caller holds the lock.</summary>
    private void Schedule(FunctionState state, double due, double until, int count, double now)
    {
        if (until <= now || until <= due)
        {
            return;
        }

        state.PreloadUntil = until;
        state.PreloadCount = count;
        state.Timer ??= _time.CreateTimer(static s => ((FunctionState)s!).Owner!.OnPreloadDue((FunctionState)s!), state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        state.Owner = this;
        state.Timer.Change(TimeSpan.FromSeconds(Math.Max(0, due - now)), Timeout.InfiniteTimeSpan);
        state.TimerArmed = true;
    }

    private void OnPreloadDue(FunctionState state)
    {
        FunctionDefinition definition;
        TimeSpan keepAlive;
        int count;
        lock (state)
        {
            if (!state.TimerArmed || Volatile.Read(ref _disposed) != 0 || state.Definition is null)
            {
                return;
            }

            state.TimerArmed = false;
            if (state.InFlight > 0)
            {
                return; // a call runs: its completion plans again
            }

            var now = Now();
            definition = state.Definition;
            count = Math.Min(state.PreloadCount, MaxLevel);
            keepAlive = TimeSpan.FromSeconds(Math.Max(_lead, state.PreloadUntil - now));

            // A periodic function that misses this beat gets the next one pre-loaded too (an arrival disarms it).
            if (Periodic(state, out var estimate) && state.Missed < _options.MaxMissedBeats)
            {
                state.Missed++;
                ScheduleBeat(state, state.Expected + estimate.Period.TotalSeconds, estimate, now);
            }
        }

        _ = PreloadAsync(definition, state.Tenant, count, keepAlive);
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

    private sealed class FunctionState(TenantId tenant)
    {
        public TenantId Tenant { get; } = tenant;

        public AdaptiveCapacityPolicy? Owner { get; set; }

        public FunctionDefinition? Definition { get; set; }

        public double MemoryGb { get; set; } = 0.25;

        public int InFlight { get; set; }

        /// <summary>When the instance of each level last went idle (seconds on the policy's clock), -1 when it is in use.</summary>
        public double[] Releases { get; set; } = [-1, -1, -1, -1];

        public IdleGapHistogram?[] Levels { get; } = new IdleGapHistogram?[LevelSlots];

        public PeriodicityDetector? Detector { get; set; }

        public double LastBeat { get; set; }

        public ITimer? Timer { get; set; }

        public bool TimerArmed { get; set; }

        public double PreloadUntil { get; set; }

        public int PreloadCount { get; set; }

        public double Expected { get; set; }

        public int Missed { get; set; }
    }
}
