using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>Which rule of <see cref="HybridHistogramKeepAlivePolicy"/> decides a function's windows.</summary>
public enum IdleTimePattern
{
    /// <summary>Too few idle times, or a histogram too flat to trust: a fixed keep-alive, no pre-warming.</summary>
    Uncertain = 0,

    /// <summary>A representative histogram: pre-warm at the head percentile, keep until the tail percentile.</summary>
    Histogram = 1,

    /// <summary>Most idle times are beyond the histogram's range: a time-series forecast of the next idle time.</summary>
    Forecast = 2,
}

/// <summary>The windows <see cref="HybridHistogramKeepAlivePolicy"/> applies after an invocation ends.</summary>
/// <param name="Pattern">The rule that chose them.</param>
/// <param name="PrewarmWindow">How long after the invocation ends the instance is loaded again (zero: it is not unloaded).</param>
/// <param name="KeepAliveUntil">Until how long after the invocation ends a loaded instance waits for the next request.</param>
/// <param name="Samples">How many idle times were observed.</param>
/// <param name="CoefficientOfVariation">The coefficient of variation of the histogram's bin counts.</param>
public readonly record struct HybridHistogramDecision(
    IdleTimePattern Pattern,
    TimeSpan PrewarmWindow,
    TimeSpan KeepAliveUntil,
    long Samples,
    double CoefficientOfVariation);

/// <summary>
/// The hybrid histogram policy of Shahrad et al., "Serverless in the Wild" (USENIX ATC 2020), per (tenant, function):
/// a histogram of idle times (from the end of one invocation to the start of the next) over
/// <see cref="HybridHistogramOptions.Range"/> in <see cref="HybridHistogramOptions.BinWidth"/> bins decides when an
/// instance is unloaded, pre-warmed again and released.
/// </summary>
/// <remarks>
/// <para>After each invocation ends:</para>
/// <list type="bullet">
/// <item><description>when at least <see cref="HybridHistogramOptions.OutOfBoundsThreshold"/> of the idle times exceeded the
/// range, a forecast F of the next idle time (an AR(1) model fitted to the last
/// <see cref="HybridHistogramOptions.ForecastHistory"/> idle times, a light stand-in for the paper's ARIMA) gives a
/// pre-warm window F x (1 - m) and a keep-alive until F x (1 + m), m = <see cref="HybridHistogramOptions.ForecastMargin"/>;</description></item>
/// <item><description>else, when the histogram is representative (at least <see cref="HybridHistogramOptions.MinimumSamples"/>
/// idle times and a coefficient of variation of the bin counts of at least
/// <see cref="HybridHistogramOptions.CoefficientOfVariationThreshold"/>), the pre-warm window is the head percentile's
/// bin start lowered by the margin and the keep-alive lasts until the tail percentile's bin end raised by it;</description></item>
/// <item><description>else a fixed keep-alive (<see cref="HybridHistogramOptions.FallbackKeepAlive"/>, by default the whole range) with no pre-warming.</description></item>
/// </list>
/// <para>A pre-warm window of at least <see cref="HybridHistogramOptions.MinimumPrewarmWindow"/> retires the instance at
/// once (<see cref="TimeSpan.Zero"/>) and arms a timer that pre-loads one instance
/// (<see cref="IInstancePoolManager.PreloadAsync"/>) when the window ends, kept until the keep-alive ends; an earlier
/// request disarms it. A shorter pre-warm window keeps the instance until the keep-alive ends.</para>
/// <para>Unit: the paper keeps one histogram per application; here an instance holds one function's code for one
/// tenant, so the unit is the (tenant, function) pair. Cost: <see cref="OnInvocation"/> is O(1) (one bin update, the
/// coefficient of variation is kept incrementally); <see cref="OnCompleted"/> scans the bins for the percentiles
/// (O(bins), 240 by default) and fits the forecast (O(history)) only when the forecast rule applies. Memory: one int
/// per bin and one double per forecast sample per function (about 1.2 KiB by default).</para>
/// </remarks>
public sealed class HybridHistogramKeepAlivePolicy : IKeepAlivePolicy, IDisposable
{
    private readonly IInstancePoolManager _pools;
    private readonly TimeProvider _time;
    private readonly HybridHistogramOptions _options;
    private readonly int _binCount;
    private readonly TimeSpan _fallback;
    private readonly ConcurrentDictionary<(TenantId Tenant, string Function), AppState> _states = new();
    private int _disposed;

    /// <summary>Creates the policy.</summary>
    /// <param name="pools">The pools it pre-warms into.</param>
    /// <param name="timeProvider">The clock of its timers.</param>
    /// <param name="options">Its options.</param>
    public HybridHistogramKeepAlivePolicy(IInstancePoolManager pools, TimeProvider timeProvider, IOptions<HybridHistogramOptions> options)
    {
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(options);
        _pools = pools;
        _time = timeProvider;
        _options = options.Value;
        var result = new HybridHistogramOptionsValidator().Validate(null, _options);
        if (result.Failed)
        {
            throw new OptionsValidationException(nameof(HybridHistogramOptions), typeof(HybridHistogramOptions), result.Failures);
        }

        _binCount = (int)(_options.Range.Ticks / _options.BinWidth.Ticks);
        _fallback = _options.FallbackKeepAlive ?? _options.Range;
    }

    /// <summary>The windows the policy would apply now for a function, or null when it has never ended an invocation.</summary>
    /// <param name="functionName">The function's name.</param>
    /// <param name="tenant">The tenant.</param>
    /// <returns>The decision.</returns>
    public HybridHistogramDecision? GetDecision(string functionName, TenantId tenant)
    {
        if (!_states.TryGetValue((tenant, functionName), out var state))
        {
            return null;
        }

        lock (state)
        {
            return Decide(state);
        }
    }

    /// <inheritdoc />
    public void OnInvocation(FunctionDefinition definition, TenantId tenant)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var now = _time.GetTimestamp();
        var state = _states.GetOrAdd((tenant, definition.Name), static (_, self) => new AppState(self._binCount, self._options.ForecastHistory), this);
        lock (state)
        {
            state.Running++;
            state.PrewarmTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            if (state.LastEnd is { } lastEnd)
            {
                Record(state, state.Running > 1 ? TimeSpan.Zero : _time.GetElapsedTime(lastEnd, now));
                state.LastEnd = null; // one idle time per gap, even when several requests arrive in it
            }
        }
    }

    /// <inheritdoc />
    public TimeSpan OnCompleted(FunctionDefinition definition, TenantId tenant)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (!_states.TryGetValue((tenant, definition.Name), out var state))
        {
            return _fallback;
        }

        lock (state)
        {
            state.Running = Math.Max(0, state.Running - 1);
            state.LastEnd = _time.GetTimestamp();
            var decision = Decide(state);
            if (decision.PrewarmWindow < _options.MinimumPrewarmWindow || state.Running > 0 || Volatile.Read(ref _disposed) != 0)
            {
                return decision.KeepAliveUntil;
            }

            state.Definition = definition;
            state.Tenant = tenant;
            state.PreloadKeepAlive = decision.KeepAliveUntil - decision.PrewarmWindow;
            state.PrewarmTimer ??= _time.CreateTimer(static s => ((AppState)s!).Owner!.OnPrewarmDue((AppState)s!), state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            state.Owner = this;
            state.PrewarmTimer.Change(decision.PrewarmWindow, Timeout.InfiniteTimeSpan);
            return TimeSpan.Zero;
        }
    }

    /// <summary>Stops the pre-warm timers.</summary>
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
                state.PrewarmTimer?.Dispose();
                state.PrewarmTimer = null;
            }
        }
    }

    private void Record(AppState state, TimeSpan idle)
    {
        state.History[state.HistoryNext] = idle.TotalSeconds;
        state.HistoryNext = (state.HistoryNext + 1) % state.History.Length;
        state.HistoryCount = Math.Min(state.HistoryCount + 1, state.History.Length);
        var bin = idle.Ticks / _options.BinWidth.Ticks;
        if (bin >= _binCount)
        {
            state.OutOfBounds++;
            return;
        }

        // Sum of squared counts kept incrementally: (c + 1)^2 - c^2 = 2c + 1.
        var c = state.Bins[bin];
        state.SumSquares += (2.0 * c) + 1;
        state.Bins[bin] = c + 1;
        state.InBounds++;
    }

    private HybridHistogramDecision Decide(AppState state)
    {
        var total = state.InBounds + state.OutOfBounds;
        var cv = CoefficientOfVariation(state);
        if (total >= _options.MinimumSamples && state.OutOfBounds >= _options.OutOfBoundsThreshold * total)
        {
            var forecast = TimeSpan.FromSeconds(Forecast(state));
            return new HybridHistogramDecision(
                IdleTimePattern.Forecast,
                forecast * (1 - _options.ForecastMargin),
                forecast * (1 + _options.ForecastMargin),
                total,
                cv);
        }

        if (total < _options.MinimumSamples || state.InBounds == 0 || cv < _options.CoefficientOfVariationThreshold)
        {
            return new HybridHistogramDecision(IdleTimePattern.Uncertain, TimeSpan.Zero, _fallback, total, cv);
        }

        var head = Percentile(state, _options.HeadPercentile);
        var tail = Percentile(state, _options.TailPercentile);
        return new HybridHistogramDecision(
            IdleTimePattern.Histogram,
            _options.BinWidth * (head * (1 - _options.HistogramMargin)),
            _options.BinWidth * ((tail + 1) * (1 + _options.HistogramMargin)),
            total,
            cv);
    }

    private double CoefficientOfVariation(AppState state)
    {
        if (state.InBounds == 0 || _binCount < 2)
        {
            return 0;
        }

        double n = _binCount;
        var mean = state.InBounds / n;
        var variance = Math.Max(0, (state.SumSquares - (n * mean * mean)) / (n - 1));
        return Math.Sqrt(variance) / mean;
    }

    private static int Percentile(AppState state, double p)
    {
        var target = p * state.InBounds;
        long cumulative = 0;
        for (var i = 0; i < state.Bins.Length; i++)
        {
            cumulative += state.Bins[i];
            if (cumulative > 0 && cumulative >= target)
            {
                return i;
            }
        }

        return state.Bins.Length - 1;
    }

    /// <summary>AR(1) around the mean of the recent idle times: x' = mean + phi (x_last - mean), phi the lag-1 autocorrelation.</summary>
    private static double Forecast(AppState state)
    {
        var n = state.HistoryCount;
        var h = state.History;
        var first = (state.HistoryNext - n + h.Length) % h.Length;
        double At(int i) => h[(first + i) % h.Length];
        var last = At(n - 1);
        if (n < 3)
        {
            return last;
        }

        double mean = 0;
        for (var i = 0; i < n; i++)
        {
            mean += At(i);
        }

        mean /= n;
        double numerator = 0, denominator = 0;
        for (var i = 0; i < n; i++)
        {
            var d = At(i) - mean;
            denominator += d * d;
            if (i > 0)
            {
                numerator += d * (At(i - 1) - mean);
            }
        }

        var phi = denominator <= 0 ? 0 : Math.Clamp(numerator / denominator, -1, 1);
        return Math.Max(0, mean + (phi * (last - mean)));
    }

    private void OnPrewarmDue(AppState state)
    {
        FunctionDefinition? definition;
        TenantId tenant;
        TimeSpan keepAlive;
        lock (state)
        {
            if (Volatile.Read(ref _disposed) != 0 || state.Running > 0 || state.Definition is null)
            {
                return;
            }

            definition = state.Definition;
            tenant = state.Tenant;
            keepAlive = state.PreloadKeepAlive > TimeSpan.Zero ? state.PreloadKeepAlive : _options.BinWidth;
        }

        _ = PreloadAsync(definition, tenant, keepAlive);
    }

    private async Task PreloadAsync(FunctionDefinition definition, TenantId tenant, TimeSpan keepAlive)
    {
        try
        {
            await _pools.PreloadAsync(definition, tenant, 1, keepAlive).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OnDemandExecutionException or ObjectDisposedException or OperationCanceledException)
        {
            // A missed pre-warm costs a start on demand, nothing more; the pools log provider failures themselves.
        }
    }

    private sealed class AppState
    {
        public AppState(int bins, int history)
        {
            Bins = new int[bins];
            History = new double[history];
        }

        public int[] Bins { get; }

        public double[] History { get; }

        public int HistoryNext { get; set; }

        public int HistoryCount { get; set; }

        public long InBounds { get; set; }

        public long OutOfBounds { get; set; }

        public double SumSquares { get; set; }

        public long? LastEnd { get; set; }

        public int Running { get; set; }

        public ITimer? PrewarmTimer { get; set; }

        public HybridHistogramKeepAlivePolicy? Owner { get; set; }

        public FunctionDefinition? Definition { get; set; }

        public TenantId Tenant { get; set; }

        public TimeSpan PreloadKeepAlive { get; set; }
    }
}
