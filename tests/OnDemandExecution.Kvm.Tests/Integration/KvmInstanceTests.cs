using Xunit.Abstractions;
using System.Diagnostics;
using System.Text;

namespace OnDemandExecution.Kvm.Tests.Integration;

/// <summary>Real QEMU microvm guests (TCG here). They share one booted and snapshotted guest through <see cref="KvmFixture"/>.</summary>
[Collection(KvmGuests.Name)]
[Trait("Category", "Integration")]
public class KvmInstanceTests(KvmFixture fixture, ITestOutputHelper output)
{
    private static readonly TenantId Tenant = new("acme");

    private static FunctionDefinition Program(string name, string command, IReadOnlyDictionary<string, byte[]>? files = null)
        => new(name, new ProgramFunctionCode(command, files));

    private static async Task<string> InvokeAsync(IInstance instance, string function, string payload)
    {
        var output = await instance.InvokeAsync(new InvocationRequest(function, Encoding.UTF8.GetBytes(payload), Tenant), CancellationToken.None);
        return Encoding.UTF8.GetString(output.Span);
    }

    [Fact]
    public async Task FirstGuest_LoadsAProgramWithFiles_AndInvokesIt()
    {
        var instance = fixture.Booted;
        output.WriteLine($"template boot + first clone: {fixture.BootTime.TotalMilliseconds:F0} ms (agent {instance.AgentVersion})");
        var files = new Dictionary<string, byte[]> { ["bin/shout"] = "#!/bin/sh\ntr a-z A-Z\necho \"!$ODX_INVOCATION_ID\" | cut -c1-2\n"u8.ToArray() };
        await instance.LoadAsync(Program("shout", "./bin/shout", files), Tenant, default);

        var result = await InvokeAsync(instance, "shout", "hello from the host");
        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var t = Stopwatch.GetTimestamp();
            Assert.StartsWith("PING", await InvokeAsync(instance, "shout", "ping"), StringComparison.Ordinal);
            times.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }

        output.WriteLine($"invoke round trips (ms): {string.Join(", ", times.Select(x => x.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.Matches("^HELLO FROM THE HOST![0-9a-f]\n$", result); // stdout, and the invocation id in the environment

        // the function's own failure: a typed error, and the instance stays usable
        Assert.True(await instance.RecycleAsync(default));
        await instance.LoadAsync(Program("fails", "echo broken >&2; exit 7"), Tenant, default);
        var ex = await Assert.ThrowsAsync<FunctionExecutionException>(() => InvokeAsync(instance, "fails", "x"));
        Assert.Contains("status 7", ex.Message, StringComparison.Ordinal);
        Assert.Contains("broken", ex.Message, StringComparison.Ordinal);
        Assert.Equal(InstanceHealth.Healthy, await instance.CheckHealthAsync(default));

        // a function cannot write frames on the agent's port: its descriptors are closed in the function's shell
        Assert.True(await instance.RecycleAsync(default));
        await instance.LoadAsync(Program("forger", "printf 'ODX1 OK 999 0\\n' >&3 2>/dev/null || echo closed"), Tenant, default);
        Assert.Equal("closed\n", await InvokeAsync(instance, "forger", string.Empty));
        Assert.Equal(InstanceHealth.Healthy, await instance.CheckHealthAsync(default));

        // recycle scrubs the files and the command
        Assert.True(await instance.RecycleAsync(default));
        await instance.LoadAsync(Program("probe", "ls /work/bin 2>&1 || echo gone"), Tenant, default);
        Assert.Contains("gone", await InvokeAsync(instance, "probe", string.Empty), StringComparison.Ordinal);
        Assert.True(await instance.RecycleAsync(default));
    }

    [Fact]
    public async Task LaterGuests_AreClonesOfTheTemplate_WhoseFilesAreSealed()
    {
        Assert.Single(Directory.GetFiles(fixture.SnapshotDirectory, "*.ram"));
        Assert.Single(Directory.GetFiles(fixture.SnapshotDirectory, "*.state"));
        Assert.Single(Directory.GetFiles(fixture.SnapshotDirectory, "*.manifest"));
        await using var clone = await fixture.Provider.CreateGuestAsync(new InstanceSpec(), default);
        await clone.LoadAsync(Program("wc", "wc -c"), Tenant, default);
        Assert.Equal("5", (await InvokeAsync(clone, "wc", "12345")).Trim());
        Assert.StartsWith("reseed=addentropy+reseed boot_id=", clone.LastSeed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AutoAccelerator_StartsAGuest_FallingBackToTcgWhenKvmIsUnusable()
    {
        // Where /dev/kvm is missing, Auto means TCG; where it opens but QEMU cannot run a guest on it (these machines),
        // the first start fails fast and the provider falls back to TCG for good, restoring the fixture's TCG snapshot.
        var options = fixture.Options();
        options.Accelerator = KvmAccelerator.Auto;
        await using var provider = new KvmInstanceProvider(Microsoft.Extensions.Options.Options.Create(options));
        await using var instance = await provider.CreateGuestAsync(new InstanceSpec(), default);
        await instance.LoadAsync(Program("echo", "cat"), Tenant, default);

        Assert.Equal("auto", await InvokeAsync(instance, "echo", "auto"));
    }

    [Fact]
    public async Task WithoutRecycleByReset_RecycleFails_SoThePoolReplacesTheGuest()
    {
        var options = fixture.Options();
        options.RecycleByReset = false;
        await using var provider = new KvmInstanceProvider(Microsoft.Extensions.Options.Options.Create(options));
        await using var instance = await provider.CreateGuestAsync(new InstanceSpec(), default);
        await instance.LoadAsync(Program("echo", "cat"), Tenant, default);

        Assert.False(await instance.RecycleAsync(default));
    }

    [Fact]
    public async Task PausedGuest_StopsAndResumes_OverQmp()
    {
        await using var instance = await fixture.Provider.CreateGuestAsync(new InstanceSpec(), default);
        await instance.LoadAsync(Program("echo", "cat"), Tenant, default);

        await instance.PauseAsync(default);
        Assert.Equal("paused", await instance.QueryStatusAsync(default));
        Assert.Equal(InstanceHealth.Healthy, await instance.CheckHealthAsync(default));

        await instance.ResumeAsync(default);
        Assert.Equal("running", await instance.QueryStatusAsync(default));
        Assert.Equal("after resume", await InvokeAsync(instance, "echo", "after resume"));

        // invoking a paused guest resumes it first
        await instance.PauseAsync(default);
        Assert.Equal("auto", await InvokeAsync(instance, "echo", "auto"));
    }

    [Fact]
    public async Task KilledQemu_SurfacesAsInstanceDied_AndDisposeLeavesNothingBehind()
    {
        var instance = await fixture.Provider.CreateGuestAsync(new InstanceSpec(), default);
        await instance.LoadAsync(Program("slow", "sleep 30; cat"), Tenant, default);
        var pid = instance.ProcessId;

        var call = InvokeAsync(instance, "slow", "x");
        await Task.Delay(300);
        instance.KillProcessForTest(); // mid-invoke

        var ex = await Assert.ThrowsAsync<InstanceDiedException>(() => call);
        Assert.Equal(instance.Id, ex.InstanceId);
        Assert.Equal(InstanceHealth.Dead, await instance.CheckHealthAsync(default));
        await Assert.ThrowsAsync<InstanceDiedException>(() => InvokeAsync(instance, "slow", "y"));
        Assert.False(await instance.RecycleAsync(default));

        var directory = instance.WorkingDirectory;
        Assert.True(Directory.Exists(directory));
        await instance.DisposeAsync();
        await instance.DisposeAsync(); // exactly once: the second is a no-op
        Assert.False(Directory.Exists($"/proc/{pid}"), $"QEMU {pid} is still there");
        Assert.False(Directory.Exists(directory), $"{directory} is still there");
        Assert.Null(fixture.Provider.FindInstance(instance.Id));
    }
}
