using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;

namespace OnDemandExecution.Execution;

/// <summary>
/// The catalog, resolved on first use: for services the pools depend on (the placer) and that read the catalog only
/// later, since the catalog itself depends on the pools (it checks each function against its provider's pool).
/// </summary>
internal sealed class DeferredFunctionCatalog(IServiceProvider services) : IFunctionCatalog
{
    private IFunctionCatalog? _catalog;

    private IFunctionCatalog Catalog => _catalog ??= services.GetRequiredService<IFunctionCatalog>();

    public IReadOnlyCollection<FunctionDefinition> Functions => Catalog.Functions;

    public bool TryGetFunction(string name, [NotNullWhen(true)] out FunctionDefinition? definition) => Catalog.TryGetFunction(name, out definition);

    public void Register(FunctionDefinition definition) => Catalog.Register(definition);
}
