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
/// are in flight again. Each level r (1 to 8 on their own, then levels within 12.5% of each other together, up to 1024) keeps a decaying
/// histogram of these idle gaps (from the r-th instance going idle to the next time r calls run). The first level of a
/// busy function has short gaps and is kept; the levels a burst reaches once an hour have long gaps and are released at
/// once. The instances kept loaded therefore track how often each concurrency level recurs: a high percentile of recent
/// concurrency, not one window for all instances.</para>
/// <para><b>Plans.</b> For the level's histogram the policy picks the plan of least expected cost per gap
/// (<see cref="CapacityPlan"/>): keep the instance for T, and optionally unload it and pre-load one again over a window
/// [S, E) (a cold start costs <see cref="AdaptiveCapacityOptions.ColdStartCost"/>, a pre-load that fraction
/// <see cref="AdaptiveCapacityOptions.PreloadCostRatio"/> of it, idle memory m GB-seconds per second). A level with fewer
/// than <see cref="AdaptiveCapacityOptions.MinimumSamples"/> gaps keeps its instance for the break-even time
/// ColdStartCost / m, and windows need twice that many. Each level whose plan has a window adds it to one pending
/// pre-load per function (one timer, at the earliest S less <see cref="AdaptiveCapacityOptions.PreloadLead"/>); when it
/// fires, every level above the calls in flight that is neither busy nor still kept gets one instance, kept until its
/// own E. An arrival that reaches the highest pending level disarms it.</para>
/// <para><b>Floor.</b> Whatever a level's plan says, no instance is given up sooner than
/// <see cref="AdaptiveCapacityOptions.MinimumKeepAlive"/> (2 minutes by default) after a call: a busy function's
/// concurrency swings within seconds, and the instance of a level that the plan releases at once is missed by the next
/// swing. On the real day the floor cut this policy's cold starts by a third to a half at every cost setting.</para>
/// <para><b>Periodicity.</b> When the function's <see cref="PeriodicityDetector"/> (fed the arrivals that find nothing
/// running) reaches <see cref="AdaptiveCapacityOptions.PeriodicityThreshold"/> and its next beat E' falls inside the
/// window the gaps chose, the pre-load is timed on the clock instead: from E' - max(<see cref="AdaptiveCapacityOptions.MinimumJitterAllowance"/>, 3 x jitter), each
/// instance kept at least through the allowance and the beat's burst. The phase comes from every beat in the detector's window, so minute-level jitter of single arrivals does not move it;
/// a missed beat re-arms the next one, up to <see cref="AdaptiveCapacityOptions.MaxMissedBeats"/> in a row.</para>
/// <para><b>Online, bounded.</b> Every decision uses only arrivals and completions already observed. Per function:
/// at most 50 histograms of 56 doubles (allocated as levels are reached, so a function that never runs more than one call
/// at a time has one), three doubles per level reached (at most 1024) and the detector's window of 32
/// arrivals. Per call: <see cref="OnInvocation"/> and <see cref="OnCompleted"/> are O(1) (one bin update); a plan is refitted (O(56^2)) only after an eighth of its level's histogram is new; the detector refits
/// (O(32 log 32)) only on arrivals that find nothing running. Pre-loads run on <see cref="TimeProvider"/> timers, never
/// inside these calls.</para>
/// </remarks>
public sealed class AdaptiveCapacityPolicy : IKeepAlivePolicy, IDisposable
{
    private const int MaxLevel = 1024;
    private const int LevelSlots = 50;
    private static readonly double LogLevelRatio = Math.Log(1.125);
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
            return h is null || h.Total < _options.MinimumSamples ? null : PlanOf(state, level);
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
            state.Missed = 0;
            var level = ++state.InFlight;
            if (state.TimerArmed)
            {
                if (level >= state.PreloadCount)
                {
                    // The demand the pending pre-load was for has come: disarm it (completions plan again).
                    state.Timer!.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                    state.TimerArmed = false;
                }
                else if (level < state.PendingUntil.Length)
                {
                    state.PendingUntil[level] = -1; // this level's instance is no longer expected idle
                }
            }

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
                state.Releases = Grown(state.Releases, index);
            }

            state.Releases[index] = now;
            var plan = PlanOf(state, level);
            if (index >= state.KeptUntil.Length)
            {
                state.KeptUntil = Grown(state.KeptUntil, index);
            }

            var keepAlive = plan.KeepAlive < _options.MinimumKeepAlive ? _options.MinimumKeepAlive : plan.KeepAlive;
            state.KeptUntil[index] = now + keepAlive.TotalSeconds;

            if (Volatile.Read(ref _disposed) == 0)
            {
                SchedulePreload(state, level, plan, now);
            }

            return keepAlive;
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

    /// <summary>Levels 1 to 8 each have a histogram; above, levels within 12.5% of each other share one (up to 1024).</summary>
    private static int Slot(int level) =>
        level <= 8 ? level - 1 : Math.Min(LevelSlots - 1, 7 + (int)Math.Ceiling((Math.Log(level / 8.0) / LogLevelRatio) - 1e-9));

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

        return h.Plan(state.MemoryGb, _options.ColdStartCost, _preloadCost, _maxKeepAlive, 2 * _lead, h.Total >= 2 * _options.MinimumSamples);
    }

    /// <summary>
    /// After the instance of <paramref name="level"/> went idle with a plan that unloads and pre-loads: adds its window
    /// to the function's pending pre-load (one timer at the earliest start; each level keeps its own end). When the
    /// function goes idle (level 1) and is periodic, the pending pre-load starts on the fitted clock instead: the next
    /// beat less the jitter allowance, each instance kept at least through the allowance and the beat's burst. Caller
    /// holds the lock.
    /// </summary>
    private void SchedulePreload(FunctionState state, int level, CapacityPlan plan, double now)
    {
        if (!state.TimerArmed)
        {
            Array.Fill(state.PendingUntil, -1);
            state.PreloadCount = 0;
            state.OnClock = false;
        }

        if (plan.HasWindow && level < MaxLevel)
        {
            var due = now + plan.PreloadAt.TotalSeconds;
            var until = now + plan.PreloadUntil.TotalSeconds;
            if (level >= state.PendingUntil.Length)
            {
                state.PendingUntil = Grown(state.PendingUntil, level);
            }

            state.PendingUntil[level] = until;
            state.PreloadCount = Math.Max(state.PreloadCount, level);
            Schedule(state, state.TimerArmed ? Math.Min(due, state.PreloadDue) : due, now);
        }

        if (level == 1 && plan.HasWindow && Periodic(state, out var estimate))
        {
            // The clock refines the timing only: its next beat must fall inside the window the idle gaps chose.
            var next = estimate.NextAfter(TimeSpan.FromSeconds(Math.Max(now, state.LastBeat + (estimate.Period.TotalSeconds / 2)))).TotalSeconds;
            if (next < now + plan.PreloadAt.TotalSeconds - (estimate.Period.TotalSeconds / 4) || next > now + plan.PreloadUntil.TotalSeconds)
            {
                return;
            }

            var allowance = Allowance(estimate);
            var end = next + allowance + estimate.BurstSpread.TotalSeconds;
            for (var r = 1; r <= state.PreloadCount && r < state.PendingUntil.Length; r++)
            {
                if (state.PendingUntil[r] > 0)
                {
                    state.PendingUntil[r] = Math.Max(state.PendingUntil[r], end);
                }
            }

            state.Expected = next;
            state.OnClock = true;
            Schedule(state, Math.Max(now, next - allowance), now);
        }
    }

    private static double[] Grown(double[] array, int index)
    {
        var grown = new double[Math.Min(MaxLevel + 1, Math.Max(index + 1, array.Length * 2))];
        Array.Fill(grown, -1);
        Array.Copy(array, grown, array.Length);
        return grown;
    }

    private bool Periodic(FunctionState state, out PeriodicityEstimate estimate)
    {
        estimate = state.Detector?.Estimate ?? default;
        return _options.UsePeriodicity && estimate.HasPeriod && estimate.Degree >= _options.PeriodicityThreshold && estimate.Beats >= 6;
    }

    private double Allowance(PeriodicityEstimate e) =>
        Math.Max(_options.MinimumJitterAllowance.TotalSeconds, _options.JitterAllowanceFactor * e.Jitter.TotalSeconds);

    /// <summary>Arms the function's pre-load timer for <paramref name="due"/>, started the lead earlier. Caller holds the lock.</summary>
    private void Schedule(FunctionState state, double due, double now)
    {
        state.PreloadDue = due;
        state.Timer ??= _time.CreateTimer(static s => ((FunctionState)s!).Owner!.OnPreloadDue((FunctionState)s!), state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        state.Owner = this;
        state.Timer.Change(TimeSpan.FromSeconds(Math.Max(0, due - _lead - now)), Timeout.InfiniteTimeSpan);
        state.TimerArmed = true;
    }

    private void OnPreloadDue(FunctionState state)
    {
        FunctionDefinition definition;
        List<(int Count, TimeSpan KeepAlive)> waves = [];
        lock (state)
        {
            if (!state.TimerArmed || Volatile.Read(ref _disposed) != 0 || state.Definition is null)
            {
                return;
            }

            state.TimerArmed = false;
            var now = Now();
            definition = state.Definition;

            // Levels above the calls in flight want an idle instance each: the ones still kept (their keep-alive runs and
            // they were not used since) have one; each pending window adds one, waiting until its level's end.
            var idle = 0;
            for (var r = state.InFlight + 1; r <= state.PreloadCount && r < state.PendingUntil.Length; r++)
            {
                if (r < state.KeptUntil.Length && state.KeptUntil[r] > now && state.Releases[r] >= 0)
                {
                    idle++;
                }
                else if (state.PendingUntil[r] > now)
                {
                    idle++;
                    waves.Add((idle, TimeSpan.FromSeconds(Math.Max(_lead, state.PendingUntil[r] - now))));
                }
            }

            // A periodic function that misses this beat gets the next one pre-loaded too (an arrival disarms it).
            if (state.OnClock && Periodic(state, out var estimate) && state.Missed < _options.MaxMissedBeats && waves.Count > 0)
            {
                state.Missed++;
                state.Expected += estimate.Period.TotalSeconds;
                for (var r = 1; r <= state.PreloadCount && r < state.PendingUntil.Length; r++)
                {
                    if (state.PendingUntil[r] > 0)
                    {
                        state.PendingUntil[r] += estimate.Period.TotalSeconds;
                    }
                }

                Schedule(state, state.Expected - Allowance(estimate), now);
            }
        }

        if (waves.Count > 0)
        {
            _ = PreloadAsync(definition, state.Tenant, waves);
        }
    }

    /// <summary>Pre-loads in waves of increasing count: each wave tops the idle instances up to its count with its keep-alive.</summary>
    private async Task PreloadAsync(FunctionDefinition definition, TenantId tenant, List<(int Count, TimeSpan KeepAlive)> waves)
    {
        try
        {
            foreach (var (count, keepAlive) in waves)
            {
                await _pools.PreloadAsync(definition, tenant, count, keepAlive).ConfigureAwait(false);
            }
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

        /// <summary>Until when the instance of each level was kept when it last went idle.</summary>
        public double[] KeptUntil { get; set; } = [-1, -1, -1, -1];

        public IdleGapHistogram?[] Levels { get; } = new IdleGapHistogram?[LevelSlots];

        public PeriodicityDetector? Detector { get; set; }

        public double LastBeat { get; set; }

        public ITimer? Timer { get; set; }

        public bool TimerArmed { get; set; }

        public double PreloadDue { get; set; }

        /// <summary>Per level, until when a pending pre-load keeps its instance (-1: none).</summary>
        public double[] PendingUntil { get; set; } = [-1, -1, -1, -1];

        public int PreloadCount { get; set; }

        public double Expected { get; set; }

        public int Missed { get; set; }

        /// <summary>Whether the pending pre-load is timed on the fitted clock (a missed beat then re-arms the next).</summary>
        public bool OnClock { get; set; }
    }
}
