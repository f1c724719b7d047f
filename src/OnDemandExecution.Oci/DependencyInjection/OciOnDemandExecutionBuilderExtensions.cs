using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.Oci;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the OCI container provider to OnDemandExecution.</summary>
public static class OciOnDemandExecutionBuilderExtensions
{
    /// <summary>
    /// Runs instances as OCI containers managed by runc (or another OCI runtime) instead of in-process. The options
    /// are validated when the host starts: the runtime must be found, the process must run as root and the bundle must
    /// exist (build one with <c>tools/build-oci-bundle.sh</c>).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets <see cref="OciProviderOptions"/>: at least <see cref="OciProviderOptions.BundlePath"/>.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder AddOciProvider(this IOnDemandExecutionBuilder builder, Action<OciProviderOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<OciProviderOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OciProviderOptions>, OciProviderOptionsValidator>());
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<OciInstanceProvider>();
        return builder.AddProvider(sp => sp.GetRequiredService<OciInstanceProvider>());
    }
}
