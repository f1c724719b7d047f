namespace OnDemandExecution;

/// <summary>
/// Observes invocations as they pass the executor: the hook of predictors and correlators that learn from arrivals
/// (for example a pre-trigger correlator treating every call of one function as a hint about the next).
/// </summary>
/// <remarks>
/// Register any number with <c>services.AddSingleton&lt;IInvocationObserver, T&gt;()</c> (or
/// <c>TryAddEnumerable</c>). Both methods run on the invocation path: they must be cheap and must not block; act on
/// the pools asynchronously. An observer that throws is logged and skipped; the invocation goes on.
/// </remarks>
public interface IInvocationObserver
{
    /// <summary>A request was accepted (its function exists and its payload fits) and is about to queue for an instance.</summary>
    /// <param name="definition">The function invoked.</param>
    /// <param name="request">The request.</param>
    void OnInvocationStarting(FunctionDefinition definition, InvocationRequest request);

    /// <summary>An accepted request ended, exactly once: with a result, or with an error (including cancellation).</summary>
    /// <param name="definition">The function invoked.</param>
    /// <param name="request">The request.</param>
    /// <param name="result">The result when it succeeded, else null.</param>
    /// <param name="exception">The error when it failed, else null.</param>
    void OnInvocationCompleted(FunctionDefinition definition, InvocationRequest request, InvocationResult? result, Exception? exception);
}
