namespace OnDemandExecution;

/// <summary>A function registered as a delegate.</summary>
/// <param name="context">The invocation: payload, tenant, function name and ids.</param>
/// <param name="cancellationToken">Signalled when the caller cancels or the function's timeout elapses.</param>
/// <returns>The function's output.</returns>
public delegate ValueTask<ReadOnlyMemory<byte>> FunctionHandler(FunctionContext context, CancellationToken cancellationToken);

/// <summary>A function implemented as a type (registered in code or loaded from an assembly).</summary>
/// <remarks>
/// One handler object is created per instance when the function's code is loaded into it, and is used by one
/// invocation at a time on that instance; it is dropped when the instance is recycled or destroyed. If the
/// handler also implements <see cref="IDisposable"/> or <see cref="IAsyncDisposable"/> it is disposed then.
/// </remarks>
public interface IFunctionHandler
{
    /// <summary>Handles one invocation.</summary>
    /// <param name="context">The invocation: payload, tenant, function name and ids.</param>
    /// <param name="cancellationToken">Signalled when the caller cancels or the function's timeout elapses.</param>
    /// <returns>The function's output.</returns>
    ValueTask<ReadOnlyMemory<byte>> HandleAsync(FunctionContext context, CancellationToken cancellationToken);
}
