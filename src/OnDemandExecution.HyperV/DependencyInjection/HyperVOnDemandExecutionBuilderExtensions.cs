using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.HyperV;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the Hyper-V provider to OnDemandExecution.</summary>
public static class HyperVOnDemandExecutionBuilderExtensions
{
    /// <summary>
    /// Runs instances as Hyper-V compute systems (Host Compute Service) instead of in-process. The options are
    /// validated when the host starts: this must be Windows with Hyper-V, and the guest image must exist; on any other
    /// OS the host fails to start with an <see cref="OptionsValidationException"/> that says so.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets <see cref="HyperVProviderOptions"/>: at least the guest image.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder AddHyperVProvider(this IOnDemandExecutionBuilder builder, Action<HyperVProviderOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<HyperVProviderOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HyperVProviderOptions>, HyperVProviderOptionsValidator>());
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<HyperVInstanceProvider>();
        return builder.AddProvider(sp => sp.GetRequiredService<HyperVInstanceProvider>());
    }
}
