using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace OnDemandExecution.Oci.Tests.Integration;

/// <summary>Real runc containers from the bundle tools/build-oci-bundle.sh builds, the C agent as their init.</summary>
[Collection(OciContainers.Name)]
[Trait("Category", "Integration")]
public class OciInstanceTests(OciFixture fixture, ITestOutputHelper output)
{
    private static readonly TenantId Tenant = new("acme");

    private static FunctionDefinition Program(string name, string command, IReadOnlyDictionary<string, byte[]>? files = null)
        => new(name, new ProgramFunctionCode(command, files));

    private static async Task<string> InvokeAsync(IInstance instance, string function, string payload, CancellationToken cancellationToken = default)
    {
        var output = await instance.InvokeAsync(new InvocationRequest(function, Encoding.UTF8.GetBytes(payload), Tenant), cancellationToken);
        return Encoding.UTF8.GetString(output.Span);
    }

    [Fact]
    public async Task Container_LoadsAProgramWithFiles_InvokesIt_ReportsExitCodes_AndRecycles()
    {
        var started = Stopwatch.GetTimestamp();
        await using var instance = await fixture.Provider.CreateContainerAsync(new InstanceSpec(), default);
        output.WriteLine($"create -> agent ready: {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms (agent {instance.AgentVersion}, cgroup limits {fixture.Provider.CgroupLimitsApplied}, userns {fixture.Provider.UsesUserNamespace})");
        Assert.True(instance.IsAlive);

        var files = new Dictionary<string, byte[]> { ["bin/shout"] = "#!/bin/sh\ntr a-z A-Z\necho \"!$ODX_INVOCATION_ID\" | cut -c1-2\n"u8.ToArray() };
        await instance.LoadAsync(Program("shout", "./bin/shout", files), Tenant, default);
        Assert.True(File.Exists(Path.Combine(instance.WorkPath, "bin", "shout"))); // copied into the container's writable dir
        Assert.Matches("^HELLO FROM THE HOST![0-9a-f]\n$", await InvokeAsync(instance, "shout", "hello from the host"));

        // the function's own failure: a typed error with its status and stderr; the container stays usable
        Assert.True(await instance.RecycleAsync(default));
        await instance.LoadAsync(Program("fails", "echo broken >&2; exit 7"), Tenant, default);
        var ex = await Assert.ThrowsAsync<FunctionExecutionException>(() => InvokeAsync(instance, "fails", "x"));
        Assert.Contains("status 7", ex.Message, StringComparison.Ordinal);
        Assert.Contains("broken", ex.Message, StringComparison.Ordinal);
        Assert.Equal(InstanceHealth.Healthy, await instance.CheckHealthAsync(default));

        // recycle scrubs the files and the command
        Assert.True(await instance.RecycleAsync(default));
        Assert.Empty(Directory.EnumerateFileSystemEntries(instance.WorkPath));
        await instance.LoadAsync(Program("probe", "ls /work/bin 2>&1 || echo gone"), Tenant, default);
        Assert.Contains("gone", await InvokeAsync(instance, "probe", string.Empty), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Container_IsIsolated_NonRootNoCapabilitiesNoNetworkReadOnlyRootAndNoNewNamespaces()
    {
        await using var instance = await fixture.Provider.CreateContainerAsync(new InstanceSpec(), default);
        const string Probe = """
            echo "uid=$(id -u)"
            grep CapEff /proc/self/status
            echo "ifaces=$(ls /sys/class/net 2>/dev/null | tr '\n' ' ')$(cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
            touch /bin/x 2>/dev/null && echo rootfs=rw || echo rootfs=ro
            touch /work/x /tmp/x && echo work=rw
            unshare -U true 2>/dev/null && echo unshare=yes || echo unshare=no
            echo "pid1=$(cat /proc/1/comm)"
            grep NoNewPrivs /proc/self/status
            grep Seccomp: /proc/self/status
            """;
        await instance.LoadAsync(Program("probe", Probe), Tenant, default);
        var report = await InvokeAsync(instance, "probe", string.Empty);
        output.WriteLine(report);
        Assert.Contains("uid=1000", report, StringComparison.Ordinal);
        Assert.Contains("CapEff:\t0000000000000000", report, StringComparison.Ordinal);
        Assert.Matches("ifaces=lo \n", report); // only loopback: no network unless asked for
        Assert.Contains("rootfs=ro", report, StringComparison.Ordinal);
        Assert.Contains("work=rw", report, StringComparison.Ordinal);
        Assert.Contains("unshare=no", report, StringComparison.Ordinal); // the seccomp profile refuses new namespaces
        Assert.Contains("pid1=odx-agent", report, StringComparison.Ordinal); // its own pid namespace, the agent as init
        Assert.Contains("NoNewPrivs:\t1", report, StringComparison.Ordinal);
        Assert.Contains("Seccomp:\t2", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunningProgram_IsCancelled_AndTheContainerServesTheNextCall()
    {
        await using var instance = await fixture.Provider.CreateContainerAsync(new InstanceSpec(), default);
        await instance.LoadAsync(Program("sleepy", "read -r x; [ \"$x\" = slow ] && sleep 60; echo \"done $x\""), Tenant, default);
        using var cts = new CancellationTokenSource();
        var call = InvokeAsync(instance, "sleepy", "slow", cts.Token);
        await WaitUntilAsync(() => ProcessesIn(instance).Contains("sleep"));
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        Assert.True(await instance.StopWorkAsync(default)); // the agent confirms the program's process group is gone
        Assert.DoesNotContain("sleep", ProcessesIn(instance), StringComparison.Ordinal);
        Assert.Equal("done fast\n", await InvokeAsync(instance, "sleepy", "fast"));
    }

    [Fact]
    public async Task ContainerKilledFromOutside_MidCall_FailsTheCallWithInstanceDied()
    {
        var instance = await fixture.Provider.CreateContainerAsync(new InstanceSpec(), default);
        await instance.LoadAsync(Program("sleepy", "sleep 60"), Tenant, default);
        var call = InvokeAsync(instance, "sleepy", string.Empty);
        await WaitUntilAsync(() => ProcessesIn(instance).Contains("sleep"));

        OciFixture.Run("runc", "--root", fixture.Options().StateDirectory, "kill", instance.Id, "KILL");
        var died = await Assert.ThrowsAsync<InstanceDiedException>(() => call);
        Assert.Equal(instance.Id, died.InstanceId);
        Assert.False(instance.IsAlive);
        Assert.Equal(InstanceHealth.Dead, await instance.CheckHealthAsync(default));
        Assert.False(await instance.RecycleAsync(default));
        await instance.DisposeAsync();
        Assert.False(Directory.Exists(instance.WorkingDirectory));
    }

    [Fact]
    public async Task TenantB_DoesNotSeeTenantAsFiles_AfterRecycle()
    {
        await using var instance = await fixture.Provider.CreateContainerAsync(new InstanceSpec(), default);
        await instance.LoadAsync(Program("writer", "echo secret-of-a > /work/a.txt; echo secret-of-a > /tmp/a.txt; mkdir -p /work/d; echo x > /work/d/f; (sleep 60 &) ; echo written"), new TenantId("a"), default);
        Assert.Equal("written\n", await InvokeAsync(instance, "writer", string.Empty));
        Assert.True(await instance.RecycleAsync(default));

        await instance.LoadAsync(Program("reader", "cat /work/a.txt /tmp/a.txt /work/d/f 2>/dev/null; ls -A /work; ls -A /tmp; ps -o comm | grep -c sleep || true"), new TenantId("b"), default);
        var seen = await InvokeAsync(instance, "reader", string.Empty);
        Assert.DoesNotContain("secret-of-a", seen, StringComparison.Ordinal);
        Assert.Equal("0\n", seen); // /work and /tmp empty, and A's background process is gone
    }

    [Fact]
    public async Task Dispose_RemovesEveryContainerDirectoryAndCgroup()
    {
        var provider = fixture.NewProvider();
        var a = await provider.CreateContainerAsync(new InstanceSpec(), default);
        var b = await provider.CreateContainerAsync(new InstanceSpec { MemoryMb = 128 }, default);
        var ids = new[] { a.Id, b.Id };
        var dirs = new[] { a.WorkingDirectory, b.WorkingDirectory };
        Assert.Equal(2, provider.LiveInstanceCount);
        await a.DisposeAsync();
        await a.DisposeAsync(); // exactly once: the second is a no-op
        await provider.DisposeAsync();

        Assert.Equal(0, provider.LiveInstanceCount);
        var list = OciFixture.Run("runc", "--root", fixture.Options().StateDirectory, "list", "-q");
        Assert.All(ids, id => Assert.DoesNotContain(id, list, StringComparison.Ordinal));
        Assert.All(dirs, d => Assert.False(Directory.Exists(d)));
        Assert.All(ids, id => Assert.False(Directory.Exists("/sys/fs/cgroup/memory/" + id)));
        Assert.All(ids, id => Assert.False(Directory.Exists("/sys/fs/cgroup/" + id)));
    }

    [Fact]
    public async Task OrphansOfACrashedHost_AreReclaimed_WhenTheNextProviderStarts()
    {
        var live = await fixture.Provider.CreateContainerAsync(new InstanceSpec(), default); // a live host's container stays
        // a "host" whose process is gone (pid 1's start time never matches this tag): its container is left running
        var crashed = fixture.NewProvider(ownerTag: "1-deadbeef");
        var orphan = await crashed.CreateContainerAsync(new InstanceSpec(), default);

        var next = fixture.NewProvider();
        var (containers, directories) = await next.ReclaimOrphansAsync(default);
        Assert.Equal((1, 1), (containers, directories));
        var list = OciFixture.Run("runc", "--root", fixture.Options().StateDirectory, "list", "-q");
        Assert.DoesNotContain(orphan.Id, list, StringComparison.Ordinal);
        Assert.Contains(live.Id, list, StringComparison.Ordinal);
        Assert.False(Directory.Exists(orphan.WorkingDirectory));
        Assert.True(live.IsAlive);

        await live.DisposeAsync();
        await next.DisposeAsync();
        await crashed.DisposeAsync(); // the abandoned provider finds nothing left to remove
    }

    [Fact]
    public async Task OutOfRangeSpec_IsRefusedWithATypedError()
    {
        var ex = await Assert.ThrowsAsync<InstanceProviderException>(() => fixture.Provider.CreateContainerAsync(new InstanceSpec { MemoryMb = 100_000 }, default));
        Assert.Contains("MiB", ex.Message, StringComparison.Ordinal);
    }

    private string ProcessesIn(OciInstance instance)
    {
        var (_, stdout, _) = OciFixture.TryRun("runc", "--root", fixture.Options().StateDirectory, "ps", instance.Id);
        return stdout;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(20);
        }

        Assert.True(condition());
    }
}
