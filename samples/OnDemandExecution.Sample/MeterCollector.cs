using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using OnDemandExecution.Diagnostics;

namespace OnDemandExecution.Sample;

/// <summary>
/// Listens to the library's counters on the "OnDemandExecution" meter (what an OpenTelemetry exporter would see) and
/// sums them by their most telling tag: an invocation's outcome, a destroyed instance's reason.
/// </summary>
internal sealed class MeterCollector : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(string Instrument, string Detail), long> _sums = new();

    public MeterCollector()
    {
        _listener.InstrumentPublished = static (instrument, listener) =>
        {
            if (instrument.Meter.Name == OnDemandExecutionDiagnostics.Name && instrument is Counter<long>)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>The sum of a counter, over every tag value.</summary>
    public long Total(string instrument) => _sums.Where(kv => kv.Key.Instrument == instrument).Sum(kv => kv.Value);

    /// <summary>The sums of a counter by outcome or reason, largest first.</summary>
    public IEnumerable<KeyValuePair<string, long>> ByDetail(string instrument) =>
        _sums.Where(kv => kv.Key.Instrument == instrument && kv.Key.Detail.Length > 0)
            .Select(kv => new KeyValuePair<string, long>(kv.Key.Detail, kv.Value))
            .OrderByDescending(kv => kv.Value);

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        var detail = string.Empty;
        foreach (var tag in tags)
        {
            // ReasonTag is the destroyed-instances counter's tag (see OnDemandExecutionDiagnostics.InstancesDestroyed).
            if (tag.Key is OnDemandExecutionDiagnostics.OutcomeTag or OnDemandExecutionDiagnostics.ReasonTag)
            {
                detail = tag.Value as string ?? string.Empty;
            }
        }

        _sums.AddOrUpdate((instrument.Name, detail), value, (_, sum) => sum + value);
    }
}
