namespace OnDemandExecution;

/// <summary>Thrown when a request names a function that is not registered.</summary>
public sealed class FunctionNotFoundException : OnDemandExecutionException
{
    /// <summary>Creates the exception.</summary>
    public FunctionNotFoundException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public FunctionNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public FunctionNotFoundException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
