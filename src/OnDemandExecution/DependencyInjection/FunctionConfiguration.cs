using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace OnDemandExecution.DependencyInjection;

/// <summary>
/// Reads the functions of a configuration section (<c>OnDemandExecution:Functions:{name}</c>) into definitions. Only
/// code that is data can come from configuration: an assembly (<c>Assembly</c> + <c>Handler</c>) or a program
/// (<c>Program</c>). A value that cannot be read fails with the key's full path; the definitions then go through the
/// same validation as functions registered in code (the catalog's, at start-up).
/// </summary>
internal static class FunctionConfiguration
{
    /// <summary>The child section of the functions.</summary>
    public const string SectionName = "Functions";

    private static readonly string[] Known =
    [
        "Assembly", "Handler", "Program", "Provider", "MemoryMb", "Timeout", "MaxConcurrency", "MaxQueueLength",
        "MaxPayloadBytes", "KeepAlive", "Capabilities", "Provisioned",
    ];

    [RequiresUnreferencedCode(AssemblyLoading.UnreferencedCodeMessage)]
    [RequiresDynamicCode(AssemblyLoading.DynamicCodeMessage)]
    public static IReadOnlyList<FunctionDefinition> Read(IConfiguration section)
    {
        var functions = new List<FunctionDefinition>();
        foreach (var function in section.GetSection(SectionName).GetChildren())
        {
            functions.Add(ReadFunction(function));
        }

        return functions;
    }

    [RequiresUnreferencedCode(AssemblyLoading.UnreferencedCodeMessage)]
    [RequiresDynamicCode(AssemblyLoading.DynamicCodeMessage)]
    private static FunctionDefinition ReadFunction(IConfigurationSection f)
    {
        foreach (var child in f.GetChildren())
        {
            if (!Known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                throw Error(child, $"is not a function setting (known: {string.Join(", ", Known)})");
            }
        }

        var assembly = f["Assembly"];
        var program = f["Program"];
        FunctionCode code = (assembly, program) switch
        {
            ({ Length: > 0 }, null) => new AssemblyFunctionCode(assembly, f["Handler"] is { Length: > 0 } handler ? handler : throw Error(f, "has an Assembly but no Handler (the handler's type name)")),
            (null, { Length: > 0 }) => new ProgramFunctionCode(program),
            (null, null) => throw Error(f, "needs its code: Assembly (with Handler) or Program"),
            _ => throw Error(f, "has both Assembly and Program; give one"),
        };

        return new FunctionDefinition(f.Key, code)
        {
            ProviderName = f["Provider"] is { Length: > 0 } provider ? provider : null,
            MemoryMb = Int(f, "MemoryMb"),
            Timeout = Time(f, "Timeout"),
            MaxConcurrency = Int(f, "MaxConcurrency"),
            MaxQueueLength = Int(f, "MaxQueueLength"),
            MaxPayloadBytes = Int(f, "MaxPayloadBytes"),
            KeepAlive = Time(f, "KeepAlive"),
            Capabilities = f.GetSection("Capabilities").GetChildren().Select(c => c.Value ?? throw Error(c, "is empty")).ToArray(),
            ProvisionedConcurrency = Provisioned(f.GetSection("Provisioned")),
        };
    }

    /// <summary>
    /// What a function's section says, as two strings: everything but its provisioned floor, and the floor (to tell a
    /// new deployment from a changed floor on a reload).
    /// </summary>
    public static Dictionary<string, (string Definition, string Floor)> Fingerprints(IConfiguration section) =>
        section.GetSection(SectionName).GetChildren().ToDictionary(
            f => f.Key,
            f =>
            {
                var pairs = f.AsEnumerable(makePathsRelative: true).Where(p => p.Value is not null).OrderBy(p => p.Key, StringComparer.OrdinalIgnoreCase).ToList();
                static bool IsFloor(string key) => key.StartsWith("Provisioned", StringComparison.OrdinalIgnoreCase);
                return (
                    string.Join('\n', pairs.Where(p => !IsFloor(p.Key)).Select(p => p.Key + "=" + p.Value)),
                    string.Join('\n', pairs.Where(p => IsFloor(p.Key)).Select(p => p.Key + "=" + p.Value)));
            },
            StringComparer.Ordinal);

    private static ProvisionedConcurrency? Provisioned(IConfigurationSection p)
    {
        if (!p.Exists())
        {
            return null;
        }

        var count = Int(p, "Count") ?? throw Error(p, "needs a Count");
        return new ProvisionedConcurrency(count)
        {
            Tenants = p.GetSection("Tenants").GetChildren().Select(t => new TenantId(t.Value ?? throw Error(t, "is empty"))).ToArray(),
            Schedule = p.GetSection("Schedule").GetChildren().Select(Window).ToArray(),
        };
    }

    private static ProvisionedWindow Window(IConfigurationSection w)
    {
        var start = TimeOnly.TryParse(w["Start"], CultureInfo.InvariantCulture, out var s) ? s : throw Error(w, "needs a Start time of day (HH:mm)");
        var end = TimeOnly.TryParse(w["End"], CultureInfo.InvariantCulture, out var e) ? e : throw Error(w, "needs an End time of day (HH:mm)");
        return new ProvisionedWindow(start, end)
        {
            Days = w.GetSection("Days").GetChildren()
                .Select(d => Enum.TryParse<DayOfWeek>(d.Value, ignoreCase: true, out var day) ? day : throw Error(d, $"'{d.Value}' is not a day of the week"))
                .ToArray(),
        };
    }

    private static int? Int(IConfigurationSection s, string key) => s[key] is not { } value ? null
        : int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n
        : throw Error(s.GetSection(key), $"'{value}' is not a whole number");

    private static TimeSpan? Time(IConfigurationSection s, string key) => s[key] is not { } value ? null
        : TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var t) ? t
        : throw Error(s.GetSection(key), $"'{value}' is not a time span (e.g. 00:00:30)");

    private static InvalidOperationException Error(IConfigurationSection at, string problem) =>
        new($"Configuration '{at.Path}' {problem}.");
}
