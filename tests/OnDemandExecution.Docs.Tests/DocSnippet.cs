using System.Text.RegularExpressions;

namespace OnDemandExecution.Docs.Tests;

/// <summary>One ```csharp block of a Markdown file.</summary>
/// <param name="File">The Markdown file, relative to the repository root, with forward slashes.</param>
/// <param name="Line">The 1-based line of the opening fence.</param>
/// <param name="Lines">The code, one entry per line.</param>
/// <param name="NoRun">The fence says <c>csharp no-run</c>: compiled, never run (it needs a machine or a platform the tests lack).</param>
public sealed partial record DocSnippet(string File, int Line, IReadOnlyList<string> Lines, bool NoRun)
{
    /// <summary>The line of the first code line.</summary>
    public int FirstCodeLine => Line + 1;

    /// <summary>The line of the last code line.</summary>
    public int LastCodeLine => Line + Lines.Count;

    /// <summary>A stable identifier for the generated code (S0, S1, ...) is given by position; this names it for people.</summary>
    public string Name => $"{File}:{Line}";

    /// <summary>Packages the snippet asks for in a <c>// dotnet add package X</c> comment.</summary>
    public IEnumerable<string> Packages => Lines.Select(l => AddPackage().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value);

    /// <summary>Every ```csharp block of README.md, docs/**/*.md and src/*/PACKAGE.md.</summary>
    public static IReadOnlyList<DocSnippet> FindAll(string repoRoot)
    {
        var files = new List<string> { Path.Combine(repoRoot, "README.md") };
        files.AddRange(Directory.EnumerateFiles(Path.Combine(repoRoot, "docs"), "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
        files.AddRange(Directory.EnumerateFiles(Path.Combine(repoRoot, "src"), "PACKAGE.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
        var snippets = new List<DocSnippet>();
        foreach (var path in files)
        {
            var relative = Path.GetRelativePath(repoRoot, path).Replace('\\', '/');
            var lines = System.IO.File.ReadAllLines(path);
            for (var i = 0; i < lines.Length; i++)
            {
                var fence = Fence().Match(lines[i]);
                if (!fence.Success)
                {
                    continue;
                }

                var code = new List<string>();
                var j = i + 1;
                for (; j < lines.Length && !lines[j].StartsWith("```", StringComparison.Ordinal); j++)
                {
                    code.Add(lines[j]);
                }

                snippets.Add(new DocSnippet(relative, i + 1, code, fence.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("no-run")));
                i = j;
            }
        }

        return snippets;
    }

    [GeneratedRegex(@"^```csharp(?:\s+(.*))?$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"//\s*dotnet add package ([A-Za-z0-9_.\-]+)")]
    private static partial Regex AddPackage();
}
