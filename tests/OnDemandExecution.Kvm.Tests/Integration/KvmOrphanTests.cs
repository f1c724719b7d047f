using System.Diagnostics;
using System.Globalization;
using OnDemandExecution.Kvm.Sandbox;
using Xunit.Abstractions;

namespace OnDemandExecution.Kvm.Tests.Integration;

/// <summary>A host process killed with SIGKILL leaves its QEMUs behind; the next provider on the same state directory reclaims them, and only them.</summary>
[Collection(KvmGuests.Name)]
[Trait("Category", "Integration")]
public class KvmOrphanTests(KvmFixture fixture, ITestOutputHelper output)
{
    private static bool Gone(int pid)
    {
        // gone, or a zombie waiting for init to reap it
        var stat = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat";
        try
        {
            var text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)] == 'Z';
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static string OrphanHostDll()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "OnDemandExecution.Kvm.OrphanHost.dll");
        if (File.Exists(Path.ChangeExtension(beside, ".runtimeconfig.json")))
        {
            return beside;
        }

        var own = Directory.GetFiles(Path.Combine(KvmFixture.RepoRoot, "tests", "OnDemandExecution.Kvm.OrphanHost", "bin"), "OnDemandExecution.Kvm.OrphanHost.dll", SearchOption.AllDirectories)
            .Where(f => File.Exists(Path.ChangeExtension(f, ".runtimeconfig.json")))
            .OrderByDescending(File.GetLastWriteTimeUtc)
            .FirstOrDefault();
        return own ?? throw new InvalidOperationException("OnDemandExecution.Kvm.OrphanHost was not built.");
    }

    [Fact]
    public async Task SigkilledHostWithTwoGuests_IsReclaimedByTheNextProvider_AndALiveHostsGuestIsNot()
    {
        var root = Path.Combine(Path.GetTempPath(), "odx-kvm-orphan-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(root);

        // a live host's directory (this very process) with a "QEMU" (a sleep) in it: it must survive the reclaim
        using var bystander = Process.Start("sleep", "300");
        var liveHost = Path.Combine(root, "h-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-live00");
        Directory.CreateDirectory(Path.Combine(liveHost, "kvm-1"));
        StateDirectory.WritePidFile(Path.Combine(liveHost, StateDirectory.HostPidFile), ProcessIdentity.Of(Environment.ProcessId)!.Value);
        StateDirectory.WritePidFile(Path.Combine(liveHost, "kvm-1", StateDirectory.QemuPidFile), ProcessIdentity.Of(bystander.Id)!.Value);

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { OrphanHostDll(), fixture.KernelPath, fixture.InitrdPath, root, fixture.SnapshotDirectory, "2" })
        {
            psi.ArgumentList.Add(a);
        }

        using var host = Process.Start(psi)!;
        var stderr = host.StandardError.ReadToEndAsync();
        var ready = await host.StandardOutput.ReadLineAsync();
        Assert.True(ready is not null && ready.StartsWith("READY ", StringComparison.Ordinal), $"the child host did not start its guests: {ready} {(host.HasExited ? await stderr : string.Empty)}");
        var pids = ready![6..].Split(' ').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(2, pids.Length);
        var hostDir = Directory.GetDirectories(root, $"h-{host.Id.ToString(CultureInfo.InvariantCulture)}-*").Single();
        output.WriteLine($"child host {host.Id} ({hostDir}) runs QEMU {string.Join(", ", pids)}");

        host.Kill(); // SIGKILL: the provider never disposes
        await host.WaitForExitAsync();
        Assert.All(pids, pid => Assert.False(Gone(pid), $"QEMU {pid} died with its host: there would be nothing to reclaim"));

        await using (var provider = new KvmInstanceProvider(Microsoft.Extensions.Options.Options.Create(new KvmProviderOptions
        {
            KernelPath = fixture.KernelPath,
            InitrdPath = fixture.InitrdPath,
            WorkingDirectory = root,
            Accelerator = KvmAccelerator.Tcg,
        })))
        {
            // SIGKILL is delivered at once, reaping by init may lag: poll a bounded number of times
            for (var i = 0; i < 300 && !pids.All(Gone); i++)
            {
                await Task.Delay(10);
            }

            Assert.All(pids, pid => Assert.True(Gone(pid), $"QEMU {pid} of the dead host is still running"));
            Assert.False(Directory.Exists(hostDir), $"{hostDir} is still there");
            Assert.True(Directory.Exists(liveHost), "the live host's directory was reclaimed");
            Assert.False(bystander.HasExited, "the live host's process was killed");
        }

        bystander.Kill();
        Directory.Delete(root, true);
    }
}
