namespace OnDemandExecution;

/// <summary>The root of every exception this library throws on purpose; catch it to handle them all.</summary>
public class OnDemandExecutionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OnDemandExecutionException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public OnDemandExecutionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public OnDemandExecutionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The function concerned, when there is one.</summary>
    public string? FunctionName { get; init; }
}
