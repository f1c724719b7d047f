namespace OnDemandExecution;

/// <summary>Thrown when a call names a capability that no registered function provides. Register a function with it in <see cref="FunctionDefinition.Capabilities"/>.</summary>
public sealed class CapabilityNotFoundException : OnDemandExecutionException
{
    /// <summary>Creates the exception.</summary>
    public CapabilityNotFoundException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public CapabilityNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public CapabilityNotFoundException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The capability asked for.</summary>
    public string? Capability { get; init; }
}
