namespace OnDemandExecution.Kvm.Qmp;

/// <summary>QEMU answered a QMP command with <c>{"error": {"class": ..., "desc": ...}}</c>.</summary>
internal sealed class QmpCommandException : Exception
{
    public QmpCommandException()
    {
    }

    public QmpCommandException(string message)
        : base(message)
    {
    }

    public QmpCommandException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public QmpCommandException(string command, string errorClass, string description)
        : base($"QMP command '{command}' failed: {errorClass}: {description}")
    {
        Command = command;
        ErrorClass = errorClass;
        Description = description;
    }

    /// <summary>The command that failed.</summary>
    public string? Command { get; }

    /// <summary>QEMU's error class (<c>GenericError</c>, <c>CommandNotFound</c>, <c>DeviceNotFound</c>...).</summary>
    public string? ErrorClass { get; }

    /// <summary>QEMU's description.</summary>
    public string? Description { get; }
}

/// <summary>The QMP connection is gone (QEMU exited or closed the socket) or spoke something that is not QMP.</summary>
internal sealed class QmpConnectionException : Exception
{
    public QmpConnectionException()
    {
    }

    public QmpConnectionException(string message)
        : base(message)
    {
    }

    public QmpConnectionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
