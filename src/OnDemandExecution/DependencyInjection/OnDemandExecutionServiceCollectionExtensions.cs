using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
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
    /// Adds the library from a configuration section (for example <c>configuration.GetSection("OnDemandExecution")</c>):
    /// its values bind <see cref="OnDemandExecutionOptions"/>, and its <c>Functions</c> child registers assembly and
    /// program functions (<c>Functions:{name}:Assembly</c> + <c>Handler</c>, or <c>Program</c>; with <c>Provider</c>,
    /// <c>MemoryMb</c>, <c>Timeout</c>, <c>MaxConcurrency</c>, <c>MaxQueueLength</c>, <c>MaxPayloadBytes</c>,
    /// <c>KeepAlive</c>, <c>Capabilities</c> and <c>Provisioned</c> (<c>Count</c>, <c>Tenants</c>, <c>Schedule</c>)),
    /// validated like functions added in code. When the configuration reloads, the warming pool's size and the functions
    /// follow it without a restart (added, replaced, removed, or only their provisioned floor changed).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section.</param>
    /// <returns>A builder for providers, functions and features.</returns>
    /// <exception cref="InvalidOperationException">A function's setting cannot be read; the message names its key.</exception>
    [RequiresUnreferencedCode(AssemblyLoading.UnreferencedCodeMessage)]
    [RequiresDynamicCode(AssemblyLoading.DynamicCodeMessage)]
    public static IOnDemandExecutionBuilder AddOnDemandExecution(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = services.AddOnDemandExecution();
        services.AddOptions<OnDemandExecutionOptions>().Bind(configuration);
        foreach (var function in FunctionConfiguration.Read(configuration))
        {
            builder.AddFunction(function);
        }

        services.AddSingleton(new ConfiguredSection(configuration));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ConfigurationReloadService>());
        return builder;
    }

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
