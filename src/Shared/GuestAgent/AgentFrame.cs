namespace OnDemandExecution.GuestAgent;

/// <summary>
/// One frame of the ODX1 guest-agent protocol (docs/guest-agent-protocol.md): a header line
/// <c>ODX1 TYPE ID LENGTH [ARG...]</c> followed by exactly LENGTH body bytes.
/// </summary>
/// <param name="Type">The message type: an upper-case ASCII word (<see cref="AgentMessageTypes"/>).</param>
/// <param name="Id">The request id; a response carries the id of the request it answers.</param>
/// <param name="Args">Type-specific header arguments: printable ASCII tokens without spaces.</param>
/// <param name="Body">The body bytes.</param>
internal sealed record AgentFrame(string Type, long Id, IReadOnlyList<string> Args, ReadOnlyMemory<byte> Body)
{
    /// <summary>The header argument at <paramref name="index"/>, or null when the frame has fewer.</summary>
    public string? Arg(int index) => index < Args.Count ? Args[index] : null;
}

/// <summary>The message types of protocol ODX1.</summary>
internal static class AgentMessageTypes
{
    // host -> agent
    public const string Hello = "HELLO";
    public const string Health = "HEALTH";
    public const string File = "FILE";
    public const string Load = "LOAD";
    public const string Invoke = "INVOKE";
    public const string Reset = "RESET";
    public const string Shutdown = "SHUTDOWN";
    public const string Seed = "SEED";
    public const string Cancel = "CANCEL";

    // agent -> host
    public const string Ready = "READY";
    public const string Ok = "OK";
    public const string Result = "RESULT";
    public const string Error = "ERROR";

    /// <summary>Whether an agent may send this type.</summary>
    public static bool IsResponse(string type) => type is Ready or Ok or Result or Error;
}
