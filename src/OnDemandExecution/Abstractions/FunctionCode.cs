using System.Diagnostics.CodeAnalysis;

namespace OnDemandExecution;

/// <summary>
/// Where a function's code comes from. Each <see cref="IInstanceProvider"/> says which kinds it can load
/// (<see cref="IInstanceProvider.CanLoad(FunctionCode)"/>); third-party providers may define their own kinds
/// by deriving from this type (for example an OCI image reference or a WebAssembly module).
/// </summary>
public abstract record FunctionCode
{
    /// <summary>A short, stable name of this kind of code (used in logs and error messages).</summary>
    public abstract string Kind { get; }
}

/// <summary>A function registered in code as a delegate. Loaded by the in-process provider.</summary>
/// <param name="Handler">The handler invoked for each request.</param>
public sealed record DelegateFunctionCode(FunctionHandler Handler) : FunctionCode
{
    /// <inheritdoc/>
    public override string Kind => "delegate";
}

/// <summary>
/// A function implemented by a type that implements <see cref="IFunctionHandler"/>, created through the
/// application's service provider (constructor injection) once per instance. Loaded by the in-process provider.
/// </summary>
/// <param name="HandlerType">A concrete type implementing <see cref="IFunctionHandler"/>.</param>
public sealed record HandlerTypeFunctionCode(
    [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)]
    [property: DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)]
    Type HandlerType) : FunctionCode
{
    /// <inheritdoc/>
    public override string Kind => "handler-type";
}

/// <summary>
/// A function shipped as a .NET assembly: the in-process provider loads it into a collectible
/// <see cref="System.Runtime.Loader.AssemblyLoadContext"/> per instance and unloads it on recycle.
/// </summary>
/// <param name="AssemblyPath">Full path of the assembly file (its dependencies are resolved beside it via its .deps.json).</param>
/// <param name="HandlerTypeName">Full name of a public type in that assembly that implements <see cref="IFunctionHandler"/> and has a parameterless constructor.</param>
/// <remarks>
/// Loading code at run time is incompatible with trimming (the loaded assembly may need what the trimmer removed) and
/// with native AOT (there is no JIT to run it): creating this code says so to the trim and AOT analyzers.
/// </remarks>
[RequiresUnreferencedCode(AssemblyLoading.UnreferencedCodeMessage)]
[RequiresDynamicCode(AssemblyLoading.DynamicCodeMessage)]
public sealed record AssemblyFunctionCode(string AssemblyPath, string HandlerTypeName) : FunctionCode
{
    /// <inheritdoc/>
    public override string Kind => "assembly";
}

/// <summary>
/// A function shipped as a program for a sandbox that runs processes (KVM and Hyper-V guests): the guest
/// agent runs <paramref name="Command"/>, writes the payload to its standard input and returns its standard output.
/// </summary>
/// <param name="Command">The program (or shell command) to run inside the instance.</param>
/// <param name="Files">Files to place in the instance before the first call, keyed by path inside the instance.</param>
public sealed record ProgramFunctionCode(string Command, IReadOnlyDictionary<string, byte[]>? Files = null) : FunctionCode
{
    /// <inheritdoc/>
    public override string Kind => "program";
}

/// <summary>The messages of the trim and AOT attributes on the APIs that load assemblies at run time.</summary>
internal static class AssemblyLoading
{
    public const string UnreferencedCodeMessage = "Assembly functions are loaded at run time: the code they use may have been trimmed away. Use delegate or handler-type functions in trimmed applications.";

    public const string DynamicCodeMessage = "Assembly functions are loaded at run time, which native AOT cannot run. Use delegate or handler-type functions in AOT applications.";
}
