namespace OnDemandExecution;

/// <summary>Thrown when a function's concurrency limit is reached and its wait queue is full: the request was not started. Retry later, or raise <see cref="FunctionDefinition.MaxConcurrency"/> / <see cref="FunctionDefinition.MaxQueueLength"/>.</summary>
public sealed class QueueFullException : OnDemandExecutionException
{
    /// <summary>Creates the exception.</summary>
    public QueueFullException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public QueueFullException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public QueueFullException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The queue length that was reached.</summary>
    public int QueueLength { get; init; }
}
