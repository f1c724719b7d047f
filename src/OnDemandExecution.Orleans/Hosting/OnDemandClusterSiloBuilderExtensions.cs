using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.Orleans;
using OnDemandExecution.Orleans.Hosting;
using OnDemandExecution.Orleans.Routing;

namespace Orleans.Hosting;

/// <summary>Makes a silo a host of the OnDemandExecution cluster.</summary>
public static class OnDemandClusterSiloBuilderExtensions
{
    /// <summary>
    /// Joins this silo's OnDemandExecution host (registered before with <c>AddOnDemandExecution</c> on the same
    /// services, unchanged) to the cluster: it publishes its capacity, routes calls made through
    /// <see cref="IClusterFunctionExecutor"/> (and from Orleans clients) to warm capacity anywhere in the cluster, runs
    /// calls routed to it, and sends its predictors' preloads to the host the function's calls go to.
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="configure">Configures <see cref="OnDemandClusterOptions"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException"><c>AddOnDemandExecution</c> was not called on the silo's services before.</exception>
    public static ISiloBuilder UseOnDemandExecutionCluster(this ISiloBuilder builder, Action<OnDemandClusterOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(LocalHost)))
        {
            return builder;
        }

        var poolRegistration = services.LastOrDefault(d => d.ServiceType == typeof(IInstancePoolManager) && !d.IsKeyedService)
            ?? throw new InvalidOperationException(
                "UseOnDemandExecutionCluster needs the silo's OnDemandExecution host: call services.AddOnDemandExecution(...) before UseOnDemandExecutionCluster.");

        var options = services.AddOptions<OnDemandClusterOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OnDemandClusterOptions>, OnDemandClusterOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        // The predictors get the cluster's pool manager (its preloads go where the calls will); everything else, and the
        // host itself, keeps this silo's own.
        services.Remove(poolRegistration);
        services.AddSingleton(sp => new LocalHost(ResolveOriginal(sp, poolRegistration), sp.GetRequiredService<ILocalSiloDetails>()));
        services.AddSingleton<IInstancePoolManager>(sp => new ClusterPoolManager(
            sp.GetRequiredService<LocalHost>(),
            sp.GetRequiredService<ClusterCapacityView>(),
            sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<ILogger<ClusterPoolManager>>()));

        services.AddSingleton<ClusterCapacityView>();
        services.AddSingleton<CapacityPublisher>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<CapacityPublisher>());
        services.AddSingleton<ClusterFunctionExecutor>();
        services.AddSingleton<IClusterFunctionExecutor>(sp => sp.GetRequiredService<ClusterFunctionExecutor>());
        services.AddPlacementDirector<HostAffinityPlacement, HostAffinityPlacementDirector>();
        return builder;
    }

    private static IInstancePoolManager ResolveOriginal(IServiceProvider sp, ServiceDescriptor registration)
    {
        if (registration.ImplementationInstance is IInstancePoolManager instance)
        {
            return instance;
        }

        if (registration.ImplementationFactory is { } factory)
        {
            return (IInstancePoolManager)factory(sp);
        }

        return (IInstancePoolManager)ActivatorUtilities.GetServiceOrCreateInstance(sp, registration.ImplementationType!);
    }
}
