using System.Diagnostics;
using System.Diagnostics.Metrics;
using OnDemandExecution.Diagnostics;

namespace OnDemandExecution.HyperV.Diagnostics;

/// <summary>The Hyper-V provider's instruments, on the library's meter (the core's meter under DI).</summary>
internal sealed class HyperVMetrics : IDisposable
{
    public static readonly ActivitySource ActivitySource = new(OnDemandExecutionDiagnostics.Name, typeof(HyperVMetrics).Assembly.GetName().Version?.ToString());

    // The library's bucket advice (0.1 ms to 10 s), as on the core's duration histograms.
    private static readonly InstrumentAdvice<double> DurationAdvice = new() { HistogramBucketBoundaries = OnDemandExecutionDiagnostics.DurationBucketBoundaries };

    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public HyperVMetrics(IMeterFactory? meterFactory)
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

        StartDuration = _meter.CreateHistogram<double>(HyperVDiagnostics.StartDuration, "s", "HcsCreateComputeSystem to the guest agent's READY.", tags: null, advice: DurationAdvice);
        InstancesDied = _meter.CreateCounter<long>(HyperVDiagnostics.InstancesDied, "{instance}", "Compute systems that exited or stopped answering while in use.");
    }

    public Histogram<double> StartDuration { get; }

    public Counter<long> InstancesDied { get; }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
