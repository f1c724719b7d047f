using System.Globalization;

namespace TraceReplay;

/// <summary>"--name value" pairs from the command line.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public int Seed => int.Parse(Get("--seed") ?? "42", CultureInfo.InvariantCulture);

    public static Arguments Parse(string[] args)
    {
        var result = new Arguments();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected '--name value' pairs; '{args[i]}' has no value. See the comment at the top of Program.cs.");
            }

            result._values[args[i]] = args[++i];
        }

        return result;
    }

    public string? Get(string name) => _values.TryGetValue(name, out var value) ? value : null;
}
