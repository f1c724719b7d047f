using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OnDemandExecution;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Chooses a shipped keep-alive policy: none, fixed, the hybrid histogram, the periodicity policy, the adaptive capacity policy, or the recurring-burst policy.</summary>
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
    public static IOnDemandExecutionBuilder UsePeriodicKeepAlive(this IOnDemandExecutionBuilder builder, Action<PeriodicKeepAliveOptions>? configure = null) =>
        builder.UsePolicy<PeriodicKeepAlivePolicy, PeriodicKeepAliveOptions, PeriodicKeepAliveOptionsValidator>(configure);

    /// <summary>Uses <see cref="HybridHistogramKeepAlivePolicy"/> (Shahrad et al., USENIX ATC 2020).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="HybridHistogramOptions"/>; validated when the policy is created (and at host start).</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseHybridHistogramKeepAlive(this IOnDemandExecutionBuilder builder, Action<HybridHistogramOptions>? configure = null) =>
        builder.UsePolicy<HybridHistogramKeepAlivePolicy, HybridHistogramOptions, HybridHistogramOptionsValidator>(configure);

    /// <summary>
    /// Uses <see cref="AdaptiveCapacityPolicy"/>: per function and per instance level, keep-alives and pre-loads fitted
    /// to the recent idle gaps and priced by one knob, <see cref="AdaptiveCapacityOptions.ColdStartCost"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="AdaptiveCapacityOptions"/>; validated when the policy is created (and at host start).</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseAdaptiveCapacity(this IOnDemandExecutionBuilder builder, Action<AdaptiveCapacityOptions>? configure = null) =>
        builder.UsePolicy<AdaptiveCapacityPolicy, AdaptiveCapacityOptions, AdaptiveCapacityOptionsValidator>(configure);

    /// <summary>
    /// Uses <see cref="RecurringBurstPolicy"/>: a short keep-alive (2 minutes by default) plus pre-loads ahead of
    /// bursts that recur on an hourly or half-hourly schedule. Options are validated at start-up.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Adjusts <see cref="RecurringBurstOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseRecurringBurstKeepAlive(this IOnDemandExecutionBuilder builder, Action<RecurringBurstOptions>? configure = null) =>
        builder.UsePolicy<RecurringBurstPolicy, RecurringBurstOptions, RecurringBurstOptionsValidator>(configure);

    /// <summary>Registers a policy whose options are validated when it is created and at host start.</summary>
    private static IOnDemandExecutionBuilder UsePolicy<
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TPolicy,
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions,
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(this IOnDemandExecutionBuilder builder, Action<TOptions>? configure)
        where TPolicy : class, IKeepAlivePolicy
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<TOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        return builder.UseKeepAlivePolicy<TPolicy>();
    }
}
