namespace OnDemandExecution;

/// <summary>
/// Thrown when one tenant reached a per-tenant limit (<see cref="OnDemandExecutionOptions.MaxInstancesPerTenant"/> or
/// <see cref="OnDemandExecutionOptions.MaxConcurrentCallsPerTenant"/>): the request was refused so that other tenants
/// keep their share of the host.
/// </summary>
public sealed class TenantLimitExceededException : OnDemandExecutionException
{
    /// <summary>Creates the exception.</summary>
    public TenantLimitExceededException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public TenantLimitExceededException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public TenantLimitExceededException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The tenant that reached the limit.</summary>
    public TenantId Tenant { get; init; }

    /// <summary>The name of the option that sets the limit.</summary>
    public string? LimitName { get; init; }

    /// <summary>The limit that was reached.</summary>
    public int Limit { get; init; }
}
