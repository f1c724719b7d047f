using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.DependencyInjection;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Execution;
using OnDemandExecution.InProcess;
using OnDemandExecution.Pooling;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers OnDemandExecution in a service collection.</summary>
public static class OnDemandExecutionServiceCollectionExtensions
{
    /// <summary>
    /// Adds the executor (<see cref="IFunctionExecutor"/>), the pools (<see cref="IInstancePoolManager"/>), the function
    /// catalog (<see cref="IFunctionCatalog"/>), the in-process provider as the default <see cref="IInstanceProvider"/>,
    /// validated options and a hosted service that keeps the pools. Calling it twice is harmless.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures <see cref="OnDemandExecutionOptions"/>; validated when the host starts.</param>
    /// <returns>A builder to add functions and a provider.</returns>
    public static IOnDemandExecutionBuilder AddOnDemandExecution(this IServiceCollection services, Action<OnDemandExecutionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<OnDemandExecutionOptions>().ValidateOnStart();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OnDemandExecutionOptions>, OnDemandExecutionOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new OnDemandMetrics(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton<IInstanceProvider, InProcessInstanceProvider>();
        services.TryAddSingleton<FunctionCatalog>();
        services.TryAddSingleton<IFunctionCatalog>(sp => sp.GetRequiredService<FunctionCatalog>());
        services.TryAddSingleton<PoolManager>();
        // Resolving the public pools builds the catalog too, so functions' provisioned floors are known to maintenance
        // even when it is run by hand (without the hosted service, which takes the catalog).
        services.TryAddSingleton<IInstancePoolManager>(static sp => WithCatalog(sp, sp.GetRequiredService<PoolManager>()));
        services.TryAddKeyedSingleton<IInstancePoolManager>(ProviderPools.DefaultName, static (sp, _) => sp.GetRequiredService<IInstancePoolManager>());
        services.TryAddSingleton(static sp => new ProviderPools(
            sp.GetRequiredService<PoolManager>(),
            sp.GetServices<NamedProviderRegistration>().Select(r => sp.GetRequiredKeyedService<PoolManager>(r.Name))));
        services.TryAddSingleton<IKeepAlivePolicy, FixedKeepAlivePolicy>();
        services.TryAddSingleton<FunctionExecutor>();
        services.TryAddSingleton<IFunctionExecutor>(sp => sp.GetRequiredService<FunctionExecutor>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PoolMaintenanceService>());
        ExecutionFeaturesBuilderExtensions.AddExecutionFeatures(services); // sidecars, capabilities, idempotency
        return new OnDemandExecutionBuilder(services);
    }

    internal static PoolManager WithCatalog(IServiceProvider services, PoolManager pool)
    {
        _ = services.GetRequiredService<IFunctionCatalog>();
        return pool;
    }
}
