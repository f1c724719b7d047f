using System.Diagnostics.CodeAnalysis;

namespace OnDemandExecution;

/// <summary>The registered functions. Functions added through DI are registered at start-up; more can be added at run time.</summary>
public interface IFunctionCatalog
{
    /// <summary>Every registered function.</summary>
    IReadOnlyCollection<FunctionDefinition> Functions { get; }

    /// <summary>Looks a function up by name (ordinal, case-sensitive).</summary>
    /// <param name="name">The function's name.</param>
    /// <param name="definition">The definition, when found.</param>
    /// <returns>True when the function is registered.</returns>
    bool TryGetFunction(string name, [NotNullWhen(true)] out FunctionDefinition? definition);

    /// <summary>Registers a function at run time (a deployment).</summary>
    /// <param name="definition">The definition.</param>
    /// <exception cref="ArgumentException">A function of that name exists, or the provider cannot load its code, or a limit is out of range.</exception>
    void Register(FunctionDefinition definition);
}
