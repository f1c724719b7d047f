using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.DependencyInjection;
using OnDemandExecution.Placement;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the channel-quality placer: instances chosen by their channel to the auxiliary services a function is likely to use.</summary>
public static class ChannelQualityPlacementBuilderExtensions
{
    /// <summary>
    /// Adds the channel-quality placer: task profiles (declared in <see cref="FunctionDefinition.TaskProfile"/> and
    /// learned from reported auxiliary calls), background channel probes (<see cref="TcpConnectProbe"/>,
    /// <see cref="HttpProbe"/>, and any other <see cref="IChannelQualityProbe"/> registered), and placement inside
    /// acquire for functions whose likelihood for an endpoint reaches the threshold. Other functions are unaffected.
    /// Calling it twice is harmless (the options configurations add up).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="ChannelQualityPlacementOptions"/>; validated when the host starts.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder AddChannelQualityPlacement(this IOnDemandExecutionBuilder builder, Action<ChannelQualityPlacementOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<ChannelQualityPlacementOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ChannelQualityPlacementOptions>, ChannelQualityPlacementOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IChannelQualityProbe, TcpConnectProbe>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IChannelQualityProbe, HttpProbe>());
        // The pools take the placer and the catalog takes the pools: the placer reads the catalog on first use instead.
        services.TryAddSingleton(static sp => new ChannelQualityPlacer(
            sp.GetRequiredService<IOptions<ChannelQualityPlacementOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<OnDemandExecution.Diagnostics.OnDemandMetrics>(),
            sp.GetServices<IChannelQualityProbe>(),
            new OnDemandExecution.Execution.DeferredFunctionCatalog(sp),
            sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()));
        services.TryAddSingleton<IAuxiliaryCallSink>(sp => sp.GetRequiredService<ChannelQualityPlacer>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IInvocationObserver, PlacerInvocationObserver>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ChannelProbeService>());
        return builder;
    }
}
