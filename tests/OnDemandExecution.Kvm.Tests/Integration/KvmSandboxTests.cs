using System.Diagnostics;
using System.Globalization;
using System.Text;
using OnDemandExecution.Kvm.Sandbox;
using Xunit.Abstractions;

namespace OnDemandExecution.Kvm.Tests.Integration;

/// <summary>Unique clones, the QEMU sandbox and CANCEL, on real guests cloned from the fixture's template.</summary>
[Collection(KvmGuests.Name)]
[Trait("Category", "Integration")]
public class KvmSandboxTests(KvmFixture fixture, ITestOutputHelper output)
{
    private static readonly TenantId Tenant = new("acme");

    private static async Task<string> InvokeAsync(IInstance instance, string function, string payload, CancellationToken cancellationToken = default)
    {
        var result = await instance.InvokeAsync(new InvocationRequest(function, Encoding.UTF8.GetBytes(payload), Tenant), cancellationToken);
        return Encoding.UTF8.GetString(result.Span);
    }

    private static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return text.Trim();
    }

    private static string StatusField(int pid, string field)
        => File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal))[(field.Length + 1)..].Trim();

    [Fact]
    public async Task EightClonesOfOneTemplate_ReadDifferentRandomBytes_AndDifferentBootIds()
    {
        var clones = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => fixture.Provider.CreateGuestAsync(new InstanceSpec(), default)));
        try
        {
            var answers = new List<(string Random, string BootId)>();
            foreach (var clone in clones)
            {
                await clone.LoadAsync(new FunctionDefinition("rng", new ProgramFunctionCode("head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo; cat /proc/sys/kernel/random/boot_id")), Tenant, default);
                var lines = (await InvokeAsync(clone, "rng", string.Empty)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.Equal(2, lines.Length);
                Assert.Matches("^[0-9a-f]{32}$", lines[0]);
                Assert.StartsWith("reseed=addentropy+reseed boot_id=" + lines[1], clone.LastSeed, StringComparison.Ordinal);
                answers.Add((lines[0], lines[1]));
                output.WriteLine($"{clone.Id}: {lines[0]} {lines[1]}");
            }

            Assert.Equal(8, answers.Select(a => a.Random).Distinct().Count());
            Assert.Equal(8, answers.Select(a => a.BootId).Distinct().Count());
        }
        finally
        {
            await Task.WhenAll(clones.Select(c => c.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task Qemu_RunsUnprivileged_UnderSeccomp_InItsOwnNamespaces_WithPrivateFiles()
    {
        await using var clone = await fixture.Provider.CreateGuestAsync(new InstanceSpec(), default);
        var pid = clone.ProcessId;

        Assert.Equal("2", StatusField(pid, "Seccomp")); // filter mode: QEMU's -sandbox
        Assert.Equal("qemu-system-x86_64", Path.GetFileName(File.ReadAllText($"/proc/{pid}/cmdline").Split((char)0)[0]));
        var root = Run("id", "-u") == "0";
        if (root)
        {
            Assert.Equal("65534\t65534\t65534\t65534", StatusField(pid, "Uid"));
            Assert.Equal("65534\t65534\t65534\t65534", StatusField(pid, "Gid"));
            Assert.Equal(string.Empty, StatusField(pid, "Groups"));
            foreach (var ns in new[] { "net", "ipc", "uts", "mnt" })
            {
                Assert.NotEqual(Run("readlink", $"/proc/self/ns/{ns}"), Run("readlink", $"/proc/{pid}/ns/{ns}"));
            }
        }

        // per-VM directory 0700 owned by QEMU's uid; template files 0600, the RAM file QEMU's, the rest the host's
        var uid = root ? "65534" : Run("id", "-u");
        Assert.Equal($"700 {uid}", Run("stat", "-c", "%a %u", clone.WorkingDirectory));
        var ram = Directory.GetFiles(fixture.SnapshotDirectory, "*.ram").Single();
        Assert.Equal($"600 {uid}", Run("stat", "-c", "%a %u", ram));
        Assert.Equal($"600 {Run("id", "-u")}", Run("stat", "-c", "%a %u", Path.ChangeExtension(ram, ".state")));
        Assert.Equal($"600 {Run("id", "-u")}", Run("stat", "-c", "%a %u", Path.ChangeExtension(ram, ".manifest")));
        Assert.Equal("711", Run("stat", "-c", "%a", fixture.SnapshotDirectory));
        Assert.DoesNotContain("exec:", File.ReadAllText($"/proc/{pid}/cmdline"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TamperedTemplateState_IsRejected_AndTheTemplateIsMadeAgain()
    {
        var snapshots = Directory.CreateTempSubdirectory("odx-kvm-tamper-").FullName;
        try
        {
            var options = fixture.Options();
            options.SnapshotDirectory = snapshots;
            foreach (var f in Directory.GetFiles(fixture.SnapshotDirectory))
            {
                var copy = Path.Combine(snapshots, Path.GetFileName(f));
                File.Copy(f, copy);
                Run("chown", "--reference=" + f, copy); // the RAM file belongs to QEMU's uid
            }

            var state = Directory.GetFiles(snapshots, "*.state").Single();
            var bytes = await File.ReadAllBytesAsync(state);
            bytes[bytes.Length / 2] ^= 0xff;
            await File.WriteAllBytesAsync(state, bytes);

            await using (var provider = new KvmInstanceProvider(Microsoft.Extensions.Options.Options.Create(options)))
            {
                await using var clone = await provider.CreateGuestAsync(new InstanceSpec(), default);
                await clone.LoadAsync(new FunctionDefinition("echo", new ProgramFunctionCode("cat")), Tenant, default);
                Assert.Equal("fresh", await InvokeAsync(clone, "echo", "fresh"));
            }

            // the tampered state was discarded and a new template sealed: its manifest matches again
            Assert.NotEqual(bytes, await File.ReadAllBytesAsync(state));
        }
        finally
        {
            Directory.Delete(snapshots, true);
        }
    }

    [Fact]
    public async Task StopWork_KillsTheTimedOutProgramsProcessGroup_AndTheGuestServesAgain()
    {
        await using var clone = await fixture.Provider.CreateGuestAsync(new InstanceSpec(), default);
        IInstance instance = clone;
        Assert.True(instance.IsAlive);
        await instance.LoadAsync(new FunctionDefinition("hang", new ProgramFunctionCode("sleep 300 & sleep 301; echo never")), Tenant, default);

        using var cts = new CancellationTokenSource();
        var call = InvokeAsync(instance, "hang", string.Empty, cts.Token);
        // the program is running once HEALTH says so (the agent answers HEALTH while a program runs)
        for (var i = 0; i < 500 && !(await clone.HealthTextAsync()).Contains("running=1", StringComparison.Ordinal); i++)
        {
            await Task.Delay(10);
        }

        Assert.Contains("running=1", await clone.HealthTextAsync(), StringComparison.Ordinal);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        Assert.True(await instance.StopWorkAsync(default));
        Assert.Contains("running=0", await clone.HealthTextAsync(), StringComparison.Ordinal);
        Assert.True(await instance.RecycleAsync(default));
        await instance.LoadAsync(new FunctionDefinition("ps", new ProgramFunctionCode("pidof sleep || echo none")), Tenant, default);
        Assert.Equal("none", (await InvokeAsync(instance, "ps", string.Empty)).Trim());

        // nothing running: still confirmed stopped
        Assert.True(await instance.StopWorkAsync(default));
        Assert.True(instance.IsAlive);
    }

    [Fact]
    public async Task DeadGuest_IsNotAlive_AndCannotConfirmStoppedWork()
    {
        var clone = await fixture.Provider.CreateGuestAsync(new InstanceSpec(), default);
        IInstance instance = clone;
        clone.KillProcessForTest();
        for (var i = 0; i < 500 && instance.IsAlive; i++)
        {
            await Task.Delay(10);
        }

        Assert.False(instance.IsAlive);
        Assert.False(await instance.StopWorkAsync(default));
        await clone.DisposeAsync();
    }
}
