namespace OnDemandExecution;

/// <summary>Thrown when a new instance is needed but <see cref="OnDemandExecutionOptions.MaxInstances"/> instances exist and none is idle to be evicted.</summary>
public sealed class InstanceCapacityExceededException : OnDemandExecutionException
{
    /// <summary>Creates the exception.</summary>
    public InstanceCapacityExceededException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public InstanceCapacityExceededException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public InstanceCapacityExceededException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The limit that was reached.</summary>
    public int MaxInstances { get; init; }
}
