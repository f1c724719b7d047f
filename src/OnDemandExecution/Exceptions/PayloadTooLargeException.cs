namespace OnDemandExecution;

/// <summary>Thrown when a request's payload exceeds the function's <see cref="FunctionDefinition.MaxPayloadBytes"/>.</summary>
public sealed class PayloadTooLargeException : OnDemandExecutionException
{
    /// <summary>Creates the exception.</summary>
    public PayloadTooLargeException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public PayloadTooLargeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public PayloadTooLargeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The payload size, in bytes.</summary>
    public int PayloadBytes { get; init; }

    /// <summary>The limit that was exceeded, in bytes.</summary>
    public int LimitBytes { get; init; }
}
