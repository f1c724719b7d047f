namespace OnDemandExecution;

/// <summary>
/// Receives reports of the auxiliary services (databases, queues, storage endpoints) that executions contacted. The
/// channel-quality placer implements it: each report teaches the function's task profile and feeds the channel
/// estimate of (location, endpoint). A provider whose instances can observe outgoing calls (a guest agent, a sidecar)
/// resolves it from DI and reports; in process, handlers call <see cref="FunctionContext.ReportAuxiliaryCall"/>.
/// </summary>
public interface IAuxiliaryCallSink
{
    /// <summary>Records one auxiliary round trip. Must be cheap and must not block (it runs inside executions).</summary>
    /// <param name="report">What was contacted, from where, how long it took and whether it worked.</param>
    void Report(in AuxiliaryCallReport report);
}

/// <summary>One auxiliary round trip made by one execution.</summary>
/// <param name="FunctionName">The function whose execution made the call.</param>
/// <param name="InvocationId">The invocation (several reports of one invocation count once for the task profile).</param>
/// <param name="Location">Where the instance runs; null when unknown (the report then only teaches the task profile).</param>
/// <param name="Endpoint">The service, as task profiles name it (for example <c>tcp://db:5432</c>).</param>
/// <param name="RoundTrip">How long the round trip took.</param>
/// <param name="Succeeded">False when the channel failed (refused, timed out, reset).</param>
public readonly record struct AuxiliaryCallReport(
    string FunctionName,
    string InvocationId,
    InstanceLocation? Location,
    string Endpoint,
    TimeSpan RoundTrip,
    bool Succeeded);
