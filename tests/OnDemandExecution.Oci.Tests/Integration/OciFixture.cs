using System.Diagnostics;
using OnDemandExecution.Oci.Runtime;

namespace OnDemandExecution.Oci.Tests.Integration;

/// <summary>
/// Everything the integration tests share: the bundle (built by tools/build-oci-bundle.sh, which skips when it is up
/// to date), runc (installed when missing) and one provider whose state and working directories are private to this
/// test run.
/// </summary>
public sealed class OciFixture : IAsyncLifetime
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public string BundleDirectory { get; } = Environment.GetEnvironmentVariable("ODX_OCI_BUNDLE_DIR") ?? Path.Combine(RepoRoot, "artifacts", "oci-bundle");

    /// <summary>Short and private to this run: the socket paths below it must stay under 107 bytes.</summary>
    public string Scratch { get; } = Directory.CreateTempSubdirectory("odxoci").FullName;

    public OciInstanceProvider Provider { get; private set; } = null!;

    public OciProviderOptions Options() => new()
    {
        BundlePath = BundleDirectory,
        StateDirectory = Path.Combine(Scratch, "state"),
        WorkingDirectory = Path.Combine(Scratch, "w"),
        MaxMemoryMb = 512,
        MaxVCpuCount = 2,
    };

    public OciInstanceProvider NewProvider(Action<OciProviderOptions>? tweak = null, string? ownerTag = null)
    {
        var o = Options();
        tweak?.Invoke(o);
        return new OciInstanceProvider(Microsoft.Extensions.Options.Options.Create(o)) { OwnerTag = ownerTag ?? HostIdentity.CurrentOwnerTag() };
    }

    public async Task InitializeAsync()
    {
        EnsureRunc();
        Run("bash", Path.Combine(RepoRoot, "tools", "build-oci-bundle.sh"), BundleDirectory);
        Provider = NewProvider();
        await Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (Provider is not null)
        {
            await Provider.DisposeAsync();
        }

        Directory.Delete(Scratch, true);
    }

    /// <summary>Runs a program and returns its standard output; throws when it fails.</summary>
    public static string Run(string file, params string[] args)
    {
        var (code, stdout, stderr) = TryRun(file, args);
        if (code != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({code}): {stdout} {stderr}");
        }

        return stdout;
    }

    public static (int Code, string Stdout, string Stderr) TryRun(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static void EnsureRunc()
    {
        if (File.Exists("/usr/sbin/runc") || File.Exists("/usr/bin/runc"))
        {
            return;
        }

        // a fresh machine: CI (.ci/steps/oci.sh) installs it first, but make `dotnet test` work on its own too
        const string Install = "apt-get install -y -qq --no-install-recommends runc busybox-static gcc libc6-dev";
        Run("bash", "-c", $"{Install} || (apt-get update -qq && {Install})");
    }

    private static string FindRepoRoot([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? string.Empty, Environment.CurrentDirectory })
        {
            for (var dir = string.IsNullOrEmpty(start) ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "OnDemandExecution.slnx")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("Cannot find the repository root (OnDemandExecution.slnx) above " + AppContext.BaseDirectory);
    }
}

[CollectionDefinition(Name)]
public sealed class OciContainers : ICollectionFixture<OciFixture>
{
    public const string Name = "oci";
}
