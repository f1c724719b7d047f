using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.Capabilities;
using OnDemandExecution.Idempotency;
using OnDemandExecution.Sidecars;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Configures sidecars, calls by capability and idempotent execution (registered by <c>AddOnDemandExecution</c>).</summary>
public static class ExecutionFeaturesBuilderExtensions
{
    /// <summary>Sets the priors and learning rate of the cost model behind calls by capability.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="CapabilityOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder ConfigureCapabilities(this IOnDemandExecutionBuilder builder, Action<CapabilityOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Sets the bounds of the default in-memory result cache of idempotent functions.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="IdempotencyOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder ConfigureIdempotency(this IOnDemandExecutionBuilder builder, Action<IdempotencyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Reads idempotent functions' dependency states with <typeparamref name="TProvider"/> instead of the in-memory default.</summary>
    /// <typeparam name="TProvider">The provider type, created by DI as a singleton.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseDependencyStateProvider<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TProvider>(this IOnDemandExecutionBuilder builder)
        where TProvider : class, IDependencyStateProvider
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IDependencyStateProvider, TProvider>());
        return builder;
    }

    /// <summary>Reads idempotent functions' dependency states with a provider built by a factory.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the provider (once).</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseDependencyStateProvider(this IOnDemandExecutionBuilder builder, Func<IServiceProvider, IDependencyStateProvider> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.Replace(ServiceDescriptor.Singleton(factory));
        return builder;
    }

    /// <summary>Stores idempotent functions' results in <typeparamref name="TCache"/> instead of the in-memory default.</summary>
    /// <typeparam name="TCache">The cache type, created by DI as a singleton.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseIdempotencyCache<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TCache>(this IOnDemandExecutionBuilder builder)
        where TCache : class, IIdempotencyCache
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IIdempotencyCache, TCache>());
        return builder;
    }

    /// <summary>
    /// Keeps idempotent functions' results in the application's <see cref="Microsoft.Extensions.Caching.Distributed.IDistributedCache"/>
    /// (<see cref="DistributedIdempotencyCache"/>) instead of in memory: register one first (for example
    /// <c>services.AddDistributedMemoryCache()</c>, or a Redis or SQL Server cache). Keys stay per tenant; single flight
    /// stays per host.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the key prefix.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseDistributedIdempotencyCache(this IOnDemandExecutionBuilder builder, Action<DistributedIdempotencyCacheOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<DistributedIdempotencyCacheOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.Replace(ServiceDescriptor.Singleton<IIdempotencyCache>(static sp => new DistributedIdempotencyCache(
            sp.GetService<Microsoft.Extensions.Caching.Distributed.IDistributedCache>() ?? throw new InvalidOperationException(
                "UseDistributedIdempotencyCache needs an IDistributedCache: register one (services.AddDistributedMemoryCache(), a Redis or SQL Server cache) before the host starts."),
            sp.GetRequiredService<IOptions<DistributedIdempotencyCacheOptions>>(),
            sp.GetRequiredService<IOptions<IdempotencyOptions>>())));
        return builder;
    }

    /// <summary>Registers the services behind the three features; called by <c>AddOnDemandExecution</c>.</summary>
    internal static void AddExecutionFeatures(IServiceCollection services)
    {
        services.AddOptions<CapabilityOptions>().ValidateOnStart();
        services.AddOptions<IdempotencyOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CapabilityOptions>, CapabilityOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IdempotencyOptions>, IdempotencyOptionsValidator>());
        services.TryAddSingleton<SidecarManager>();
        services.TryAddSingleton<ExecutionCostModel>();
        services.TryAddSingleton<CapabilityRouter>();
        services.TryAddSingleton<InMemoryDependencyStateProvider>();
        services.TryAddSingleton<IDependencyStateProvider>(sp => sp.GetRequiredService<InMemoryDependencyStateProvider>());
        services.TryAddSingleton<IIdempotencyCache, MemoryIdempotencyCache>();
        services.TryAddSingleton<IdempotencyCoordinator>();
        services.TryAddSingleton<ICapabilityInvoker>(sp => sp.GetRequiredService<OnDemandExecution.Execution.FunctionExecutor>());
    }
}
