namespace OnDemandExecution;

/// <summary>What a function's handler sees of one invocation.</summary>
public sealed class FunctionContext
{
    /// <summary>Creates a context.</summary>
    /// <param name="request">The invocation request.</param>
    /// <param name="instanceId">The id of the instance the invocation runs on.</param>
    public FunctionContext(InvocationRequest request, string instanceId)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(instanceId);
        Request = request;
        InstanceId = instanceId;
    }

    /// <summary>The invocation request.</summary>
    public InvocationRequest Request { get; }

    /// <summary>The function's name.</summary>
    public string FunctionName => Request.FunctionName;

    /// <summary>The tenant the invocation runs for.</summary>
    public TenantId Tenant => Request.Tenant;

    /// <summary>The request payload.</summary>
    public ReadOnlyMemory<byte> Payload => Request.Payload;

    /// <summary>The invocation's id (unique per request).</summary>
    public string InvocationId => Request.InvocationId;

    /// <summary>The id of the instance the invocation runs on.</summary>
    public string InstanceId { get; }

    /// <summary>The executor's frame of this invocation, when the built-in in-process instance created this context.</summary>
    internal Execution.InvocationFrame? Frame { get; init; }

    /// <summary>Where the instance runs (null when the provider did not say).</summary>
    public InstanceLocation? Location { get; init; }

    /// <summary>Where <see cref="ReportAuxiliaryCall"/> sends its reports (null: reports are dropped).</summary>
    public IAuxiliaryCallSink? AuxiliaryCalls { get; init; }

    /// <summary>
    /// Reports that this execution talked to an auxiliary service (a database, a queue, a storage endpoint): it teaches
    /// the function's task profile and feeds the channel-quality estimate of this instance's location. Cheap; call it
    /// once per round trip (or once per execution with the total).
    /// </summary>
    /// <param name="endpoint">The service, as task profiles name it (for example <c>tcp://db:5432</c>).</param>
    /// <param name="roundTrip">How long the round trip took.</param>
    /// <param name="succeeded">False when the call failed for a channel reason (refused, timed out, reset).</param>
    public void ReportAuxiliaryCall(string endpoint, TimeSpan roundTrip, bool succeeded = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(endpoint);
        AuxiliaryCalls?.Report(new AuxiliaryCallReport(FunctionName, InvocationId, Location, endpoint, roundTrip, succeeded));
    }
}
