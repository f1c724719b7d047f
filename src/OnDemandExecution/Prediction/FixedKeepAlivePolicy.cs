using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>
/// The default keep-alive policy: an idle instance stays loaded for the function's
/// <see cref="FunctionDefinition.KeepAlive"/>, else <see cref="OnDemandExecutionOptions.KeepAlive"/>.
/// </summary>
public sealed class FixedKeepAlivePolicy : IKeepAlivePolicy
{
    private readonly TimeSpan _keepAlive;

    /// <summary>Creates the policy with the configured default keep-alive.</summary>
    /// <param name="options">The options; <see cref="OnDemandExecutionOptions.KeepAlive"/> is the default.</param>
    public FixedKeepAlivePolicy(IOptions<OnDemandExecutionOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _keepAlive = options.Value.KeepAlive;
    }

    /// <summary>Creates the policy with an explicit default keep-alive.</summary>
    /// <param name="keepAlive">The keep-alive of functions that set none; <see cref="TimeSpan.Zero"/> keeps nothing.</param>
    public FixedKeepAlivePolicy(TimeSpan keepAlive)
    {
        if (keepAlive < TimeSpan.Zero && keepAlive != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(keepAlive), keepAlive, "The keep-alive must be zero or positive, or Timeout.InfiniteTimeSpan.");
        }

        _keepAlive = keepAlive;
    }

    /// <inheritdoc />
    public void OnInvocation(FunctionDefinition definition, TenantId tenant)
    {
    }

    /// <inheritdoc />
    public TimeSpan OnCompleted(FunctionDefinition definition, TenantId tenant)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return definition.KeepAlive ?? _keepAlive;
    }
}
