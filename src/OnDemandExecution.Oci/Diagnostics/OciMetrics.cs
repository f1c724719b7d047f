using System.Diagnostics;
using System.Diagnostics.Metrics;
using OnDemandExecution.Diagnostics;

namespace OnDemandExecution.Oci.Diagnostics;

/// <summary>The OCI provider's instruments, on the library's meter (one <see cref="IMeterFactory"/> meter per name, so this is the core's meter under DI).</summary>
internal sealed class OciMetrics : IDisposable
{
    public static readonly ActivitySource ActivitySource = new(OnDemandExecutionDiagnostics.Name, typeof(OciMetrics).Assembly.GetName().Version?.ToString());

    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public OciMetrics(IMeterFactory? meterFactory)
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

        StartDuration = _meter.CreateHistogram<double>(OciDiagnostics.StartDuration, "s", "runtime create to the guest agent's first answer.");
        InstancesDied = _meter.CreateCounter<long>(OciDiagnostics.InstancesDied, "{instance}", "Containers that died or stopped answering while in use.");
        OrphansReclaimed = _meter.CreateCounter<long>(OciDiagnostics.OrphansReclaimed, "{instance}", "Containers of crashed host processes removed at provider start.");
    }

    public Histogram<double> StartDuration { get; }

    public Counter<long> InstancesDied { get; }

    public Counter<long> OrphansReclaimed { get; }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
