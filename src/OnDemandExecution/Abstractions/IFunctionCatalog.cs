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

    /// <summary>
    /// Replaces a registered function with a new definition (a new deployment of it), validated as
    /// <see cref="Register"/> validates. Calls in flight finish on the old code; no instance loaded with the old code
    /// serves another call (idle ones are retired now, busy ones when their call ends); new calls get the new code,
    /// limits and provider.
    /// </summary>
    /// <param name="definition">The new definition; its name says which function it replaces.</param>
    /// <exception cref="ArgumentException">No function of that name is registered, or the new definition is invalid.</exception>
    /// <exception cref="NotSupportedException">This catalog cannot change at run time.</exception>
    void Replace(FunctionDefinition definition) => throw new NotSupportedException($"{GetType().Name} cannot replace functions.");

    /// <summary>
    /// Removes a function: new calls fail with <see cref="FunctionNotFoundException"/>; calls in flight finish; its
    /// instances are retired (idle ones now, busy ones when their call ends) and its provisioned floor is dropped.
    /// </summary>
    /// <param name="name">The function's name.</param>
    /// <returns>True when it was registered.</returns>
    /// <exception cref="NotSupportedException">This catalog cannot change at run time.</exception>
    bool Remove(string name) => throw new NotSupportedException($"{GetType().Name} cannot remove functions.");
}
