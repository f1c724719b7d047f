using Microsoft.Extensions.DependencyInjection;

namespace OnDemandExecution;

/// <summary>Configures OnDemandExecution after <c>services.AddOnDemandExecution(...)</c>; its methods are extension methods.</summary>
public interface IOnDemandExecutionBuilder
{
    /// <summary>The service collection being configured.</summary>
    IServiceCollection Services { get; }
}

/// <summary>The builder returned by <c>AddOnDemandExecution</c>.</summary>
internal sealed record OnDemandExecutionBuilder(IServiceCollection Services) : IOnDemandExecutionBuilder;
