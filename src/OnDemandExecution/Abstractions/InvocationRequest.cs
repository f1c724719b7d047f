namespace OnDemandExecution;

/// <summary>One request to run a function.</summary>
public sealed class InvocationRequest
{
    /// <summary>Creates a request.</summary>
    /// <param name="functionName">The registered function's name.</param>
    /// <param name="payload">The input passed to the function.</param>
    /// <param name="tenant">The tenant the function runs for; <see cref="TenantId.Default"/> when empty.</param>
    /// <param name="invocationId">A unique id for tracing; a new one is generated when null.</param>
    public InvocationRequest(string functionName, ReadOnlyMemory<byte> payload, TenantId tenant = default, string? invocationId = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(functionName);
        FunctionName = functionName;
        Payload = payload;
        Tenant = tenant.IsEmpty ? TenantId.Default : tenant;
        InvocationId = invocationId ?? Guid.NewGuid().ToString("N");
    }

    /// <summary>The registered function's name.</summary>
    public string FunctionName { get; }

    /// <summary>The input passed to the function.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The tenant the function runs for.</summary>
    public TenantId Tenant { get; }

    /// <summary>A unique id for tracing and logs.</summary>
    public string InvocationId { get; }
}
