namespace OnDemandExecution;

/// <summary>Thrown when the instance running a request died or stopped answering mid-call. The instance is destroyed and replaced; the request is not retried (it may have had effects).</summary>
public sealed class InstanceDiedException : OnDemandExecutionException
{
    /// <summary>Creates the exception.</summary>
    public InstanceDiedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public InstanceDiedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public InstanceDiedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The instance that died, when known.</summary>
    public string? InstanceId { get; init; }
}
