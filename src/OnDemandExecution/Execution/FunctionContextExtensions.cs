using OnDemandExecution.Execution;
using OnDemandExecution.Sidecars;

namespace OnDemandExecution;

/// <summary>
/// What a running handler can reach through its <see cref="FunctionContext"/>: its sidecars, and nested calls (by
/// capability or by name) that run for the same tenant.
/// </summary>
/// <remarks>
/// These work only from inside the invocation the context belongs to, while it runs, on a provider that runs handlers
/// in this process (the in-process provider); elsewhere they throw <see cref="SidecarAccessDeniedException"/>. The
/// tenant is always the executor's record of the running invocation, never one the handler supplies.
/// </remarks>
public static class FunctionContextExtensions
{
    /// <summary>The sidecar named <paramref name="name"/> among those the function declares (started before the handler was called).</summary>
    /// <param name="context">The running invocation's context.</param>
    /// <param name="name">The sidecar's name (<see cref="SidecarDefinition.Name"/>).</param>
    /// <returns>Its handle.</returns>
    /// <exception cref="ArgumentException">The function declares no sidecar of that name.</exception>
    /// <exception cref="SidecarAccessDeniedException">Not called from the running invocation of <paramref name="context"/>.</exception>
    public static SidecarHandle GetSidecar(this FunctionContext context, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return SidecarManager.GetHandle(InvocationFrame.For(context), name);
    }

    /// <summary>Sends a payload to one of the function's sidecars and returns its answer.</summary>
    /// <param name="context">The running invocation's context.</param>
    /// <param name="name">The sidecar's name.</param>
    /// <param name="payload">The input.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The sidecar's output.</returns>
    public static ValueTask<ReadOnlyMemory<byte>> InvokeSidecarAsync(this FunctionContext context, string name, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default) =>
        context.GetSidecar(name).InvokeAsync(payload, cancellationToken);

    /// <summary>Calls the cheapest function that provides <paramref name="capability"/>, for the running invocation's tenant.</summary>
    /// <param name="context">The running invocation's context.</param>
    /// <param name="capability">The capability.</param>
    /// <param name="payload">The input.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The chosen function and its result.</returns>
    /// <remarks>The nested call goes through the executor like any call: it waits for the chosen function's concurrency limit, so a function must not wait on calls to itself.</remarks>
    public static ValueTask<CapabilityInvocationResult> InvokeCapabilityAsync(this FunctionContext context, string capability, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        var frame = InvocationFrame.For(context);
        return frame.Executor.InvokeAsync(capability, payload, frame.Request.Tenant, cancellationToken);
    }

    /// <summary>Calls a function by name for the running invocation's tenant.</summary>
    /// <param name="context">The running invocation's context.</param>
    /// <param name="functionName">The function.</param>
    /// <param name="payload">The input.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Its result.</returns>
    public static ValueTask<InvocationResult> InvokeFunctionAsync(this FunctionContext context, string functionName, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        var frame = InvocationFrame.For(context);
        return frame.Executor.InvokeAsync(new InvocationRequest(functionName, payload, frame.Request.Tenant), cancellationToken);
    }
}
