using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace OnDemandExecution.InProcess;

/// <summary>
/// Checks an assembly function's file at registration (so at host start), without loading it: the file exists, is a
/// .NET assembly, and defines the public handler type. Whether the type implements the handler interface is checked
/// when an instance loads it.
/// </summary>
internal static class AssemblyFunctionFiles
{
    /// <summary>Null when the file and type look right, else what is wrong (for an error message).</summary>
    public static string? Check(AssemblyFunctionCode code)
    {
        var path = Path.GetFullPath(code.AssemblyPath);
        if (!File.Exists(path))
        {
            return $"assembly '{path}' does not exist";
        }

        try
        {
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata)
            {
                return $"'{path}' is not a .NET assembly";
            }

            var reader = pe.GetMetadataReader();
            if (!reader.IsAssembly)
            {
                return $"'{path}' is not a .NET assembly";
            }

            return DefinesPublicType(reader, code.HandlerTypeName)
                ? null
                : $"assembly '{path}' defines no public type '{code.HandlerTypeName}'";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or BadImageFormatException)
        {
            return $"assembly '{path}' cannot be read: {ex.Message}";
        }
    }

    private static bool DefinesPublicType(MetadataReader reader, string fullName)
    {
        // Nested types ("Outer+Inner") are public through their outer type; check the outer one.
        var plus = fullName.IndexOf('+', StringComparison.Ordinal);
        var topLevel = plus < 0 ? fullName : fullName[..plus];
        var dot = topLevel.LastIndexOf('.');
        var ns = dot < 0 ? string.Empty : topLevel[..dot];
        var name = dot < 0 ? topLevel : topLevel[(dot + 1)..];
        foreach (var handle in reader.TypeDefinitions)
        {
            var type = reader.GetTypeDefinition(handle);
            if ((type.Attributes & TypeAttributes.VisibilityMask) == TypeAttributes.Public
                && reader.StringComparer.Equals(type.Name, name)
                && reader.StringComparer.Equals(type.Namespace, ns))
            {
                return true;
            }
        }

        return false;
    }
}
