using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OnDemandExecution;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Chooses a shipped keep-alive policy: none, fixed, the hybrid histogram, the periodicity policy, or the adaptive capacity policy.</summary>
public static class KeepAlivePolicyBuilderExtensions
{
    /// <summary>Keeps every idle instance for <paramref name="keepAlive"/> (functions that set their own keep-alive keep it).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="keepAlive">The keep-alive; <see cref="TimeSpan.Zero"/> keeps nothing, <see cref="Timeout.InfiniteTimeSpan"/> keeps forever.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseFixedKeepAlive(this IOnDemandExecutionBuilder builder, TimeSpan keepAlive)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var policy = new FixedKeepAlivePolicy(keepAlive); // validates now
        return builder.UseKeepAlivePolicy(_ => policy);
    }

    /// <summary>
    /// Retires every instance as soon as its call ends (recycled into the warming pool when it needs one): the
    /// "no keep-alive" baseline, which is <c>new FixedKeepAlivePolicy(TimeSpan.Zero)</c>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseNoKeepAlive(this IOnDemandExecutionBuilder builder) => builder.UseFixedKeepAlive(TimeSpan.Zero);

    /// <summary>Uses <see cref="PeriodicKeepAlivePolicy"/>: periodic functions are pre-loaded just in time, others get a fixed keep-alive.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="PeriodicKeepAliveOptions"/>; validated when the policy is created (and at host start).</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UsePeriodicKeepAlive(this IOnDemandExecutionBuilder builder, Action<PeriodicKeepAliveOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<PeriodicKeepAliveOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PeriodicKeepAliveOptions>, PeriodicKeepAliveOptionsValidator>());
        return builder.UseKeepAlivePolicy<PeriodicKeepAlivePolicy>();
    }

    /// <summary>Uses <see cref="HybridHistogramKeepAlivePolicy"/> (Shahrad et al., USENIX ATC 2020).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="HybridHistogramOptions"/>; validated when the policy is created (and at host start).</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseHybridHistogramKeepAlive(this IOnDemandExecutionBuilder builder, Action<HybridHistogramOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<HybridHistogramOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HybridHistogramOptions>, HybridHistogramOptionsValidator>());
        return builder.UseKeepAlivePolicy<HybridHistogramKeepAlivePolicy>();
    }

    /// <summary>
    /// Uses <see cref="AdaptiveCapacityPolicy"/>: per function and per instance level, keep-alives and pre-loads fitted
    /// to the recent idle gaps and priced by one knob, <see cref="AdaptiveCapacityOptions.ColdStartCost"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="AdaptiveCapacityOptions"/>; validated when the policy is created (and at host start).</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseAdaptiveCapacity(this IOnDemandExecutionBuilder builder, Action<AdaptiveCapacityOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<AdaptiveCapacityOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AdaptiveCapacityOptions>, AdaptiveCapacityOptionsValidator>());
        return builder.UseKeepAlivePolicy<AdaptiveCapacityPolicy>();
    }

    /// <summary>
    /// Uses <see cref="RecurringBurstPolicy"/>: a short keep-alive (2 minutes by default) plus pre-loads ahead of
    /// bursts that recur on an hourly or half-hourly schedule. Options are validated at start-up.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Adjusts <see cref="RecurringBurstOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseRecurringBurstKeepAlive(this IOnDemandExecutionBuilder builder, Action<RecurringBurstOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<RecurringBurstOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RecurringBurstOptions>, RecurringBurstOptionsValidator>());
        return builder.UseKeepAlivePolicy<RecurringBurstPolicy>();
    }
}
