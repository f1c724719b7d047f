using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.InProcess;
using OnDemandExecution.Placement;
using OnDemandExecution.Pooling;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Several providers in one host: providers registered by name, each with its own pools.</summary>
public static partial class OnDemandExecutionBuilderExtensions
{
    /// <summary>
    /// Registers the in-process provider under <paramref name="name"/>, beside the default provider. Functions run on it
    /// when their <see cref="FunctionDefinition.ProviderName"/> is <paramref name="name"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The provider's name: 1 to 64 letters, digits, '.', '-' or '_'; not "default".</param>
    /// <param name="configurePool">Configures this provider's pools (the options named <paramref name="name"/>); validated when the host starts.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder AddInProcessProvider(this IOnDemandExecutionBuilder builder, string name, Action<OnDemandExecutionOptions>? configurePool = null) =>
        builder.AddProvider<InProcessInstanceProvider>(name, configurePool);

    /// <summary>
    /// Registers <typeparamref name="TProvider"/> under <paramref name="name"/> (a keyed singleton), beside the default
    /// provider, with pools of its own: warming pool, active pools, <see cref="OnDemandExecutionOptions.MaxInstances"/>,
    /// provisioned floors and metrics (tagged <c>provider.name</c> = <paramref name="name"/>). Functions run on it when
    /// their <see cref="FunctionDefinition.ProviderName"/> is <paramref name="name"/>; an instance of one provider never
    /// serves a function of another. Registering a name again replaces its provider.
    /// </summary>
    /// <typeparam name="TProvider">The provider type, created by DI.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The provider's name: 1 to 64 letters, digits, '.', '-' or '_'; not "default".</param>
    /// <param name="configurePool">
    /// Configures this provider's pools: the <see cref="OnDemandExecutionOptions"/> named <paramref name="name"/>, which
    /// start from the library's defaults (not from the default provider's). Of them the pools read
    /// <see cref="OnDemandExecutionOptions.WarmingPoolSize"/>, <see cref="OnDemandExecutionOptions.PrewarmOnStart"/>,
    /// <see cref="OnDemandExecutionOptions.MaxInstances"/>, <see cref="OnDemandExecutionOptions.WarmInstance"/>,
    /// <see cref="OnDemandExecutionOptions.KeepAlive"/>, <see cref="OnDemandExecutionOptions.InstanceStartTimeout"/> and
    /// <see cref="OnDemandExecutionOptions.MaxConcurrentProvisioning"/>; the executor's defaults and the maintenance
    /// interval stay the default options'.
    /// </param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">The name is not valid.</exception>
    public static IOnDemandExecutionBuilder AddProvider<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TProvider>(this IOnDemandExecutionBuilder builder, string name, Action<OnDemandExecutionOptions>? configurePool = null)
        where TProvider : class, IInstanceProvider
        => AddNamedProvider(builder, name, configurePool, ServiceDescriptor.KeyedSingleton<IInstanceProvider, TProvider>(name));

    /// <summary>Registers the provider <paramref name="factory"/> creates under <paramref name="name"/>, beside the default provider.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The provider's name: 1 to 64 letters, digits, '.', '-' or '_'; not "default".</param>
    /// <param name="factory">Creates the provider (once).</param>
    /// <param name="configurePool">Configures this provider's pools (see <see cref="AddProvider{TProvider}(IOnDemandExecutionBuilder, string, Action{OnDemandExecutionOptions}?)"/>).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">The name is not valid.</exception>
    public static IOnDemandExecutionBuilder AddProvider(this IOnDemandExecutionBuilder builder, string name, Func<IServiceProvider, IInstanceProvider> factory, Action<OnDemandExecutionOptions>? configurePool = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return AddNamedProvider(builder, name, configurePool, ServiceDescriptor.KeyedSingleton<IInstanceProvider>(name, (sp, _) => factory(sp)));
    }

    private static IOnDemandExecutionBuilder AddNamedProvider(IOnDemandExecutionBuilder builder, string name, Action<OnDemandExecutionOptions>? configurePool, ServiceDescriptor provider)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (string.IsNullOrEmpty(name) || !ProviderNamePattern().IsMatch(name) || name == ProviderPools.DefaultName)
        {
            throw new ArgumentException(
                $"Provider name '{name}' is not valid: use 1 to 64 letters, digits, '.', '-' or '_', and not '{ProviderPools.DefaultName}' (the default provider is set with AddProvider<TProvider>()).",
                nameof(name));
        }

        var services = builder.Services;
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].ServiceType == typeof(IInstanceProvider) && services[i].IsKeyedService && Equals(services[i].ServiceKey, name))
            {
                services.RemoveAt(i); // registering a name again replaces its provider
            }
        }

        services.Add(provider);
        var options = services.AddOptions<OnDemandExecutionOptions>(name).ValidateOnStart();
        if (configurePool is not null)
        {
            options.Configure(configurePool);
        }

        if (!services.Any(d => d.ServiceType == typeof(NamedProviderRegistration) && d.ImplementationInstance is NamedProviderRegistration r && r.Name == name))
        {
            services.AddSingleton(new NamedProviderRegistration(name));
        }

        services.TryAddKeyedSingleton<PoolManager>(name, static (sp, key) =>
        {
            var poolName = (string)key!;
            return new PoolManager(
                sp.GetRequiredKeyedService<IInstanceProvider>(poolName),
                Options.Options.Create(sp.GetRequiredService<IOptionsMonitor<OnDemandExecutionOptions>>().Get(poolName)),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<OnDemandMetrics>(),
                sp.GetService<ILoggerFactory>(),
                sp.GetService<ChannelQualityPlacer>(),
                sp.GetService<PoolBackgroundScheduler>(),
                poolName);
        });
        services.TryAddKeyedSingleton<IInstancePoolManager>(name, static (sp, key) => OnDemandExecutionServiceCollectionExtensions.WithCatalog(sp, sp.GetRequiredKeyedService<PoolManager>(key)));
        return builder;
    }

    [GeneratedRegex(@"\A[A-Za-z0-9._-]{1,64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex ProviderNamePattern();
}
