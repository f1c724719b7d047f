using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>
/// The pre-trigger correlator: learns, per (key, tenant), which functions follow a pre-trigger, how many requests and
/// after which delays, and pre-initializes the predicted instances in time. See <see cref="IPreTriggerCorrelator"/>
/// and docs/pre-triggers.md.
/// </summary>
/// <remarks>
/// <para>Learning: each pre-trigger opens an observation window of <see cref="PreTriggerOptions.ObservationWindow"/>;
/// every invocation that arrives in it (of the pre-trigger's tenant, or of any tenant when it named none) is counted
/// with its delay. When the window closes it is appended to the history (cache and store). Every arrival also feeds the
/// function's base rate (an exponentially decayed count).</para>
/// <para>Predicting, for each function seen in the key's past windows: confidence = the share of windows it appeared
/// in; N = <see cref="PreTriggerOptions.CountQuantile"/> of its counts (zero where absent); its requests start at the
/// <see cref="PreTriggerOptions.StartQuantile"/> of first delays and end at the <see cref="PreTriggerOptions.EndQuantile"/>
/// of last delays; lift = its mean count in that span over what its base rate predicts for the span (+ 1 s). It acts
/// when there are <see cref="PreTriggerOptions.MinimumObservations"/> windows, confidence and lift reach their
/// thresholds, and N is at least one.</para>
/// <para>Acting: at start - <see cref="PreTriggerOptions.PreloadLead"/>, <see cref="IInstancePoolManager.PreloadAsync"/>
/// loads N instances for the tenant, each waiting until end + <see cref="PreTriggerOptions.GraceWindow"/> (then the
/// pools release it). For an unknown tenant the warming-pool target is raised by N and the pool refilled at once; the
/// target is lowered again at the end of the window (code cannot be loaded for an unknown tenant, and raising the
/// target through the pools keeps one owner of warming-pool creation, its limits and its trimming).</para>
/// <para>Cost on the invocation path (<see cref="IInvocationObserver"/>): one lock, O(open windows of the tenant) to
/// count the arrival, O(1) for the base rate. An implicit pre-trigger reads the history from the correlator's cache
/// (the store is read once per key per process).</para>
/// </remarks>
internal sealed class PreTriggerCorrelator : IPreTriggerCorrelator, IInvocationObserver, IDisposable
{
    private static readonly TimeSpan LiftSpanMargin = TimeSpan.FromSeconds(1);

    private readonly IInstancePoolManager _pools;
    private readonly IFunctionCatalog _catalog;
    private readonly IPreTriggerHistoryStore _store;
    private readonly TimeProvider _time;
    private readonly PreTriggerOptions _options;
    private readonly HashSet<string> _implicit;
    private readonly int _maxInstances;
    private readonly PreTriggerMetrics _metrics;
    private readonly ILogger _logger;
    private readonly DateTimeOffset _origin;
    private readonly object _gate = new();
    private readonly List<OpenWindow> _open = [];
    private readonly Dictionary<(string Key, string? Tenant), CachedHistory> _history = new();
    private readonly Dictionary<(string? Tenant, string Function), RateState> _rates = new();
    private readonly List<ActivePrediction> _active = [];
    private long _useClock;
    private long _preTriggers;
    private long _predictions;
    private long _prewarmed;
    private long _used;
    private long _wasted;
    private bool _disposed;

    public PreTriggerCorrelator(
        IInstancePoolManager pools,
        IFunctionCatalog catalog,
        IPreTriggerHistoryStore store,
        TimeProvider timeProvider,
        IOptions<PreTriggerOptions> options,
        IOptions<OnDemandExecutionOptions> executionOptions,
        PreTriggerMetrics metrics,
        ILogger<PreTriggerCorrelator>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(executionOptions);
        ArgumentNullException.ThrowIfNull(metrics);
        _options = options.Value;
        var failures = new PreTriggerOptionsValidator().Validate(null, _options);
        if (failures.Failed)
        {
            throw new OptionsValidationException(nameof(PreTriggerOptions), typeof(PreTriggerOptions), failures.Failures);
        }

        _pools = pools;
        _catalog = catalog;
        _store = store;
        _time = timeProvider;
        _implicit = new HashSet<string>(_options.ImplicitFunctions, StringComparer.Ordinal);
        _maxInstances = executionOptions.Value.MaxInstances;
        _metrics = metrics;
        _logger = logger ?? NullLogger<PreTriggerCorrelator>.Instance;
        _origin = timeProvider.GetUtcNow();
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<PreTriggerPrediction>> NotifyPreTriggerAsync(string key, TenantId? tenant, IReadOnlyDictionary<string, string>? attributes = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (tenant is { IsEmpty: true })
        {
            throw new ArgumentException("The tenant must be a named tenant, or null when unknown.", nameof(tenant));
        }

        return HandleAsync(key, tenant, attributes?.Count ?? 0, cancellationToken);
    }

    /// <inheritdoc />
    public PreTriggerStatistics GetStatistics() => new(
        Interlocked.Read(ref _preTriggers),
        Interlocked.Read(ref _predictions),
        Interlocked.Read(ref _prewarmed),
        Interlocked.Read(ref _used),
        Interlocked.Read(ref _wasted));

    /// <inheritdoc />
    public void OnInvocationStarting(FunctionDefinition definition, InvocationRequest request)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(request);
        var now = _time.GetUtcNow();
        var tenant = request.Tenant.Value;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            CountArrival(tenant, definition.Name, now);
            CountArrival(null, definition.Name, now);
            foreach (var window in _open)
            {
                if (window.Tenant is null || string.Equals(window.Tenant, tenant, StringComparison.Ordinal))
                {
                    window.Add(definition.Name, request.InvocationId, now - window.Start, _options);
                }
            }
        }

        if (_options.ImplicitForAllFunctions || _implicit.Contains(definition.Name))
        {
            _ = ImplicitAsync(PreTriggerOptions.ImplicitKeyPrefix + definition.Name, request.Tenant);
        }
    }

    /// <inheritdoc />
    public void OnInvocationCompleted(FunctionDefinition definition, InvocationRequest request, InvocationResult? result, Exception? exception)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            if (_open.Count > 0 && result is not null)
            {
                // How long the call ran: with its arrival, the window's peak concurrency (the instances warm calls need).
                foreach (var window in _open)
                {
                    window.Completed(request.InvocationId, result.Timings.Execution);
                }
            }

            if (result is null || _active.Count == 0)
            {
                return;
            }

            foreach (var prediction in _active)
            {
                // A request served by what the prediction prepared: a warm hit for the tenant's pre-loaded
                // instances, a warming-pool start for a pre-warmed generic pool.
                var served = prediction.Tenant is { } t
                    ? result.StartKind == StartKind.Warm && request.Tenant == t
                    : result.StartKind == StartKind.WarmPool;
                if (served && !prediction.WindowDone && prediction.Hits < prediction.Prediction.Instances && string.Equals(prediction.Function, definition.Name, StringComparison.Ordinal))
                {
                    prediction.Hits++;
                    return;
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var window in _open)
            {
                window.Timer?.Dispose();
            }

            foreach (var prediction in _active)
            {
                prediction.Timer?.Dispose();
                prediction.EndTimer?.Dispose();
            }

            _open.Clear();
            _active.Clear();
        }
    }

    private static string Name(TenantId? tenant) => tenant?.Value ?? "(any)";

    private static TimeSpan Quantile(List<TimeSpan> sorted, double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static int Quantile(List<int> sorted, double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    private async Task ImplicitAsync(string key, TenantId tenant)
    {
        try
        {
            await HandleAsync(key, tenant, 0, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            PreTriggerLog.StoreFailed(_logger, ex);
        }
    }

    private async ValueTask<IReadOnlyList<PreTriggerPrediction>> HandleAsync(string key, TenantId? tenant, int attributeCount, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var scope = tenant?.Value;
        Interlocked.Increment(ref _preTriggers);
        OpenWindowFor(key, scope, now);
        var history = await GetHistoryAsync(key, scope, cancellationToken).ConfigureAwait(false);
        var predictions = new List<PreTriggerPrediction>();
        if (history.Count >= _options.MinimumObservations)
        {
            var functions = new List<string>();
            foreach (var window in history)
            {
                foreach (var follower in window.Followers)
                {
                    if (!functions.Contains(follower.Function, StringComparer.Ordinal))
                    {
                        functions.Add(follower.Function);
                    }
                }
            }

            foreach (var function in functions)
            {
                var rate = await GetRatePerSecondAsync(scope, function, now, cancellationToken).ConfigureAwait(false);
                if (Evaluate(key, tenant, function, history, rate) is { } prediction)
                {
                    predictions.Add(prediction);
                }
            }
        }

        PreTriggerLog.PreTriggerSeen(_logger, key, Name(tenant), attributeCount, predictions.Count, history.Count);
        predictions.RemoveAll(p => !Act(p, now));
        return predictions;
    }

    private PreTriggerPrediction? Evaluate(string key, TenantId? tenant, string function, IReadOnlyList<PreTriggerWindow> history, double ratePerSecond)
    {
        var counts = new List<int>(history.Count);
        var peaks = new List<int>(history.Count);
        var firsts = new List<TimeSpan>();
        var lasts = new List<TimeSpan>();
        foreach (var window in history)
        {
            var follower = window.Followers.FirstOrDefault(f => string.Equals(f.Function, function, StringComparison.Ordinal));
            counts.Add(follower?.Count ?? 0);
            peaks.Add(follower?.Peak ?? 0);
            if (follower is { Delays.Count: > 0 })
            {
                firsts.Add(follower.Delays[0]);
                lasts.Add(follower.Delays[^1]);
            }
        }

        var confidence = (double)firsts.Count / history.Count;
        if (firsts.Count == 0)
        {
            return null;
        }

        counts.Sort();
        peaks.Sort();
        firsts.Sort();
        lasts.Sort();
        var requests = Quantile(counts, _options.CountQuantile);
        var n = Math.Min(Math.Min(Quantile(peaks, _options.CountQuantile), requests), _options.MaxInstancesPerPrediction);
        var start = Quantile(firsts, _options.StartQuantile);
        var end = Quantile(lasts, _options.EndQuantile);
        if (end < start)
        {
            end = start;
        }

        // Lift: the requests in [start, end] per window, against what the base rate brings in the same span.
        double inSpan = 0;
        foreach (var window in history)
        {
            var follower = window.Followers.FirstOrDefault(f => string.Equals(f.Function, function, StringComparison.Ordinal));
            if (follower is not null)
            {
                inSpan += follower.Delays.Count(d => d >= start && d <= end);
            }
        }

        inSpan /= history.Count;
        var expected = ratePerSecond * (end - start + LiftSpanMargin).TotalSeconds;
        var lift = expected <= 1e-12 ? double.PositiveInfinity : inSpan / expected;
        string? reason = null;
        if (confidence < _options.ConfidenceThreshold)
        {
            reason = "confidence below the threshold";
        }
        else if (lift < _options.MinimumLift)
        {
            reason = "no more frequent after the key than its base rate";
        }
        else if (n < 1)
        {
            reason = "no request expected at the count quantile";
        }

        if (reason is not null)
        {
            PreTriggerLog.NotPredicted(_logger, key, function, reason, confidence, lift);
            return null;
        }

        return new PreTriggerPrediction(key, tenant, function, requests, n, start, end, confidence, lift, history.Count);
    }

    private bool Act(PreTriggerPrediction prediction, DateTimeOffset now)
    {
        if (!_catalog.TryGetFunction(prediction.Function, out var definition))
        {
            return false; // a function that is gone
        }

        Interlocked.Increment(ref _predictions);
        var tag = PreTriggerMetrics.Function(prediction.Function);
        _metrics.Predictions.Add(1, tag);
        PreTriggerLog.Predicted(_logger, prediction.Key, prediction.Function, Name(prediction.Tenant), prediction.Requests, prediction.Instances,
            prediction.FirstExpected.TotalMilliseconds, prediction.LastExpected.TotalMilliseconds, prediction.Confidence, prediction.Lift);
        var due = prediction.FirstExpected - _options.PreloadLead;
        if (due < TimeSpan.Zero)
        {
            due = TimeSpan.Zero;
        }

        var active = new ActivePrediction(this, prediction, definition, now + prediction.LastExpected + _options.GraceWindow);
        lock (_gate)
        {
            if (_disposed)
            {
                return false;
            }

            _active.Add(active);
            active.Timer = _time.CreateTimer(static s => ((ActivePrediction)s!).Owner.OnPreloadDue((ActivePrediction)s!), active, due, Timeout.InfiniteTimeSpan);
            var end = active.Until - now;
            active.EndTimer = _time.CreateTimer(static s => ((ActivePrediction)s!).Owner.OnWindowEnd((ActivePrediction)s!), active, end > due ? end : due, Timeout.InfiniteTimeSpan);
        }

        return true;
    }

    private void OnPreloadDue(ActivePrediction active) => _ = PreloadAsync(active);

    private async Task PreloadAsync(ActivePrediction active)
    {
        var prediction = active.Prediction;
        var now = _time.GetUtcNow();
        var wait = active.Until - now;
        if (wait < _options.GraceWindow)
        {
            wait = _options.GraceWindow;
        }

        int loaded = 0;
        try
        {
            if (prediction.Tenant is { } tenant)
            {
                loaded = await PreloadInParallelAsync(active.Definition, tenant, prediction.Instances, wait).ConfigureAwait(false);
            }
            else
            {
                // Unknown tenant: more generic warm instances for the window (no code can be loaded without a tenant).
                lock (_gate)
                {
                    var target = _pools.WarmingPoolTarget;
                    var raised = Math.Min(target + prediction.Instances, _maxInstances);
                    _pools.WarmingPoolTarget = raised;
                    loaded = raised - target;
                }

                // The refill runs on the pools' own lifetime; the prediction counts from the raised target, not the refill.
                _ = PrewarmAsync(prediction.Function);
            }
        }
        catch (Exception ex) when (ex is OnDemandExecutionException or ObjectDisposedException or OperationCanceledException or ArgumentOutOfRangeException)
        {
            PreTriggerLog.PrewarmFailed(_logger, prediction.Function, ex);
        }

        bool finish;
        lock (_gate)
        {
            active.Loaded = loaded;
            active.PreloadDone = true;
            finish = active.WindowDone;
        }

        PreTriggerLog.Prewarmed(_logger, prediction.Function, Name(prediction.Tenant), loaded, prediction.Instances);
        if (loaded > 0)
        {
            Interlocked.Add(ref _prewarmed, loaded);
            _metrics.Prewarmed.Add(loaded, PreTriggerMetrics.Function(prediction.Function));
        }

        if (finish)
        {
            Finish(active);
        }
    }

    /// <summary>
    /// Loads up to <paramref name="count"/> idle instances at once. <see cref="IInstancePoolManager.PreloadAsync"/> loads
    /// its instances one after the other, so N instances would take N creation times; instead each call here asks for
    /// one more idle instance than are idle or already loaded, so that calls in flight together each load one.
    /// </summary>
    private async Task<int> PreloadInParallelAsync(FunctionDefinition definition, TenantId tenant, int count, TimeSpan keepAlive)
    {
        long idle = 0;
        foreach (var pool in _pools.GetActivePools())
        {
            if (pool.Tenant == tenant && string.Equals(pool.Function, definition.Name, StringComparison.Ordinal))
            {
                idle += pool.Idle;
            }
        }

        var loaded = 0;
        List<Task<int>>? pending = null;
        for (var i = idle; i < count; i++)
        {
            var call = _pools.PreloadAsync(definition, tenant, (int)idle + loaded + 1, keepAlive);
            if (call.IsCompletedSuccessfully)
            {
                loaded += call.Result; // loaded at once (a fast provider): the next call sees it idle
            }
            else
            {
                (pending ??= []).Add(call.AsTask());
            }
        }

        Exception? failure = null;
        foreach (var task in pending ?? [])
        {
            try
            {
                loaded += await task.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OnDemandExecutionException or ObjectDisposedException or OperationCanceledException)
            {
                failure ??= ex;
            }
        }

        if (failure is not null && loaded == 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure); // one of the types the caller handles
        }

        if (failure is not null)
        {
            PreTriggerLog.PrewarmFailed(_logger, definition.Name, failure);
        }

        return loaded;
    }

    private async Task PrewarmAsync(string function)
    {
        try
        {
            await _pools.PrewarmAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OnDemandExecutionException or ObjectDisposedException or OperationCanceledException)
        {
            PreTriggerLog.PrewarmFailed(_logger, function, ex);
        }
    }

    private void OnWindowEnd(ActivePrediction active)
    {
        lock (_gate)
        {
            active.WindowDone = true;
            if (!active.PreloadDone)
            {
                return; // finished when the pre-load returns
            }
        }

        Finish(active);
    }

    private void Finish(ActivePrediction active)
    {
        int used, loaded;
        lock (_gate)
        {
            if (!_active.Remove(active))
            {
                return;
            }

            active.Timer?.Dispose();
            active.EndTimer?.Dispose();
            active.Timer = null;
            active.EndTimer = null;
            loaded = active.Loaded;
            used = Math.Min(active.Hits, loaded);
            if (active.Prediction.Tenant is null && loaded > 0)
            {
                try
                {
                    _pools.WarmingPoolTarget = Math.Max(0, _pools.WarmingPoolTarget - loaded);
                }
                catch (Exception ex) when (ex is ArgumentOutOfRangeException or ObjectDisposedException)
                {
                    // The pools refused (or are gone): keep their target.
                }
            }
        }

        var tag = PreTriggerMetrics.Function(active.Prediction.Function);
        Interlocked.Add(ref _used, used);
        Interlocked.Add(ref _wasted, loaded - used);
        _metrics.Used.Add(used, tag);
        _metrics.Wasted.Add(loaded - used, tag);
        PreTriggerLog.PredictionEnded(_logger, active.Prediction.Function, used, loaded);
    }

    private void OpenWindowFor(string key, string? tenant, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            if (_open.Count >= _options.MaxOpenWindows)
            {
                PreTriggerLog.WindowDropped(_logger, key, _open.Count);
                return;
            }

            var window = new OpenWindow(this, key, tenant, now);
            _open.Add(window);
            window.Timer = _time.CreateTimer(static s => ((OpenWindow)s!).Owner.OnWindowClosed((OpenWindow)s!), window, _options.ObservationWindow, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnWindowClosed(OpenWindow open) => _ = CloseWindowAsync(open);

    private async Task CloseWindowAsync(OpenWindow open)
    {
        PreTriggerWindow window;
        var rates = new List<PreTriggerFunctionRate>();
        lock (_gate)
        {
            if (!_open.Remove(open))
            {
                return;
            }

            open.Timer?.Dispose();
            window = open.ToWindow(_options.ObservationWindow);
            var history = Cached((window.Key, window.Tenant));
            history.Windows.Add(window);
            if (history.Windows.Count > _options.MaxWindowsPerKey)
            {
                history.Windows.RemoveRange(0, history.Windows.Count - _options.MaxWindowsPerKey);
            }

            var now = _time.GetUtcNow();
            foreach (var follower in window.Followers)
            {
                foreach (var scope in window.Tenant is null ? [null] : new[] { window.Tenant, null })
                {
                    if (_rates.TryGetValue((scope, follower.Function), out var state))
                    {
                        rates.Add(state.ToRecord(scope, follower.Function, now, _options.BaseRateHalfLife));
                    }
                }
            }
        }

        try
        {
            await _store.AppendWindowAsync(window).ConfigureAwait(false);
            foreach (var rate in rates)
            {
                await _store.SaveRateAsync(rate).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            PreTriggerLog.StoreFailed(_logger, ex);
        }
    }

    /// <summary>The cache entry of a key, created (empty, not loaded) when missing; evicts the least recently used beyond the cap. Caller holds the lock.</summary>
    private CachedHistory Cached((string Key, string? Tenant) pair)
    {
        if (!_history.TryGetValue(pair, out var entry))
        {
            if (_history.Count >= _options.MaxTrackedKeys)
            {
                var victim = _history.MinBy(p => p.Value.LastUse).Key;
                _history.Remove(victim);
            }

            _history[pair] = entry = new CachedHistory();
        }

        entry.LastUse = ++_useClock;
        return entry;
    }

    private async ValueTask<IReadOnlyList<PreTriggerWindow>> GetHistoryAsync(string key, string? tenant, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var entry = Cached((key, tenant));
            if (entry.Loaded)
            {
                return entry.Windows.ToArray();
            }
        }

        IReadOnlyList<PreTriggerWindow> stored;
        try
        {
            stored = await _store.GetWindowsAsync(key, tenant, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            PreTriggerLog.StoreFailed(_logger, ex);
            stored = [];
        }

        lock (_gate)
        {
            var entry = Cached((key, tenant));
            if (!entry.Loaded)
            {
                // Windows closed while the store was read are in both: keep the stored ones, then the newer cached ones.
                var newest = stored.Count == 0 ? DateTimeOffset.MinValue : stored[^1].Start;
                var merged = stored.Concat(entry.Windows.Where(w => w.Start > newest)).ToList();
                if (merged.Count > _options.MaxWindowsPerKey)
                {
                    merged.RemoveRange(0, merged.Count - _options.MaxWindowsPerKey);
                }

                entry.Windows.Clear();
                entry.Windows.AddRange(merged);
                entry.Loaded = true;
            }

            return entry.Windows.ToArray();
        }
    }

    private async ValueTask<double> GetRatePerSecondAsync(string? tenant, string function, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var needsLoad = false;
        lock (_gate)
        {
            needsLoad = !_rates.TryGetValue((tenant, function), out var state) || !state.Loaded;
        }

        PreTriggerFunctionRate? stored = null;
        if (needsLoad)
        {
            try
            {
                stored = await _store.GetRateAsync(tenant, function, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                PreTriggerLog.StoreFailed(_logger, ex);
            }
        }

        lock (_gate)
        {
            var state = Rate(tenant, function);
            if (!state.Loaded)
            {
                state.Merge(stored, _options.BaseRateHalfLife);
                state.Loaded = true;
            }

            return state.PerSecond(now, _options.BaseRateHalfLife);
        }
    }

    /// <summary>The rate state of a function, created when missing; evicts the least recently updated beyond the cap. Caller holds the lock.</summary>
    private RateState Rate(string? tenant, string function)
    {
        if (!_rates.TryGetValue((tenant, function), out var state))
        {
            if (_rates.Count >= _options.MaxTrackedFunctions)
            {
                _rates.Remove(_rates.MinBy(p => p.Value.Updated).Key);
            }

            _rates[(tenant, function)] = state = new RateState(_origin);
        }

        return state;
    }

    /// <summary>Caller holds the lock.</summary>
    private void CountArrival(string? tenant, string function, DateTimeOffset now) => Rate(tenant, function).Add(now, _options.BaseRateHalfLife);

    private sealed class CachedHistory
    {
        public List<PreTriggerWindow> Windows { get; } = [];

        public bool Loaded { get; set; }

        public long LastUse { get; set; }
    }

    /// <summary>An exponentially decayed arrival count (half-life H) since <see cref="Since"/>.</summary>
    private sealed class RateState(DateTimeOffset since)
    {
        public double Count { get; private set; }

        public DateTimeOffset Updated { get; private set; } = since;

        public DateTimeOffset Since { get; private set; } = since;

        public bool Loaded { get; set; }

        public void Add(DateTimeOffset now, TimeSpan halfLife)
        {
            Count = DecayedTo(now, halfLife) + 1;
            Updated = now > Updated ? now : Updated;
        }

        /// <summary>Adds a stored count (from before a restart) to this one.</summary>
        public void Merge(PreTriggerFunctionRate? stored, TimeSpan halfLife)
        {
            if (stored is null)
            {
                return;
            }

            var at = Updated > stored.Updated ? Updated : stored.Updated;
            Count = DecayedTo(at, halfLife) + (stored.DecayedArrivals * Decay(at - stored.Updated, halfLife));
            Updated = at;
            Since = stored.Since < Since ? stored.Since : Since;
        }

        /// <summary>
        /// Arrivals per second: the decayed count over the decayed span since counting started,
        /// (H / ln 2)(1 - 2^(-(now - since) / H)), so a steady rate reads the same early and late.
        /// </summary>
        public double PerSecond(DateTimeOffset now, TimeSpan halfLife)
        {
            var h = halfLife.TotalSeconds;
            var observed = Math.Max((now - Since).TotalSeconds, 1);
            var span = h / Math.Log(2) * (1 - Math.Pow(2, -observed / h));
            return DecayedTo(now, halfLife) / Math.Max(span, 1);
        }

        public PreTriggerFunctionRate ToRecord(string? tenant, string function, DateTimeOffset now, TimeSpan halfLife) =>
            new(tenant, function, DecayedTo(now, halfLife), Since, now > Updated ? now : Updated);

        private static double Decay(TimeSpan age, TimeSpan halfLife) => age <= TimeSpan.Zero ? 1 : Math.Pow(2, -age.TotalSeconds / halfLife.TotalSeconds);

        private double DecayedTo(DateTimeOffset now, TimeSpan halfLife) => Count * Decay(now - Updated, halfLife);
    }

    private sealed class OpenWindow(PreTriggerCorrelator owner, string key, string? tenant, DateTimeOffset start)
    {
        private readonly List<Follower> _followers = [];
        private readonly Dictionary<string, (Follower Follower, TimeSpan Delay)> _running = new(StringComparer.Ordinal);

        public PreTriggerCorrelator Owner { get; } = owner;

        public string Key { get; } = key;

        public string? Tenant { get; } = tenant;

        public DateTimeOffset Start { get; } = start;

        public ITimer? Timer { get; set; }

        public void Add(string function, string invocationId, TimeSpan delay, PreTriggerOptions options)
        {
            var follower = _followers.Find(f => string.Equals(f.Function, function, StringComparison.Ordinal));
            if (follower is null)
            {
                if (_followers.Count >= options.MaxFollowersPerWindow)
                {
                    return;
                }

                _followers.Add(follower = new Follower(function));
            }

            follower.Count++;
            if (follower.Delays.Count < options.MaxDelaysPerFollower)
            {
                follower.Delays.Add(delay);
                _running[invocationId] = (follower, delay);
            }
        }

        public void Completed(string invocationId, TimeSpan execution)
        {
            if (_running.Remove(invocationId, out var call))
            {
                call.Follower.Intervals.Add((call.Delay, call.Delay + execution));
            }
        }

        /// <summary>The window as stored; calls still running count as running to its end.</summary>
        public PreTriggerWindow ToWindow(TimeSpan length)
        {
            foreach (var (follower, delay) in _running.Values)
            {
                follower.Intervals.Add((delay, length > delay ? length : delay));
            }

            _running.Clear();
            return new(Key, Tenant, Start, _followers.Select(f => new PreTriggerFollower(f.Function, f.Count, f.Delays.ToArray(), f.Peak())).ToArray());
        }

        private sealed class Follower(string function)
        {
            public string Function { get; } = function;

            public int Count { get; set; }

            public List<TimeSpan> Delays { get; } = [];

            public List<(TimeSpan Start, TimeSpan End)> Intervals { get; } = [];

            /// <summary>The most calls running at once, had each run for its execution time from its arrival (no start-up): the instances warm calls need.</summary>
            public int Peak()
            {
                var events = new List<(TimeSpan At, int Delta)>(Intervals.Count * 2);
                foreach (var (s, e) in Intervals)
                {
                    events.Add((s, 1));
                    events.Add((e, -1));
                }

                events.Sort((a, b) => a.At != b.At ? a.At.CompareTo(b.At) : a.Delta.CompareTo(b.Delta)); // an end before a start at the same instant
                int current = 0, peak = Intervals.Count == 0 ? 1 : 0;
                foreach (var (_, delta) in events)
                {
                    current += delta;
                    peak = Math.Max(peak, current);
                }

                return peak;
            }
        }
    }

    private sealed class ActivePrediction(PreTriggerCorrelator owner, PreTriggerPrediction prediction, FunctionDefinition definition, DateTimeOffset until)
    {
        public PreTriggerCorrelator Owner { get; } = owner;

        public PreTriggerPrediction Prediction { get; } = prediction;

        public FunctionDefinition Definition { get; } = definition;

        public DateTimeOffset Until { get; } = until;

        public string Function => Prediction.Function;

        public TenantId? Tenant => Prediction.Tenant;

        public int Loaded { get; set; }

        public int Hits { get; set; }

        public bool PreloadDone { get; set; }

        public bool WindowDone { get; set; }

        public ITimer? Timer { get; set; }

        public ITimer? EndTimer { get; set; }
    }
}
