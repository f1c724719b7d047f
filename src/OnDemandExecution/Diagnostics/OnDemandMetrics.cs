using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OnDemandExecution.Diagnostics;

/// <summary>The library's one meter and its instruments, created through <see cref="IMeterFactory"/> when DI has one.</summary>
internal sealed class OnDemandMetrics : IDisposable
{
    /// <summary>The library's one activity source (static, as activity sources are meant to be).</summary>
    public static readonly ActivitySource ActivitySource = new(OnDemandExecutionDiagnostics.Name, typeof(OnDemandMetrics).Assembly.GetName().Version?.ToString());

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private Func<PoolSnapshot>? _poolSnapshot;

    public OnDemandMetrics(IMeterFactory? meterFactory = null)
    {
        if (meterFactory is null)
        {
            _meter = new Meter(OnDemandExecutionDiagnostics.Name);
            _ownsMeter = true;
        }
        else
        {
            _meter = meterFactory.Create(OnDemandExecutionDiagnostics.Name);
        }

        Invocations = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.Invocations, "{invocation}", "Finished invocations.");
        InvocationDuration = CreateDurationHistogram(_meter, OnDemandExecutionDiagnostics.InvocationDuration, "Invocation duration, call to result.");
        StartDuration = CreateDurationHistogram(_meter, OnDemandExecutionDiagnostics.StartDuration, "Time to obtain a ready instance (provision and code load).");
        InstancesCreated = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.InstancesCreated, "{instance}", "Instances created.");
        InstancesDestroyed = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.InstancesDestroyed, "{instance}", "Instances destroyed.");
        InstancesPreloaded = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.InstancesPreloaded, "{instance}", "Instances loaded ahead of demand.");
        InstancesRecycled = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.InstancesRecycled, "{instance}", "Instances recycled to the warming pool.");
        StopAbandoned = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.StopAbandoned, "{item}", "Instances and operations the pools' stop abandoned when its bound passed.");
        QueueLength = _meter.CreateUpDownCounter<long>(OnDemandExecutionDiagnostics.QueueLength, "{request}", "Requests waiting for a function's concurrency limit.");
        SidecarsStarted = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.SidecarsStarted, "{sidecar}", "Sidecars started.");
        SidecarsStopped = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.SidecarsStopped, "{sidecar}", "Sidecars stopped.");
        SidecarAccessDenied = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.SidecarAccessDenied, "{call}", "Sidecar calls refused: the caller does not own the sidecar.");
        CapabilitySelections = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.CapabilitySelections, "{call}", "Calls by capability, by the function chosen.");
        IdempotencyRequests = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.IdempotencyRequests, "{request}", "Requests to idempotent functions, by how they were served.");
        // Additive across states (they sum to the live instances): an up-down counter, so that backends may add the series.
        _meter.CreateObservableUpDownCounter(OnDemandExecutionDiagnostics.PoolSize, ObservePools, "{instance}", "Instances per pool state.");
        Placements = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.Placements, "{acquire}", "Acquires placed by channel quality, by placement kind.");
        ChannelProbes = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.ChannelProbes, "{probe}", "Channel-quality probes run, by outcome.");
    }

    public Counter<long> Invocations { get; }

    public Histogram<double> InvocationDuration { get; }

    public Histogram<double> StartDuration { get; }

    public Counter<long> InstancesCreated { get; }

    public Counter<long> InstancesDestroyed { get; }

    public Counter<long> InstancesRecycled { get; }

    public Counter<long> InstancesPreloaded { get; }

    public UpDownCounter<long> QueueLength { get; }

    public Counter<long> StopAbandoned { get; }

    public Counter<long> Placements { get; }

    public Counter<long> ChannelProbes { get; }

    public Counter<long> SidecarsStarted { get; }

    public Counter<long> SidecarsStopped { get; }

    public Counter<long> SidecarAccessDenied { get; }

    public Counter<long> CapabilitySelections { get; }

    public Counter<long> IdempotencyRequests { get; }

    /// <summary>A duration histogram in seconds with the library's bucket advice (<see cref="OnDemandExecutionDiagnostics.DurationBucketBoundaries"/>).</summary>
    public static Histogram<double> CreateDurationHistogram(Meter meter, string name, string description) =>
        meter.CreateHistogram(name, "s", description, tags: null, advice: DurationAdvice);

    /// <summary>The advice shared by every duration histogram (providers' too).</summary>
    public static InstrumentAdvice<double> DurationAdvice { get; } = new() { HistogramBucketBoundaries = OnDemandExecutionDiagnostics.DurationBucketBoundaries };

    public static string StartKindName(StartKind kind) => kind switch
    {
        StartKind.Warm => "warm",
        StartKind.WarmPool => "pool",
        _ => "cold",
    };

    /// <summary>Lets the pool manager feed the pool-size gauge.</summary>
    public void ObservePoolsWith(Func<PoolSnapshot> snapshot) => _poolSnapshot = snapshot;

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private IEnumerable<Measurement<long>> ObservePools()
    {
        if (_poolSnapshot is not { } snapshotFunc)
        {
            return [];
        }

        var s = snapshotFunc();
        return
        [
            new(s.Provisioning, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.StateTag, "provisioning")),
            new(s.Warm, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.StateTag, "warm")),
            new(s.Assigned, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.StateTag, "assigned")),
            new(s.Idle, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.StateTag, "idle")),
            new(s.Busy, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.StateTag, "busy")),
            new(s.Recycling, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.StateTag, "recycling")),
        ];
    }
}
