using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace OnDemandExecution.Docs.Tests;

/// <summary>
/// Packs the libraries once into a temporary feed (a version unique to this run, so the NuGet cache never serves an
/// older build), generates one console project with every snippet, restores it from that feed plus the repository's
/// own package sources, and builds it once. Every test then reads its snippet's errors from that one build.
/// </summary>
public sealed partial class DocsBuild : IDisposable
{
    private static readonly TimeSpan ProcessHangGuard = TimeSpan.FromMinutes(15);

    public DocsBuild()
    {
        RepoRoot = FindRepoRoot();
        Snippets = DocSnippet.FindAll(RepoRoot);
        Version = $"0.0.0-docs.{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.{Environment.ProcessId}";
        WorkDir = Directory.CreateTempSubdirectory("odx-docs-").FullName;
        try
        {
            Build();
        }
        catch (Exception ex)
        {
            SetupFailure = ex.ToString();
        }
    }

    public string RepoRoot { get; }

    public IReadOnlyList<DocSnippet> Snippets { get; }

    public string Version { get; }

    public string WorkDir { get; }

    /// <summary>Why packing, generating or restoring failed (then no snippet can be judged).</summary>
    public string? SetupFailure { get; private set; }

    /// <summary>The whole build output, for messages.</summary>
    public string BuildOutput { get; private set; } = string.Empty;

    /// <summary>Compiler errors, by Markdown file (relative path) and line.</summary>
    public IReadOnlyList<(string File, int Line, string Message)> Errors { get; private set; } = [];

    /// <summary>The generated id of each snippet that has top-level statements and may run.</summary>
    public IReadOnlyDictionary<DocSnippet, string> Runnable { get; private set; } = new Dictionary<DocSnippet, string>();

    public string ProjectDir => Path.Combine(WorkDir, "DocSnippets");

    public static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OnDemandExecution.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("OnDemandExecution.slnx not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs a process; returns its exit code and its output (stdout and stderr interleaved).</summary>
    public static (int ExitCode, string Output) Run(string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan hangGuard)
    {
        var start = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(hangGuard))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            lock (output)
            {
                return (-1, output + $"\n(stopped: still running after {hangGuard})");
            }
        }

        process.WaitForExit();
        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(WorkDir, recursive: true);
        }
        catch (IOException)
        {
        }

        // This run's packages in the global packages folder are never used again.
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        if (Directory.Exists(cache))
        {
            foreach (var dir in Directory.EnumerateDirectories(cache, "ondemandexecution*"))
            {
                var mine = Path.Combine(dir, Version);
                if (Directory.Exists(mine))
                {
                    try
                    {
                        Directory.Delete(mine, recursive: true);
                    }
                    catch (IOException)
                    {
                    }
                }
            }
        }
    }

    private void Build()
    {
        var feed = Path.Combine(WorkDir, "feed");
        var packed = PackLibraries(feed);
        Generate(packed, feed);
        var (code, output) = Run("dotnet", ["build", ProjectDir, "-c", "Release", "-nologo", "-clp:NoSummary"], WorkDir, ProcessHangGuard);
        BuildOutput = output;
        var errors = new List<(string, int, string)>();
        foreach (Match m in CompilerError().Matches(output))
        {
            var file = m.Groups["file"].Value;
            var relative = Path.IsPathRooted(file) && file.StartsWith(RepoRoot, StringComparison.Ordinal)
                ? Path.GetRelativePath(RepoRoot, file).Replace('\\', '/')
                : file;
            errors.Add((relative, int.Parse(m.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture), m.Groups["message"].Value.Trim()));
        }

        Errors = errors.Distinct().ToList();
        if (code != 0 && Errors.Count == 0)
        {
            SetupFailure = "The snippets' project failed to build without a compiler error (restore?):\n" + output;
        }
    }

    /// <summary>Packs every packable project under src/ with this run's version, in one build; returns the package ids.</summary>
    private List<string> PackLibraries(string feed)
    {
        var projects = Directory.EnumerateFiles(Path.Combine(RepoRoot, "src"), "*.csproj", SearchOption.AllDirectories)
            .Where(p => !File.ReadAllText(p).Contains("<IsPackable>false</IsPackable>", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();

        // One solution of the packable projects: one MSBuild run packs them all (the shared core is built once).
        var solution = Path.Combine(WorkDir, "packages.slnx");
        File.WriteAllText(solution, "<Solution>\n" + string.Concat(projects.Select(p =>
            $"  <Project Path=\"{Path.GetRelativePath(WorkDir, p).Replace('\\', '/')}\" />\n")) + "</Solution>\n");
        var (code, output) = Run("dotnet", ["pack", solution, "-c", "Release", "-o", feed, "-nologo", $"-p:PackageVersion={Version}"], RepoRoot, ProcessHangGuard);
        if (code != 0)
        {
            throw new InvalidOperationException($"dotnet pack of {string.Join(", ", projects)} failed:\n{output}");
        }

        return projects.Select(Path.GetFileNameWithoutExtension).ToList()!;
    }

    private void Generate(List<string> packed, string feed)
    {
        Directory.CreateDirectory(ProjectDir);
        var pins = XDocument.Load(Path.Combine(RepoRoot, "Directory.Packages.props")).Descendants("PackageVersion")
            .ToDictionary(e => (string)e.Attribute("Include")!, e => (string)e.Attribute("Version")!, StringComparer.OrdinalIgnoreCase);
        var packages = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var id in packed)
        {
            packages[id] = Version;
        }

        foreach (var name in Snippets.SelectMany(s => s.Packages).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (!packages.ContainsKey(name))
            {
                packages[name] = pins.TryGetValue(name, out var v)
                    ? v
                    : throw new InvalidOperationException($"A snippet asks for package '{name}', which Directory.Packages.props does not pin.");
            }
        }

        // Every snippet's generated file; Program.cs runs one by id.
        var runnable = new Dictionary<DocSnippet, string>();
        var dispatch = new StringBuilder();
        for (var i = 0; i < Snippets.Count; i++)
        {
            var snippet = Snippets[i];
            var id = "S" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var source = SnippetSource.Generate(snippet, id, Path.Combine(RepoRoot, snippet.File), out var hasStatements);
            File.WriteAllText(Path.Combine(ProjectDir, id + ".cs"), source);
            if (hasStatements)
            {
                dispatch.AppendLine($"    case \"{id}\": await DocSnippets.{id}.Snippet.RunAsync(args[1..]); return 0;");
                if (!snippet.NoRun)
                {
                    runnable[snippet] = id;
                }
            }
        }

        Runnable = runnable;
        File.WriteAllText(Path.Combine(ProjectDir, "Program.cs"), $$"""
            // Generated: runs the snippet named by the first argument.
            switch (args.Length > 0 ? args[0] : "")
            {
            {{dispatch}}
                default: System.Console.Error.WriteLine("unknown snippet"); return 2;
            }
            """);
        var references = string.Concat(packages.Select(p => $"    <PackageReference Include=\"{p.Key}\" Version=\"{p.Value}\" />\n"));
        File.WriteAllText(Path.Combine(ProjectDir, "DocSnippets.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <!-- As a new console app: dotnet new console, then dotnet add package. -->
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <NoWarn>$(NoWarn);CS1998;CS8321;CS0168;CS0219;CS1591</NoWarn>
              </PropertyGroup>
              <ItemGroup>
            {references}  </ItemGroup>
            </Project>
            """);

        // The local feed first, then the repository's own sources (names and addresses read from its nuget.config).
        var repoConfig = XDocument.Load(Path.Combine(RepoRoot, "nuget.config"));
        var sources = repoConfig.Descendants("packageSources").Elements("add")
            .Select(e => $"    <add key=\"{e.Attribute("key")!.Value}\" value=\"{e.Attribute("value")!.Value}\" />\n");
        File.WriteAllText(Path.Combine(WorkDir, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="docs-feed" value="{feed}" />
            {string.Concat(sources)}  </packageSources>
            </configuration>
            """);
    }

    [GeneratedRegex(@"^\s*(?<file>[^\s(][^(\r\n]*)\((?<line>\d+),\d+\): error (?<message>[^\r\n]*?)(\s\[[^\]]*\])?\r?$", RegexOptions.Multiline)]
    private static partial Regex CompilerError();
}
