using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OnDemandExecution.Diagnostics;

namespace OnDemandExecution.Placement;

/// <summary>
/// Chooses instances by the quality of their channel to the auxiliary services a function is likely to use.
/// </summary>
/// <remarks>
/// <para><b>Inputs.</b> Task profiles: declared (<see cref="FunctionDefinition.TaskProfile"/>) and learned from reported
/// auxiliary calls (<see cref="IAuxiliaryCallSink"/>; executions are counted as an <see cref="IInvocationObserver"/>).
/// Channel estimates per (location, endpoint), smoothed, fed by the background probes (<see cref="ProbeAllAsync"/>)
/// and by the same reports (passive measurements).</para>
/// <para><b>Output.</b> <see cref="Recompute"/> turns both into one immutable <see cref="PlacementPlan"/> per function
/// whose likelihood for some endpoint reaches the threshold, and publishes them together with one reference write. The
/// pool manager reads a plan inside acquire (<see cref="TryGetPlan"/>): no lock, no probe, no allocation. A function
/// without a plan takes the default path, unchanged.</para>
/// </remarks>
internal sealed class ChannelQualityPlacer : IAuxiliaryCallSink, IInvocationObserver
{
    private static readonly Dictionary<string, PlacementPlan> NoPlans = new(StringComparer.Ordinal);

    private readonly ChannelQualityPlacementOptions _options;
    private readonly TimeProvider _time;
    private readonly OnDemandMetrics _metrics;
    private readonly IFunctionCatalog? _catalog;
    private readonly IChannelQualityProbe[] _probes;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<(InstanceLocation Location, string Endpoint), ChannelEstimate> _channels = new();
    private readonly ConcurrentDictionary<InstanceLocation, byte> _locations = new();
    private readonly ConcurrentDictionary<string, LearnedProfile> _learned = new(StringComparer.Ordinal);
    private readonly object _startGate = new();
    private Dictionary<string, PlacementPlan> _plans = NoPlans;
    private double _coldStartMs;
    private double _poolStartMs;

    public ChannelQualityPlacer(
        IOptions<ChannelQualityPlacementOptions> options,
        TimeProvider timeProvider,
        OnDemandMetrics metrics,
        IEnumerable<IChannelQualityProbe> probes,
        IFunctionCatalog? catalog = null,
        ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(probes);
        _options = options.Value;
        _time = timeProvider;
        _metrics = metrics;
        _catalog = catalog;
        _probes = probes.ToArray();
        _logger = (ILogger?)loggerFactory?.CreateLogger<ChannelQualityPlacer>() ?? NullLogger.Instance;
        _coldStartMs = _options.ColdStartEstimate.TotalMilliseconds;
        _poolStartMs = _options.PoolStartEstimate.TotalMilliseconds;
        _locations.TryAdd(_options.LocalLocation, 0);
    }

    public ChannelQualityPlacementOptions Options => _options;

    /// <summary>Expected cold start (create and load), smoothed from observed starts.</summary>
    public double ColdStartMs => Volatile.Read(ref _coldStartMs);

    /// <summary>Expected warming-pool start (load), smoothed from observed starts.</summary>
    public double PoolStartMs => Volatile.Read(ref _poolStartMs);

    /// <summary>The plans in force (for tests and diagnostics).</summary>
    public IReadOnlyDictionary<string, PlacementPlan> Plans => Volatile.Read(ref _plans);

    // ---- the hot path ---------------------------------------------------------------------------------------------

    /// <summary>The function's plan, if it is placed by channel quality: one dictionary read, lock-free.</summary>
    public bool TryGetPlan(string function, out PlacementPlan plan)
    {
        var plans = Volatile.Read(ref _plans);
        if (plans.Count != 0 && plans.TryGetValue(function, out plan!))
        {
            return true;
        }

        plan = null!;
        return false;
    }

    // ---- inputs -----------------------------------------------------------------------------------------------------

    /// <summary>An instance was created at <paramref name="location"/> (so plans score it).</summary>
    public void NoteLocation(InstanceLocation location)
    {
        if (!_locations.ContainsKey(location))
        {
            _locations.TryAdd(location, 0);
        }
    }

    /// <summary>A start that was not a warm hit took <paramref name="elapsed"/>: moves the start-cost estimates.</summary>
    public void RecordStart(StartKind kind, TimeSpan elapsed)
    {
        var alpha = _options.SmoothingFactor;
        var ms = elapsed.TotalMilliseconds;
        lock (_startGate)
        {
            if (kind == StartKind.Cold)
            {
                Volatile.Write(ref _coldStartMs, ((1 - alpha) * _coldStartMs) + (alpha * ms));
            }
            else if (kind == StartKind.WarmPool)
            {
                Volatile.Write(ref _poolStartMs, ((1 - alpha) * _poolStartMs) + (alpha * ms));
            }
        }
    }

    /// <summary>Folds one measurement of (location, endpoint) in.</summary>
    public void Record(InstanceLocation location, string endpoint, bool succeeded, TimeSpan roundTrip)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentException.ThrowIfNullOrEmpty(endpoint);
        NoteLocation(location);
        _channels.GetOrAdd((location, endpoint), static k => new ChannelEstimate(k.Location, k.Endpoint))
            .Record(succeeded, roundTrip, _time.GetTimestamp(), _options.SmoothingFactor);
    }

    /// <summary>The current estimate of (location, endpoint), if it was ever measured.</summary>
    public ChannelQuality? GetQuality(InstanceLocation location, string endpoint) =>
        _channels.TryGetValue((location, endpoint), out var estimate) ? estimate.Read(_time, _options.StaleAfter) : null;

    /// <inheritdoc/>
    public void Report(in AuxiliaryCallReport report)
    {
        if (string.IsNullOrEmpty(report.Endpoint) || string.IsNullOrEmpty(report.FunctionName))
        {
            return;
        }

        if (report.Location is { } location)
        {
            Record(location, report.Endpoint, report.Succeeded, report.RoundTrip);
        }

        if (_options.LearnProfiles)
        {
            Learned(report.FunctionName).NoteContact(report.Endpoint, report.InvocationId);
        }
    }

    /// <inheritdoc/>
    public void OnInvocationStarting(FunctionDefinition definition, InvocationRequest request)
    {
    }

    /// <inheritdoc/>
    public void OnInvocationCompleted(FunctionDefinition definition, InvocationRequest request, InvocationResult? result, Exception? exception)
    {
        if (_options.LearnProfiles && result is not null)
        {
            Learned(definition.Name).NoteExecution();
        }
    }

    /// <summary>The learned likelihood of each endpoint for <paramref name="function"/> (empty until enough executions were observed).</summary>
    public IReadOnlyDictionary<string, double> LearnedLikelihoods(string function) =>
        _learned.TryGetValue(function, out var learned) && learned.Executions >= _options.MinObservedExecutions
            ? learned.Likelihoods()
            : new Dictionary<string, double>();

    // ---- probes -------------------------------------------------------------------------------------------------------

    /// <summary>
    /// Probes every channel that matters once, all at the same time (each with <see cref="ChannelQualityPlacementOptions.ProbeTimeout"/>),
    /// folds the results in and recomputes the plans. The endpoints that matter are those of every task profile,
    /// declared or learned, at any likelihood (a profile may cross the threshold later).
    /// </summary>
    public async Task ProbeAllAsync(CancellationToken cancellationToken)
    {
        var targets = new List<(InstanceLocation Location, string Endpoint, Uri Address)>();
        var endpoints = new HashSet<string>(StringComparer.Ordinal);
        foreach (var profile in Profiles())
        {
            foreach (var endpoint in profile.Likelihoods.Keys)
            {
                endpoints.Add(endpoint);
            }
        }

        if (_options.ProbeFromLocalLocation)
        {
            foreach (var endpoint in endpoints)
            {
                if (Uri.TryCreate(endpoint, UriKind.Absolute, out var address))
                {
                    targets.Add((_options.LocalLocation, endpoint, address));
                }
            }
        }

        foreach (var route in _options.ProbeRoutes)
        {
            targets.Add((route.Location, route.Endpoint, route.Address));
        }

        await Task.WhenAll(targets.Select(t => ProbeOneAsync(t.Location, t.Endpoint, t.Address, cancellationToken))).ConfigureAwait(false);
        Recompute();
    }

    private async Task ProbeOneAsync(InstanceLocation location, string endpoint, Uri address, CancellationToken cancellationToken)
    {
        var probe = Array.Find(_probes, p => p.CanProbe(address));
        if (probe is null)
        {
            return;
        }

        ChannelProbeResult result;
        try
        {
            result = await probe.ProbeAsync(address, _options.ProbeTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            result = ChannelProbeResult.Failure(_options.ProbeTimeout, ex.GetType().Name + ": " + ex.Message);
        }

        _metrics.ChannelProbes.Add(1, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.OutcomeTag, result.Succeeded ? "success" : "failure"));
        if (!result.Succeeded)
        {
            Log.ChannelProbeFailed(_logger, endpoint, location.ToString(), address.ToString(), result.Error ?? "failed");
        }

        Record(location, endpoint, result.Succeeded, result.RoundTrip);
    }

    // ---- plans --------------------------------------------------------------------------------------------------------

    /// <summary>Rebuilds every function's plan from the profiles and the fresh estimates, and publishes them at once.</summary>
    public void Recompute()
    {
        var threshold = _options.LikelihoodThreshold;
        var penaltyMs = _options.FailurePenalty.TotalMilliseconds;
        var plans = new Dictionary<string, PlacementPlan>(StringComparer.Ordinal);
        var locations = _locations.Keys.ToArray();
        foreach (var (function, likelihoods) in Profiles())
        {
            var penalties = new Dictionary<InstanceLocation, double>();
            foreach (var location in locations)
            {
                penalties[location] = 0;
            }

            var neutral = 0.0;
            var used = new List<string>();
            foreach (var (endpoint, likelihood) in likelihoods)
            {
                if (likelihood < threshold)
                {
                    continue;
                }

                // Fresh estimates only: a stale or unmeasured channel is neither preferred nor avoided (it gets the mean).
                var costs = new Dictionary<InstanceLocation, double>();
                foreach (var location in locations)
                {
                    if (GetQuality(location, endpoint) is { IsStale: false } quality)
                    {
                        costs[location] = quality.CostMs(penaltyMs);
                    }
                }

                if (costs.Count == 0)
                {
                    continue;
                }

                var mean = costs.Values.Average();
                foreach (var location in locations)
                {
                    penalties[location] += likelihood * (costs.TryGetValue(location, out var cost) ? cost : mean);
                }

                neutral += likelihood * mean;
                used.Add(string.Create(CultureInfo.InvariantCulture, $"{endpoint} p={likelihood:F2}"));
            }

            // Nothing to tell the locations apart: leave the function on the default path.
            if (used.Count == 0 || penalties.Count < 1 || penalties.Values.Max() - penalties.Values.Min() < 0.001)
            {
                continue;
            }

            plans[function] = new PlacementPlan(function, penalties, neutral, string.Join(", ", used));
        }

        Volatile.Write(ref _plans, plans.Count == 0 ? NoPlans : plans);
    }

    /// <summary>Counts a placement and, for every placed decision, logs why.</summary>
    public void RecordDecision(PlacementPlan plan, PlacementKind kind, IInstance? instance, InstanceLocation? location, double chosenCostMs, double alternativeCostMs)
    {
        _metrics.Placements.Add(1, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.PlacementKindTag, PlacementKindName(kind)));
        if (!_logger.IsEnabled(LogLevel.Debug))
        {
            return; // the arguments below format locations: only when someone reads them
        }

        Log.PlacementDecided(
            _logger,
            plan.Function,
            PlacementKindName(kind),
            instance?.Id ?? "(new)",
            location?.ToString() ?? "(any)",
            chosenCostMs,
            plan.Best?.ToString() ?? "(none)",
            plan.BestPenaltyMs,
            alternativeCostMs,
            plan.Endpoints);
    }

    public static string PlacementKindName(PlacementKind kind) => kind switch
    {
        PlacementKind.WarmBest => "warm_best",
        PlacementKind.WarmOther => "warm_other",
        PlacementKind.Pool => "pool",
        PlacementKind.ColdAtBest => "cold_at_best",
        _ => "fallback",
    };

    /// <summary>Every function's likelihoods: learned once enough executions were seen, else declared.</summary>
    private List<(string Function, IReadOnlyDictionary<string, double> Likelihoods)> Profiles()
    {
        var profiles = new List<(string, IReadOnlyDictionary<string, double>)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (_catalog is not null)
        {
            foreach (var definition in _catalog.Functions)
            {
                var learned = LearnedLikelihoods(definition.Name);
                var declared = definition.TaskProfile?.AuxiliaryEndpoints;
                if (learned.Count > 0 || declared is { Count: > 0 })
                {
                    var merged = new Dictionary<string, double>(declared ?? new Dictionary<string, double>(), StringComparer.Ordinal);
                    foreach (var (endpoint, likelihood) in learned)
                    {
                        merged[endpoint] = likelihood; // observed behaviour overrides the declaration
                    }

                    profiles.Add((definition.Name, merged));
                }

                seen.Add(definition.Name);
            }
        }

        foreach (var function in _learned.Keys)
        {
            if (!seen.Contains(function) && LearnedLikelihoods(function) is { Count: > 0 } learned)
            {
                profiles.Add((function, learned));
            }
        }

        return profiles;
    }

    private LearnedProfile Learned(string function) =>
        _learned.TryGetValue(function, out var learned) ? learned : _learned.GetOrAdd(function, static _ => new LearnedProfile());

    /// <summary>How often a function's executions contacted each endpoint: contacts (once per invocation) over executions.</summary>
    private sealed class LearnedProfile
    {
        private readonly ConcurrentDictionary<string, EndpointCount> _endpoints = new(StringComparer.Ordinal);
        private long _executions;

        public long Executions => Volatile.Read(ref _executions);

        public void NoteExecution() => Interlocked.Increment(ref _executions);

        public void NoteContact(string endpoint, string invocationId)
        {
            var count = _endpoints.TryGetValue(endpoint, out var c) ? c : _endpoints.GetOrAdd(endpoint, static _ => new EndpointCount());
            var last = Volatile.Read(ref count.LastInvocation);
            if (!string.Equals(last, invocationId, StringComparison.Ordinal) &&
                Interlocked.CompareExchange(ref count.LastInvocation, invocationId, last) == last)
            {
                Interlocked.Increment(ref count.Contacts);
            }
        }

        public Dictionary<string, double> Likelihoods()
        {
            var executions = Math.Max(Executions, 1);
            var result = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var (endpoint, count) in _endpoints)
            {
                result[endpoint] = Math.Min(1.0, (double)Volatile.Read(ref count.Contacts) / executions);
            }

            return result;
        }
    }

    private sealed class EndpointCount
    {
        public string? LastInvocation;
        public long Contacts;
    }
}

/// <summary>How a placed acquire obtained its instance.</summary>
internal enum PlacementKind
{
    /// <summary>An idle instance at the best location.</summary>
    WarmBest,

    /// <summary>An idle instance elsewhere: better than a cold start at the best location.</summary>
    WarmOther,

    /// <summary>A warming-pool instance chosen for its location.</summary>
    Pool,

    /// <summary>A cold start asked at the best location.</summary>
    ColdAtBest,

    /// <summary>The placed path lost its races and fell back to the default choice.</summary>
    Fallback,
}
