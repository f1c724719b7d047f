namespace OnDemandExecution;

/// <summary>The front door: runs a registered function on a pooled instance.</summary>
public interface IFunctionExecutor
{
    /// <summary>Runs one request and returns its output with how the instance was obtained and how long each phase took.</summary>
    /// <param name="request">The function, payload and tenant.</param>
    /// <param name="cancellationToken">Cancels the request wherever it is (queued, starting an instance, running).</param>
    /// <returns>The result.</returns>
    /// <exception cref="FunctionNotFoundException">No function of that name is registered.</exception>
    /// <exception cref="PayloadTooLargeException">The payload exceeds the function's limit.</exception>
    /// <exception cref="QueueFullException">The function's concurrency limit is reached and its queue is full.</exception>
    /// <exception cref="InvocationTimeoutException">The function ran past its timeout.</exception>
    /// <exception cref="FunctionExecutionException">The function's code failed.</exception>
    /// <exception cref="InstanceDiedException">The instance died mid-call.</exception>
    /// <exception cref="InstanceProviderException">An instance could not be created or loaded, or the provider failed.</exception>
    /// <exception cref="InstanceCapacityExceededException">No instance could be had within <see cref="OnDemandExecutionOptions.MaxInstances"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    ValueTask<InvocationResult> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken = default);
}
