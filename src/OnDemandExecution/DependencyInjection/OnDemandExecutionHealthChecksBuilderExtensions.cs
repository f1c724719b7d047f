using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.Health;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the OnDemandExecution health check to a health-checks builder.</summary>
public static class OnDemandExecutionHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a health check of every provider's pools (requires <c>AddOnDemandExecution</c>): unhealthy when a provider
    /// cannot create anything (its last creations failed and it has no instance left), degraded when its warming pool
    /// has stayed below target, its creations keep failing, or no maintenance pass has completed for several intervals.
    /// The result's data has one entry per provider.
    /// </summary>
    /// <param name="builder">The health-checks builder.</param>
    /// <param name="configure">Sets the thresholds; validated when the host starts.</param>
    /// <param name="name">The check's name. Default "ondemand-execution".</param>
    /// <param name="failureStatus">The status reported instead of unhealthy; null: <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter checks by (for example "ready").</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddOnDemandExecutionHealthChecks(
        this IHealthChecksBuilder builder,
        Action<OnDemandExecutionHealthCheckOptions>? configure = null,
        string name = "ondemand-execution",
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var options = builder.Services.AddOptions<OnDemandExecutionHealthCheckOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OnDemandExecutionHealthCheckOptions>, OnDemandExecutionHealthCheckOptionsValidator>());
        builder.Services.TryAddSingleton<OnDemandExecutionHealthCheck>();
        return builder.Add(new HealthCheckRegistration(name, sp => sp.GetRequiredService<OnDemandExecutionHealthCheck>(), failureStatus, tags));
    }
}
