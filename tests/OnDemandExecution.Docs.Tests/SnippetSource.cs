using System.Text;
using System.Text.RegularExpressions;

namespace OnDemandExecution.Docs.Tests;

/// <summary>
/// Turns a snippet into a C# file of the generated project, as it would compile in a console app of its own:
/// its using directives at the top, its top-level statements in a method (so that every snippet can live in one
/// project), its type declarations after. <c>#line</c> directives map every line back to the Markdown file, so a
/// compiler error names the doc file and line.
/// </summary>
public static partial class SnippetSource
{
    /// <summary>The generated file for snippet <paramref name="id"/>; <paramref name="hasStatements"/> says whether it has a RunAsync to call.</summary>
    public static string Generate(DocSnippet snippet, string id, string docPath, out bool hasStatements)
    {
        var lines = snippet.Lines;
        var usingsEnd = 0; // lines [0, usingsEnd) are using directives, comments and blank lines
        while (usingsEnd < lines.Count && (UsingDirective().IsMatch(lines[usingsEnd]) || IsTrivia(lines[usingsEnd])))
        {
            usingsEnd++;
        }

        var typesStart = lines.Count;
        for (var i = usingsEnd; i < lines.Count; i++)
        {
            if (TypeDeclaration().IsMatch(lines[i]) || NamespaceDeclaration().IsMatch(lines[i]))
            {
                typesStart = i;
                // Attributes and doc comments right above belong to the declaration.
                while (typesStart > usingsEnd && (lines[typesStart - 1].StartsWith('[') || lines[typesStart - 1].StartsWith("///", StringComparison.Ordinal)))
                {
                    typesStart--;
                }

                break;
            }
        }

        hasStatements = Enumerable.Range(usingsEnd, typesStart - usingsEnd).Any(i => !IsTrivia(lines[i]));
        var ownNamespace = lines.Any(l => NamespaceDeclaration().IsMatch(l));
        var file = Escape(docPath);
        var sb = new StringBuilder();
        sb.AppendLine("// Generated from " + snippet.Name).AppendLine("#nullable enable");
        Emit(sb, lines, 0, usingsEnd, snippet.FirstCodeLine, file);
        if (ownNamespace)
        {
            Emit(sb, lines, usingsEnd, lines.Count, snippet.FirstCodeLine, file);
            return sb.ToString();
        }

        sb.AppendLine($"namespace DocSnippets.{id}").AppendLine("{");
        if (hasStatements)
        {
            sb.AppendLine("internal static class Snippet").AppendLine("{")
              .AppendLine("public static async global::System.Threading.Tasks.Task RunAsync(string[] args)").AppendLine("{");
            Emit(sb, lines, usingsEnd, typesStart, snippet.FirstCodeLine, file);
            sb.AppendLine("await global::System.Threading.Tasks.Task.CompletedTask;").AppendLine("}").AppendLine("}");
        }

        Emit(sb, lines, typesStart, lines.Count, snippet.FirstCodeLine, file);
        sb.AppendLine("}");
        return sb.ToString();
    }

    private static void Emit(StringBuilder sb, IReadOnlyList<string> lines, int from, int to, int firstLine, string file)
    {
        if (from >= to)
        {
            return;
        }

        sb.AppendLine($"#line {firstLine + from} \"{file}\"");
        for (var i = from; i < to; i++)
        {
            sb.AppendLine(lines[i]);
        }

        sb.AppendLine("#line default");
    }

    private static bool IsTrivia(string line) => string.IsNullOrWhiteSpace(line) || line.TrimStart().StartsWith("//", StringComparison.Ordinal);

    private static string Escape(string path) => path.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    [GeneratedRegex(@"^using\s+(static\s+)?[\w.]+(\s*=\s*[\w.<>, ]+)?;\s*(//.*)?$")]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"^((public|internal|private|protected|sealed|static|abstract|partial|readonly|file|unsafe|ref)\s+)*(class|record|struct|interface|enum|delegate)\s")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"^namespace\s+[\w.]+\s*;?\s*$")]
    private static partial Regex NamespaceDeclaration();
}
