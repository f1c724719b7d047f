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
        InvocationDuration = _meter.CreateHistogram<double>(OnDemandExecutionDiagnostics.InvocationDuration, "s", "Invocation duration, call to result.");
        StartDuration = _meter.CreateHistogram<double>(OnDemandExecutionDiagnostics.StartDuration, "s", "Time to obtain a ready instance (provision and code load).");
        InstancesCreated = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.InstancesCreated, "{instance}", "Instances created.");
        InstancesDestroyed = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.InstancesDestroyed, "{instance}", "Instances destroyed.");
        InstancesPreloaded = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.InstancesPreloaded, "{instance}", "Instances loaded ahead of demand.");
        InstancesRecycled = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.InstancesRecycled, "{instance}", "Instances recycled to the warming pool.");
        QueueLength = _meter.CreateUpDownCounter<long>(OnDemandExecutionDiagnostics.QueueLength, "{request}", "Requests waiting for a function's concurrency limit.");
        _meter.CreateObservableGauge(OnDemandExecutionDiagnostics.PoolSize, ObservePools, "{instance}", "Instances per pool state.");
    }

    public Counter<long> Invocations { get; }

    public Histogram<double> InvocationDuration { get; }

    public Histogram<double> StartDuration { get; }

    public Counter<long> InstancesCreated { get; }

    public Counter<long> InstancesDestroyed { get; }

    public Counter<long> InstancesRecycled { get; }

    public Counter<long> InstancesPreloaded { get; }

    public UpDownCounter<long> QueueLength { get; }

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
