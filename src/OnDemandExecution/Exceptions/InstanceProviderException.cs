namespace OnDemandExecution;

/// <summary>Thrown when an instance provider failed: an instance could not be created, its code could not be loaded, or it failed in an unexpected way. Any instance involved was destroyed.</summary>
public sealed class InstanceProviderException : OnDemandExecutionException
{
    /// <summary>Creates the exception.</summary>
    public InstanceProviderException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public InstanceProviderException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public InstanceProviderException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The provider's name, when known.</summary>
    public string? ProviderName { get; init; }
}
