using System.Diagnostics.Metrics;
using OnDemandExecution.Diagnostics;

namespace OnDemandExecution;

/// <summary>The pre-trigger correlator's instruments, on the library's one meter (same name, through <see cref="IMeterFactory"/> under DI).</summary>
internal sealed class PreTriggerMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public PreTriggerMetrics(IMeterFactory? meterFactory = null)
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

        Predictions = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.PreTriggerPredictions, "{prediction}", "Pre-trigger predictions acted on.");
        Prewarmed = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.PreTriggerInstancesPrewarmed, "{instance}", "Instances pre-initialized for pre-trigger predictions.");
        Used = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.PreTriggerInstancesUsed, "{instance}", "Pre-initialized instances used by a follower request.");
        Wasted = _meter.CreateCounter<long>(OnDemandExecutionDiagnostics.PreTriggerInstancesWasted, "{instance}", "Pre-initialized instances no follower request used.");
    }

    public Counter<long> Predictions { get; }

    public Counter<long> Prewarmed { get; }

    public Counter<long> Used { get; }

    public Counter<long> Wasted { get; }

    public static KeyValuePair<string, object?> Function(string name) => new(OnDemandExecutionDiagnostics.FunctionNameTag, name);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
