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
}
