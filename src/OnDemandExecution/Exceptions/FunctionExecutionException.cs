namespace OnDemandExecution;

/// <summary>Thrown when the function'\''s own code failed; the instance it ran on stays usable. The inner exception (in-process) or the message (sandboxed providers) says why.</summary>
public sealed class FunctionExecutionException : OnDemandExecutionException
{
    /// <summary>Creates the exception.</summary>
    public FunctionExecutionException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public FunctionExecutionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public FunctionExecutionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
