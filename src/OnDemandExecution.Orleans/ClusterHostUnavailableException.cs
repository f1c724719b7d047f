namespace OnDemandExecution.Orleans;

/// <summary>
/// The host a call was routed to left the cluster (it died, or membership declared it dead) before the call's result
/// came back. The call may or may not have run there; it was not retried elsewhere (a retry could run it twice). New
/// calls route to the remaining hosts.
/// </summary>
public sealed class ClusterHostUnavailableException : OnDemandExecutionException
{
    /// <summary>Creates the exception.</summary>
    public ClusterHostUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public ClusterHostUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the Orleans failure that caused it.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ClusterHostUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The silo the call was sent to.</summary>
    public string? Host { get; init; }

    /// <summary>The call's invocation id.</summary>
    public string? InvocationId { get; init; }
}
