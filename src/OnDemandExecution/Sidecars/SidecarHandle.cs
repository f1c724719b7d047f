using OnDemandExecution.Sidecars;

namespace OnDemandExecution;

/// <summary>
/// A sidecar attached to the running invocation (from <see cref="FunctionContextExtensions.GetSidecar"/>). Every call
/// checks that the caller owns the sidecar: a handle that leaks to another tenant, or outlives its invocation, is refused.
/// </summary>
public sealed class SidecarHandle
{
    internal SidecarHandle(RunningSidecar sidecar, SidecarManager manager)
    {
        Sidecar = sidecar;
        Manager = manager;
    }

    /// <summary>The sidecar's name.</summary>
    public string Name => Sidecar.Definition.Name;

    /// <summary>The sidecar's scope.</summary>
    public SidecarScope Scope => Sidecar.Definition.Scope;

    /// <summary>The id of the instance the sidecar runs on.</summary>
    public string InstanceId => Sidecar.Instance?.Instance.Id ?? string.Empty;

    internal RunningSidecar Sidecar { get; }

    internal SidecarManager Manager { get; }

    /// <summary>Sends a payload to the sidecar and returns its answer. Calls to one sidecar run one at a time.</summary>
    /// <param name="payload">The input.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The sidecar's output.</returns>
    /// <exception cref="SidecarAccessDeniedException">The caller is not an invocation of the tenant the sidecar serves, or the sidecar is not attached to it.</exception>
    public ValueTask<ReadOnlyMemory<byte>> InvokeAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default) =>
        Manager.InvokeAsync(this, payload, cancellationToken);
}
