using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OnDemandExecution;
using OnDemandExecution.InProcess;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds functions and providers to OnDemandExecution.</summary>
public static partial class OnDemandExecutionBuilderExtensions
{
    /// <summary>Uses the in-process provider (the default): no isolation, instances are contexts in this process.</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder AddInProcessProvider(this IOnDemandExecutionBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IInstanceProvider, InProcessInstanceProvider>());
        return builder;
    }

    /// <summary>Uses a custom provider as the default provider instead of the in-process one (more providers: <c>AddProvider&lt;TProvider&gt;(name)</c>).</summary>
    /// <typeparam name="TProvider">The provider type, created by DI as a singleton.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder AddProvider<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TProvider>(this IOnDemandExecutionBuilder builder)
        where TProvider : class, IInstanceProvider
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IInstanceProvider, TProvider>());
        return builder;
    }

    /// <summary>Uses a custom provider built by a factory instead of the in-process one.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the provider (once).</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder AddProvider(this IOnDemandExecutionBuilder builder, Func<IServiceProvider, IInstanceProvider> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.Replace(ServiceDescriptor.Singleton(factory));
        return builder;
    }

    /// <summary>Uses a keep-alive policy instead of the default <see cref="FixedKeepAlivePolicy"/>.</summary>
    /// <typeparam name="TPolicy">The policy type, created by DI as a singleton.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseKeepAlivePolicy<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TPolicy>(this IOnDemandExecutionBuilder builder)
        where TPolicy : class, IKeepAlivePolicy
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IKeepAlivePolicy, TPolicy>());
        return builder;
    }

    /// <summary>Uses a keep-alive policy built by a factory instead of the default <see cref="FixedKeepAlivePolicy"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the policy (once).</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder UseKeepAlivePolicy(this IOnDemandExecutionBuilder builder, Func<IServiceProvider, IKeepAlivePolicy> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.Replace(ServiceDescriptor.Singleton(factory));
        return builder;
    }

    /// <summary>Registers a function.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="function">The definition; checked when the host starts.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder AddFunction(this IOnDemandExecutionBuilder builder, FunctionDefinition function)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(function);
        builder.Services.AddSingleton(function);
        return builder;
    }

    /// <summary>Registers a function implemented by a delegate.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The function's unique name.</param>
    /// <param name="handler">The handler.</param>
    /// <param name="configure">Sets limits, for example <c>f =&gt; f with { Timeout = TimeSpan.FromSeconds(5) }</c>.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder AddFunction(this IOnDemandExecutionBuilder builder, string name, FunctionHandler handler, Func<FunctionDefinition, FunctionDefinition>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return builder.AddFunction(Configure(new FunctionDefinition(name, new DelegateFunctionCode(handler)), configure));
    }

    /// <summary>Registers a function implemented by a type, created through DI once per instance.</summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The function's unique name.</param>
    /// <param name="configure">Sets limits, for example <c>f =&gt; f with { MaxConcurrency = 4 }</c>.</param>
    /// <returns>The builder.</returns>
    public static IOnDemandExecutionBuilder AddFunction<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(this IOnDemandExecutionBuilder builder, string name, Func<FunctionDefinition, FunctionDefinition>? configure = null)
        where THandler : class, IFunctionHandler
        => builder.AddFunction(Configure(new FunctionDefinition(name, new HandlerTypeFunctionCode(typeof(THandler))), configure));

    /// <summary>Registers a function shipped as a .NET assembly, loaded into a collectible load context per instance.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The function's unique name.</param>
    /// <param name="assemblyPath">The assembly's path.</param>
    /// <param name="handlerTypeName">The full name of the type implementing <see cref="IFunctionHandler"/>.</param>
    /// <param name="configure">Sets limits.</param>
    /// <returns>The builder.</returns>
    [RequiresUnreferencedCode(AssemblyLoading.UnreferencedCodeMessage)]
    [RequiresDynamicCode(AssemblyLoading.DynamicCodeMessage)]
    public static IOnDemandExecutionBuilder AddAssemblyFunction(this IOnDemandExecutionBuilder builder, string name, string assemblyPath, string handlerTypeName, Func<FunctionDefinition, FunctionDefinition>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(assemblyPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(handlerTypeName);
        return builder.AddFunction(Configure(new FunctionDefinition(name, new AssemblyFunctionCode(assemblyPath, handlerTypeName)), configure));
    }

    private static FunctionDefinition Configure(FunctionDefinition function, Func<FunctionDefinition, FunctionDefinition>? configure) =>
        configure is null ? function : configure(function) ?? throw new InvalidOperationException("The configure callback returned null.");
}
