namespace OnDemandExecution;

/// <summary>
/// One sandbox created by an <see cref="IInstanceProvider"/>. The pool owns it and guarantees that it is used by
/// one invocation at a time, that it holds one function's code for one tenant at a time, and that it is either
/// recycled (<see cref="RecycleAsync"/>) or disposed exactly once.
/// </summary>
/// <remarks>
/// Error contract of <see cref="InvokeAsync"/>: throw <see cref="FunctionExecutionException"/> when the function's
/// own code failed (the instance stays usable), <see cref="InstanceDiedException"/> when the instance can no longer
/// be used, and <see cref="OperationCanceledException"/> when the token was signalled. Any other exception is taken
/// as a provider fault: the instance is destroyed and the caller gets an <see cref="InstanceProviderException"/>.
/// </remarks>
public interface IInstance : IAsyncDisposable
{
    /// <summary>A unique, stable id (for logs, metrics and results).</summary>
    string Id { get; }

    /// <summary>Where the instance runs, for placement decisions.</summary>
    InstanceLocation Location { get; }

    /// <summary>Loads a function's code so that later <see cref="InvokeAsync"/> calls run it.</summary>
    /// <param name="definition">The function to load; the pool loads at most one function per instance until it is recycled.</param>
    /// <param name="tenant">The tenant the instance is now assigned to.</param>
    /// <param name="cancellationToken">Cancels loading.</param>
    /// <returns>A task that completes when the code is ready to run.</returns>
    ValueTask LoadAsync(FunctionDefinition definition, TenantId tenant, CancellationToken cancellationToken);

    /// <summary>Runs the loaded function once.</summary>
    /// <param name="request">The request, with its payload.</param>
    /// <param name="cancellationToken">Signalled when the caller cancels or the function times out.</param>
    /// <returns>The function's output.</returns>
    ValueTask<ReadOnlyMemory<byte>> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Scrubs the instance back to a fresh, unassigned state (no function code, no tenant data) so it can rejoin
    /// the warming pool. Returns false when the instance cannot be scrubbed; the pool then disposes it.
    /// </summary>
    /// <param name="cancellationToken">Cancels recycling.</param>
    /// <returns>True when the instance is as good as new.</returns>
    ValueTask<bool> RecycleAsync(CancellationToken cancellationToken);

    /// <summary>Reports whether the instance is still usable.</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The instance's health.</returns>
    ValueTask<InstanceHealth> CheckHealthAsync(CancellationToken cancellationToken);

    /// <summary>
    /// A cheap, non-blocking liveness flag: false once the provider already knows the instance is dead (its process
    /// exited, its channel closed). The pool reads it before handing an idle instance to a call and skips dead ones.
    /// The default is <see langword="true"/> (no cheap knowledge; <see cref="CheckHealthAsync"/> still runs in maintenance).
    /// </summary>
    bool IsAlive => true;

    /// <summary>
    /// Called after a call on this instance timed out or was cancelled: stops whatever that call left running and
    /// reports whether the instance is idle again. The pool reuses the instance only when this returns
    /// <see langword="true"/>; otherwise it recycles or destroys it. The default returns <see langword="false"/>
    /// (the provider cannot confirm the work stopped).
    /// </summary>
    /// <param name="cancellationToken">Bounds the attempt; when it is signalled the instance counts as not stopped.</param>
    /// <returns>True only when the provider confirms no work of the last call still runs in the instance.</returns>
    ValueTask<bool> StopWorkAsync(CancellationToken cancellationToken) => new(false);

    /// <summary>Pauses an idle instance (only when the provider reports <see cref="InstanceProviderCapabilities.SupportsPause"/>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the instance is paused.</returns>
    ValueTask PauseAsync(CancellationToken cancellationToken) => throw new NotSupportedException("This instance cannot be paused.");

    /// <summary>Resumes a paused instance (only when the provider reports <see cref="InstanceProviderCapabilities.SupportsPause"/>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the instance runs again.</returns>
    ValueTask ResumeAsync(CancellationToken cancellationToken) => throw new NotSupportedException("This instance cannot be paused.");
}
