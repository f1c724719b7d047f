namespace OnDemandExecution.GuestAgent;

/// <summary>What was wrong with the bytes on a guest-agent channel.</summary>
internal enum AgentProtocolError
{
    /// <summary>The header does not start with the ODX1 magic (another protocol or version).</summary>
    BadMagic,

    /// <summary>The header line is not <c>ODX1 TYPE ID LENGTH [ARG...]</c>.</summary>
    MalformedHeader,

    /// <summary>No newline within the longest allowed header.</summary>
    HeaderTooLong,

    /// <summary>The announced body is larger than the channel accepts.</summary>
    FrameTooLarge,

    /// <summary>The stream ended inside a frame.</summary>
    Truncated,

    /// <summary>The agent sent a message type the host does not know, or one that does not answer the request.</summary>
    UnknownType,

    /// <summary>The agent answered a request with an ERROR frame.</summary>
    AgentError,
}

/// <summary>A guest agent broke the ODX1 protocol, or answered a request with an error.</summary>
internal sealed class AgentProtocolException : Exception
{
    public AgentProtocolException()
    {
    }

    public AgentProtocolException(string message)
        : base(message)
    {
    }

    public AgentProtocolException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public AgentProtocolException(AgentProtocolError error, string message, string? agentCode = null)
        : base(message)
    {
        Error = error;
        AgentCode = agentCode;
    }

    /// <summary>What was wrong.</summary>
    public AgentProtocolError Error { get; }

    /// <summary>For <see cref="AgentProtocolError.AgentError"/>, the agent's error code (for example <c>unknown-type</c>).</summary>
    public string? AgentCode { get; }
}

/// <summary>The channel to a guest agent closed (the VM died or the connection broke); every pending request fails with it.</summary>
internal sealed class AgentChannelClosedException : Exception
{
    public AgentChannelClosedException()
        : base("The guest agent channel is closed.")
    {
    }

    public AgentChannelClosedException(string message)
        : base(message)
    {
    }

    public AgentChannelClosedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
