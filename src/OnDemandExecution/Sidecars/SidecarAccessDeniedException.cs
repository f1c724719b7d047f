namespace OnDemandExecution;

/// <summary>
/// Thrown when code tries to call a sidecar it does not own: a sidecar of another tenant, one not attached to the
/// running invocation, or any sidecar outside an invocation. Nothing was sent to the sidecar.
/// </summary>
public sealed class SidecarAccessDeniedException : OnDemandExecutionException
{
    /// <summary>Creates the exception.</summary>
    public SidecarAccessDeniedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public SidecarAccessDeniedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public SidecarAccessDeniedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The sidecar's name.</summary>
    public string? SidecarName { get; init; }
}
