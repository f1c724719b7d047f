using System.Text;

namespace OnDemandExecution;

/// <summary>Shorthands for <see cref="IFunctionExecutor"/>.</summary>
public static class FunctionExecutorExtensions
{
    /// <summary>Runs a function with a binary payload.</summary>
    /// <param name="executor">The executor.</param>
    /// <param name="functionName">The registered function's name.</param>
    /// <param name="payload">The input.</param>
    /// <param name="tenant">The tenant; <see cref="TenantId.Default"/> when empty.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The result.</returns>
    public static ValueTask<InvocationResult> InvokeAsync(
        this IFunctionExecutor executor,
        string functionName,
        ReadOnlyMemory<byte> payload,
        TenantId tenant = default,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(executor);
        return executor.InvokeAsync(new InvocationRequest(functionName, payload, tenant), cancellationToken);
    }

    /// <summary>Runs a function with a UTF-8 text payload.</summary>
    /// <param name="executor">The executor.</param>
    /// <param name="functionName">The registered function's name.</param>
    /// <param name="payload">The input, sent as UTF-8.</param>
    /// <param name="tenant">The tenant; <see cref="TenantId.Default"/> when empty.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The result.</returns>
    public static ValueTask<InvocationResult> InvokeAsync(
        this IFunctionExecutor executor,
        string functionName,
        string payload,
        TenantId tenant = default,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return executor.InvokeAsync(functionName, Encoding.UTF8.GetBytes(payload), tenant, cancellationToken);
    }

    /// <summary>The output decoded as UTF-8 text.</summary>
    /// <param name="result">The result.</param>
    /// <returns>The text.</returns>
    public static string OutputAsString(this InvocationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return Encoding.UTF8.GetString(result.Output.Span);
    }
}
