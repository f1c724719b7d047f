using System.Globalization;
using System.Text;

namespace OnDemandExecution.Simulation;

/// <summary>Minimal CSV reading and writing for the trace formats (commas, optional double quotes, a header row).</summary>
internal static class Csv
{
    public static List<string> Split(string line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }

        fields.Add(field.ToString().TrimEnd('\r'));
        return fields;
    }

    public static string Escape(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    public static Dictionary<string, int> Header(string? line, string path, params string[] required)
    {
        if (line is null)
        {
            throw new FormatException($"{path}: the file is empty; a header row is required.");
        }

        var columns = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var names = Split(line);
        for (var i = 0; i < names.Count; i++)
        {
            columns.TryAdd(names[i].Trim(), i);
        }

        foreach (var name in required)
        {
            if (!columns.ContainsKey(name))
            {
                throw new FormatException($"{path}: the header has no '{name}' column (it has: {string.Join(", ", names)}).");
            }
        }

        return columns;
    }

    public static double Number(List<string> fields, int column, string path, int lineNumber, string name)
    {
        if (column >= fields.Count || !double.TryParse(fields[column], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsNaN(value) || double.IsInfinity(value))
        {
            throw new FormatException($"{path}:{lineNumber}: '{name}' is not a number ('{(column < fields.Count ? fields[column] : string.Empty)}').");
        }

        return value;
    }

    public static string Format(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}
