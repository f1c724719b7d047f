namespace OnDemandExecution.Docs.Tests;

/// <summary>One test per snippet: it compiles against the packed packages, and a complete program runs and exits 0.</summary>
public class DocSnippetTests(DocsBuild build) : IClassFixture<DocsBuild>
{
    /// <summary>Snippets, named by file and line (read at discovery, so each is its own test case).</summary>
    public static TheoryData<string, int> Snippets()
    {
        var data = new TheoryData<string, int>();
        foreach (var s in DocSnippet.FindAll(DocsBuild.FindRepoRoot()))
        {
            data.Add(s.File, s.Line);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void Snippet_CompilesFromThePackages_AndRunsWhenItIsAProgram(string file, int line)
    {
        if (build.SetupFailure is { } failure)
        {
            Assert.Fail(failure); // the whole message: xunit's Assert.Null would cut it
        }

        var snippet = Assert.Single(build.Snippets, s => s.File == file && s.Line == line);
        var errors = build.Errors.Where(e => e.File == file && e.Line >= snippet.FirstCodeLine && e.Line <= snippet.LastCodeLine).ToList();
        Assert.True(errors.Count == 0, $"The snippet at {file}:{line} does not compile:\n" + string.Join('\n', errors.Select(e => $"  {e.File}:{e.Line}: {e.Message}")));
        var unmapped = build.Errors.Where(e => !build.Snippets.Any(s => s.File == e.File && e.Line >= s.FirstCodeLine && e.Line <= s.LastCodeLine)).ToList();
        Assert.True(unmapped.Count == 0, "The snippets' project has errors outside any snippet:\n" + string.Join('\n', unmapped.Select(e => $"  {e.File}:{e.Line}: {e.Message}")));
        if (build.Errors.Count > 0 || !build.Runnable.TryGetValue(snippet, out var id))
        {
            return; // another snippet broke the build, so nothing can run; or this one is not a program (or says no-run)
        }

        var workDir = Directory.CreateTempSubdirectory("odx-snippet-").FullName;
        try
        {
            var dll = Path.Combine(build.ProjectDir, "bin", "Release", "net10.0", "DocSnippets.dll");
            var (exitCode, output) = DocsBuild.Run("dotnet", [dll, id], workDir, TimeSpan.FromMinutes(2));
            Assert.True(exitCode == 0, $"The program at {file}:{line} exited with {exitCode}:\n{output}");
        }
        finally
        {
            Directory.Delete(workDir, recursive: true);
        }
    }

    [Fact]
    public void Docs_HaveSnippets_AndEveryRunnableOneIsAProgram()
    {
        Assert.NotEmpty(build.Snippets);
        Assert.Contains(build.Snippets, s => s.File == "README.md");
        Assert.NotEmpty(build.Runnable);
    }
}
