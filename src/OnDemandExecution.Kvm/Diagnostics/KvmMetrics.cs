using System.Diagnostics;
using System.Diagnostics.Metrics;
using OnDemandExecution.Diagnostics;

namespace OnDemandExecution.Kvm.Diagnostics;

/// <summary>The KVM provider's instruments, on the library's meter (one <see cref="IMeterFactory"/> meter per name, so this is the core's meter under DI).</summary>
internal sealed class KvmMetrics : IDisposable
{
    public static readonly ActivitySource ActivitySource = new(OnDemandExecutionDiagnostics.Name, typeof(KvmMetrics).Assembly.GetName().Version?.ToString());

    // The library's bucket advice (0.1 ms to 10 s), as on the core's duration histograms.
    private static readonly InstrumentAdvice<double> DurationAdvice = new() { HistogramBucketBoundaries = OnDemandExecutionDiagnostics.DurationBucketBoundaries };

    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public KvmMetrics(IMeterFactory? meterFactory)
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

        StartDuration = _meter.CreateHistogram<double>(KvmDiagnostics.StartDuration, "s", "QEMU start to the guest agent's first answer.", tags: null, advice: DurationAdvice);
        SnapshotDuration = _meter.CreateHistogram<double>(KvmDiagnostics.SnapshotDuration, "s", "Time to save a guest snapshot.", tags: null, advice: DurationAdvice);
        InstancesDied = _meter.CreateCounter<long>(KvmDiagnostics.InstancesDied, "{instance}", "QEMU processes that died or stopped answering while in use.");
    }

    public Histogram<double> StartDuration { get; }

    public Histogram<double> SnapshotDuration { get; }

    public Counter<long> InstancesDied { get; }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
