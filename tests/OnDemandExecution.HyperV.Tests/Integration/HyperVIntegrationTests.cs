using System.Text;
using Microsoft.Extensions.Options;

namespace OnDemandExecution.HyperV.Tests.Integration;

/// <summary>
/// End-to-end on a real Hyper-V host (skipped everywhere else): boots a guest through HCS, talks to its agent over a
/// Hyper-V socket, pauses and resumes it, and checks that disposal leaves no compute system behind.
/// </summary>
[Trait("Category", "Integration")]
public class HyperVIntegrationTests
{
    private static HyperVProviderOptions Options() => new()
    {
        KernelPath = Environment.GetEnvironmentVariable("ODX_HYPERV_KERNEL") ?? string.Empty,
        InitrdPath = Environment.GetEnvironmentVariable("ODX_HYPERV_INITRD") ?? string.Empty,
        VhdxPath = Environment.GetEnvironmentVariable("ODX_HYPERV_VHDX"),
        AgentPort = int.TryParse(Environment.GetEnvironmentVariable("ODX_HYPERV_AGENT_PORT"), out var port) ? port : 5100,
        BootTimeout = TimeSpan.FromSeconds(120),
    };

    [HyperVFact]
    public async Task Guest_Boots_Invokes_PausesResumes_AndIsTerminated()
    {
        await using var provider = new HyperVInstanceProvider(Microsoft.Extensions.Options.Options.Create(Options()));
        await using var instance = await provider.CreateAsync(new InstanceSpec { MemoryMb = 512, VCpuCount = 1 }, default);

        await instance.LoadAsync(new FunctionDefinition("upper", new ProgramFunctionCode("tr a-z A-Z")), new TenantId("t"), default);
        var output = await instance.InvokeAsync(new InvocationRequest("upper", "hello"u8.ToArray()), default);
        Assert.Equal("HELLO", Encoding.UTF8.GetString(output.Span));

        await instance.PauseAsync(default);
        await instance.ResumeAsync(default);
        Assert.Equal(InstanceHealth.Healthy, await instance.CheckHealthAsync(default));
        Assert.True(await instance.RecycleAsync(default));

        await instance.DisposeAsync();
        Assert.Equal(0, provider.LiveInstanceCount);
    }

    [HyperVFact]
    public async Task TerminatedFromOutside_TheExitEventMarksTheInstanceDead()
    {
        await using var provider = new HyperVInstanceProvider(Microsoft.Extensions.Options.Options.Create(Options()));
        var instance = (HyperVInstance)await provider.CreateAsync(new InstanceSpec { MemoryMb = 512, VCpuCount = 1 }, default);

        // `hcsdiag kill <id>` from an elevated prompt does the same; here the provider's own seam terminates it
        await provider.Hcs.RunAsync("HcsTerminateComputeSystem", op => provider.Hcs.Api.TerminateComputeSystem(instance.SystemHandle, op, null), TimeSpan.FromSeconds(30), default);
        for (var i = 0; i < 100 && !instance.IsDead; i++)
        {
            await Task.Delay(100);
        }

        Assert.True(instance.IsDead, "no HcsEventSystemExited arrived within 10 s");
        Assert.Equal(InstanceHealth.Dead, await instance.CheckHealthAsync(default));
        await instance.DisposeAsync();
    }
}
