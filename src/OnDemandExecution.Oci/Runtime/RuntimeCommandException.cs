namespace OnDemandExecution.Oci.Runtime;

/// <summary>An OCI runtime command that failed; the message carries the runtime's own words.</summary>
internal sealed class RuntimeCommandException : InvalidOperationException
{
    public RuntimeCommandException(string command, RuntimeResult result)
        : base($"'{command}' exited with {result.ExitCode}: {(result.StandardError.Trim().Length > 0 ? result.StandardError.Trim() : result.StandardOutput.Trim())}")
    {
        Command = command;
        Result = result;
    }

    public string Command { get; }

    public RuntimeResult Result { get; }
}
