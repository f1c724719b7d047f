using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.Kvm;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the KVM provider to OnDemandExecution.</summary>
public static class KvmOnDemandExecutionBuilderExtensions
{
    /// <summary>
    /// Runs instances as QEMU microvms (KVM when usable, TCG otherwise) instead of in-process. The options are validated
    /// when the host starts: QEMU must be found and the kernel and initramfs must exist (build them with
    /// <c>tools/build-guest-image.sh</c>).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets <see cref="KvmProviderOptions"/>: at least the kernel and initramfs paths.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder AddKvmProvider(this IOnDemandExecutionBuilder builder, Action<KvmProviderOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<KvmProviderOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KvmProviderOptions>, KvmProviderOptionsValidator>());
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<KvmInstanceProvider>();
        return builder.AddProvider(sp => sp.GetRequiredService<KvmInstanceProvider>());
    }

    /// <summary>
    /// Adds QEMU microvms as a provider named <paramref name="name"/>, beside the default provider (for example
    /// in-process for trusted code and KVM for tenant code): functions whose <see cref="FunctionDefinition.ProviderName"/>
    /// is <paramref name="name"/> run in guests, with pools of their own. One KVM configuration per host.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The provider's name (see <c>AddProvider&lt;TProvider&gt;(name)</c>).</param>
    /// <param name="configure">Sets <see cref="KvmProviderOptions"/>: at least the kernel and initramfs paths.</param>
    /// <param name="configurePool">Configures this provider's pools (the <see cref="OnDemandExecutionOptions"/> named <paramref name="name"/>).</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder AddKvmProvider(this IOnDemandExecutionBuilder builder, string name, Action<KvmProviderOptions> configure, Action<OnDemandExecutionOptions>? configurePool = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<KvmProviderOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KvmProviderOptions>, KvmProviderOptionsValidator>());
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<KvmInstanceProvider>();
        return builder.AddProvider(name, sp => sp.GetRequiredService<KvmInstanceProvider>(), configurePool);
    }
}
