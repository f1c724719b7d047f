namespace OnDemandExecution;

/// <summary>Thrown when a function ran longer than its <see cref="FunctionDefinition.Timeout"/>.</summary>
public sealed class InvocationTimeoutException : OnDemandExecutionException
{
    /// <summary>Creates the exception.</summary>
    public InvocationTimeoutException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public InvocationTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public InvocationTimeoutException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The timeout that elapsed.</summary>
    public TimeSpan Timeout { get; init; }
}
