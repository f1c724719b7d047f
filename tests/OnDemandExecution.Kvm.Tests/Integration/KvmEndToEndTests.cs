using Xunit.Abstractions;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OnDemandExecution.Kvm.Tests.Integration;

/// <summary>The whole stack: AddOnDemandExecution + AddKvmProvider, the pools and the executor, on real guests.</summary>
[Collection(KvmGuests.Name)]
[Trait("Category", "Integration")]
public class KvmEndToEndTests(KvmFixture fixture, ITestOutputHelper output)
{
    private IHost BuildHost(Action<KvmProviderOptions>? tweak = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services
            .AddOnDemandExecution(o =>
            {
                o.WarmingPoolSize = 1;
                o.MaxConcurrentProvisioning = 1;
                o.MaintenanceInterval = TimeSpan.FromMilliseconds(200);
            })
            .AddKvmProvider(o =>
            {
                var f = fixture.Options();
                o.KernelPath = f.KernelPath;
                o.InitrdPath = f.InitrdPath;
                o.Accelerator = f.Accelerator;
                o.SnapshotDirectory = f.SnapshotDirectory; // the fixture's snapshot: these guests restore, none boots
                o.MaxMemoryMb = f.MaxMemoryMb;
                o.MaxVCpuCount = f.MaxVCpuCount;
                tweak?.Invoke(o);
            })
            .AddFunction(new FunctionDefinition("upper", new ProgramFunctionCode("read -r x; [ \"$x\" = slow ] && sleep 20; echo \"$x\" | tr a-z A-Z")));
        return builder.Build();
    }

    [Fact]
    public async Task InProcessAndKvmSideBySide_EachFunctionRunsOnItsOwnProvider()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services
            .AddOnDemandExecution(o => o.WarmingPoolSize = 1) // the default provider: in-process, for trusted code
            .AddKvmProvider(
                "tenant-vm",
                o =>
                {
                    var f = fixture.Options();
                    o.KernelPath = f.KernelPath;
                    o.InitrdPath = f.InitrdPath;
                    o.Accelerator = f.Accelerator;
                    o.SnapshotDirectory = f.SnapshotDirectory;
                    o.MaxMemoryMb = f.MaxMemoryMb;
                    o.MaxVCpuCount = f.MaxVCpuCount;
                },
                pool =>
                {
                    pool.WarmingPoolSize = 0;
                    pool.MaxInstances = 2;
                })
            .AddFunction("trusted", (ctx, _) => new(Encoding.UTF8.GetBytes("in-process:" + Encoding.UTF8.GetString(ctx.Payload.Span))))
            .AddFunction(new FunctionDefinition("untrusted", new ProgramFunctionCode("read -r x; echo \"vm:$x\"")) { ProviderName = "tenant-vm" });
        using var host = builder.Build();
        await host.StartAsync();
        var executor = host.Services.GetRequiredService<IFunctionExecutor>();

        var trusted = await executor.InvokeAsync("trusted", "a", new TenantId("t1"));
        var untrusted = await executor.InvokeAsync("untrusted", "b", new TenantId("t1"));

        Assert.Equal("in-process:a", trusted.OutputAsString());
        Assert.StartsWith("inproc-", trusted.InstanceId, StringComparison.Ordinal);
        Assert.Equal("vm:b\n", untrusted.OutputAsString());
        Assert.NotNull(host.Services.GetRequiredService<KvmInstanceProvider>().FindInstance(untrusted.InstanceId));
        Assert.Equal(1, host.Services.GetRequiredKeyedService<IInstancePoolManager>("tenant-vm").GetSnapshot().Live);
        await host.StopAsync();
        Assert.Equal(0, host.Services.GetRequiredKeyedService<IInstancePoolManager>("tenant-vm").GetSnapshot().Live);
    }

    [Fact]
    public async Task ShellProgramFunction_RunsThroughTheExecutor_AndAKilledGuestIsReplaced()
    {
        using var host = BuildHost();
        await host.StartAsync();
        var executor = host.Services.GetRequiredService<IFunctionExecutor>();
        var provider = host.Services.GetRequiredService<KvmInstanceProvider>();

        var first = await executor.InvokeAsync("upper", "hello kvm", new TenantId("t1"));
        var second = await executor.InvokeAsync("upper", "again", new TenantId("t1"));
        output.WriteLine($"first: {first.StartKind} {first.Timings.Total.TotalMilliseconds:F0} ms, second: {second.StartKind} {second.Timings.Total.TotalMilliseconds:F0} ms");

        Assert.Equal("HELLO KVM\n", first.OutputAsString());
        Assert.NotEqual(StartKind.Warm, first.StartKind); // WarmPool once prewarming restored a guest, Cold if the call won the race
        Assert.Equal(("AGAIN\n", StartKind.Warm, first.InstanceId), (second.OutputAsString(), second.StartKind, second.InstanceId));

        // QEMU dies in the middle of a call: the caller gets a typed error, the pool drops the instance, and the
        // next call runs on another guest
        var victim = provider.FindInstance(first.InstanceId)!;
        var pid = victim.ProcessId;
        var slow = executor.InvokeAsync("upper", "slow", new TenantId("t1")).AsTask();
        await Task.Delay(500);
        Assert.False(slow.IsCompleted);
        victim.KillProcessForTest();
        var died = await Assert.ThrowsAsync<InstanceDiedException>(() => slow);
        Assert.Equal(first.InstanceId, died.InstanceId);

        var third = await executor.InvokeAsync("upper", "replaced", new TenantId("t1"));
        Assert.Equal("REPLACED\n", third.OutputAsString());
        Assert.NotEqual(first.InstanceId, third.InstanceId);

        await host.StopAsync();
        host.Dispose();
        Assert.Equal(0, provider.LiveInstanceCount);
        Assert.False(Directory.Exists($"/proc/{pid}"));
    }

    [Fact]
    public void MissingImage_FailsAtStartWithAMessageNamingTheOption()
    {
        using var host = BuildHost(o => o.KernelPath = "/nonexistent/vmlinuz");
        var ex = Assert.Throws<OptionsValidationException>(() => host.StartAsync().GetAwaiter().GetResult());
        Assert.Contains("KvmProviderOptions.KernelPath", ex.Message, StringComparison.Ordinal);
        Assert.Contains("build-guest-image.sh", ex.Message, StringComparison.Ordinal);
    }
}
