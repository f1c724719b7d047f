using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.Loader;

namespace OnDemandExecution.InProcess;

/// <summary>
/// A collectible load context for one instance's function assembly. The function's own dependencies resolve beside it
/// (through its .deps.json); the contract assembly (OnDemandExecution) and the framework always come from the default
/// context so that the handler's <see cref="IFunctionHandler"/> is the host's.
/// </summary>
internal sealed class FunctionLoadContext : AssemblyLoadContext
{
    private static readonly string ContractAssemblyName = typeof(IFunctionHandler).Assembly.GetName().Name!;
    private readonly AssemblyDependencyResolver _resolver;

    public FunctionLoadContext(string name, string assemblyPath)
        : base(name, isCollectible: true)
    {
        _resolver = new AssemblyDependencyResolver(assemblyPath);
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Created only for AssemblyFunctionCode, whose constructor requires unreferenced code.")]
    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (string.Equals(assemblyName.Name, ContractAssemblyName, StringComparison.Ordinal))
        {
            return null; // shared with the host
        }

        var path = _resolver.ResolveAssemblyToPath(assemblyName);
        return path is null ? null : LoadFromAssemblyPath(path);
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        var path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
        return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
    }
}
