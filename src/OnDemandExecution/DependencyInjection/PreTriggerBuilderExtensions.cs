using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OnDemandExecution;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the pre-trigger correlator.</summary>
public static class PreTriggerBuilderExtensions
{
    /// <summary>
    /// Adds the pre-trigger correlator (<see cref="IPreTriggerCorrelator"/>), which also observes invocations (implicit
    /// pre-triggers and follower arrivals), with the in-memory history store unless another
    /// <see cref="IPreTriggerHistoryStore"/> is registered. Calling it twice is harmless (options accumulate).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="PreTriggerOptions"/>; validated at start-up.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder AddPreTriggers(this IOnDemandExecutionBuilder builder, Action<PreTriggerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<PreTriggerOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PreTriggerOptions>, PreTriggerOptionsValidator>());
        services.TryAddSingleton<IPreTriggerHistoryStore, InMemoryPreTriggerHistoryStore>();
        services.TryAddSingleton(sp => new PreTriggerMetrics(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton(sp => new PreTriggerCorrelator(
            sp.GetRequiredService<IInstancePoolManager>(),
            sp.GetRequiredService<IFunctionCatalog>(),
            sp.GetRequiredService<IPreTriggerHistoryStore>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<PreTriggerOptions>>(),
            sp.GetRequiredService<IOptions<OnDemandExecutionOptions>>(),
            sp.GetRequiredService<PreTriggerMetrics>(),
            sp.GetService<ILogger<PreTriggerCorrelator>>()));
        services.TryAddSingleton<IPreTriggerCorrelator>(sp => sp.GetRequiredService<PreTriggerCorrelator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IInvocationObserver, PreTriggerInvocationObserver>());
        return builder;
    }

    /// <summary>Uses <typeparamref name="TStore"/> as the pre-trigger history store (replacing the in-memory default).</summary>
    /// <typeparam name="TStore">The store type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UsePreTriggerHistoryStore<[System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicConstructors)] TStore>(this IOnDemandExecutionBuilder builder)
        where TStore : class, IPreTriggerHistoryStore
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.RemoveAll<IPreTriggerHistoryStore>();
        builder.Services.AddSingleton<IPreTriggerHistoryStore, TStore>();
        return builder;
    }

    /// <summary>Uses the store <paramref name="factory"/> creates as the pre-trigger history store (replacing the in-memory default).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the store.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UsePreTriggerHistoryStore(this IOnDemandExecutionBuilder builder, Func<IServiceProvider, IPreTriggerHistoryStore> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.RemoveAll<IPreTriggerHistoryStore>();
        builder.Services.AddSingleton(factory);
        return builder;
    }
}

/// <summary>Forwards the executor's observations to the one correlator (a separate type so TryAddEnumerable can tell it apart).</summary>
internal sealed class PreTriggerInvocationObserver(PreTriggerCorrelator correlator) : IInvocationObserver
{
    public void OnInvocationStarting(FunctionDefinition definition, InvocationRequest request) => correlator.OnInvocationStarting(definition, request);

    public void OnInvocationCompleted(FunctionDefinition definition, InvocationRequest request, InvocationResult? result, Exception? exception) =>
        correlator.OnInvocationCompleted(definition, request, result, exception);
}
