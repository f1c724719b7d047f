using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace OnDemandExecution.Kvm.Tests.Integration;

/// <summary>
/// Everything the integration tests share: the guest image (built by tools/build-guest-image.sh, which skips when it
/// is up to date), and one provider whose first guest is booted once and snapshotted, so that every later guest is a
/// restore (~0.5 s under TCG) rather than a boot (~2-4 s of CPU on a 2-core machine).
/// </summary>
public sealed class KvmFixture : IAsyncLifetime
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public string KernelPath => Path.Combine(ImageDirectory, "vmlinuz");

    public string InitrdPath => Path.Combine(ImageDirectory, "initrd.cpio.gz");

    public string ImageDirectory { get; } = Environment.GetEnvironmentVariable("ODX_GUEST_IMAGE_DIR") ?? Path.Combine(RepoRoot, "artifacts", "guest");

    public string SnapshotDirectory { get; } = Directory.CreateTempSubdirectory("odx-kvm-snap-").FullName;

    /// <summary>TCG unless ODX_TEST_ACCEL says otherwise: the tests are meant to pass where /dev/kvm is missing (or unusable, as on these machines).</summary>
    public KvmAccelerator Accelerator { get; } = Enum.TryParse<KvmAccelerator>(Environment.GetEnvironmentVariable("ODX_TEST_ACCEL"), true, out var a) ? a : KvmAccelerator.Tcg;

    public KvmInstanceProvider Provider { get; private set; } = null!;

    /// <summary>The first guest: the provider boots the template, saves it, and this is its first clone.</summary>
    internal KvmInstance Booted { get; private set; } = null!;

    public TimeSpan BootTime { get; private set; }

    public KvmProviderOptions Options() => new()
    {
        KernelPath = KernelPath,
        InitrdPath = InitrdPath,
        Accelerator = Accelerator,
        SnapshotDirectory = SnapshotDirectory,
        MaxMemoryMb = 512,
        MaxVCpuCount = 2,
        WorkingDirectory = StateRoot,
        // generous: TCG on a 2-core machine shared with parallel builds boots in 3-60 s (no test asserts on time)
        BootTimeout = TimeSpan.FromMinutes(3),
        RestoreTimeout = TimeSpan.FromMinutes(2),
        AgentTimeout = TimeSpan.FromSeconds(60),
    };

    /// <summary>The state directory of every provider these tests make (short: Unix socket paths are limited).</summary>
    public string StateRoot { get; } = Path.Combine(Path.GetTempPath(), "odx-kvm-test");

    public async Task InitializeAsync()
    {
        EnsureQemu();
        Run("bash", Path.Combine(RepoRoot, "tools", "build-guest-image.sh"), ImageDirectory);
        Provider = new KvmInstanceProvider(Microsoft.Extensions.Options.Options.Create(Options()));
        var started = Stopwatch.GetTimestamp();
        Booted = await Provider.CreateGuestAsync(new InstanceSpec(), CancellationToken.None);
        BootTime = Stopwatch.GetElapsedTime(started);
    }

    public async Task DisposeAsync()
    {
        if (Provider is not null)
        {
            await Provider.DisposeAsync();
        }

        Directory.Delete(SnapshotDirectory, true);
    }

    private static void EnsureQemu()
    {
        if (File.Exists("/usr/bin/qemu-system-x86_64") || File.Exists("/usr/local/bin/qemu-system-x86_64"))
        {
            return;
        }

        // A fresh machine: CI (.ci/run) installs it first, but make `dotnet test` work on its own too.
        const string Install = "apt-get install -y -qq --no-install-recommends qemu-system-x86 busybox-static";
        Run("bash", "-c", $"{Install} || (apt-get update -qq && {Install})");
    }

    private static void Run(string file, params string[] args)
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
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {stdout.Result} {stderr.Result}");
        }
    }

    private static string FindRepoRoot([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        // the build output may live outside the repository (--artifacts-path): try beside this source file too
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
public sealed class KvmGuests : ICollectionFixture<KvmFixture>
{
    public const string Name = "kvm";
}
