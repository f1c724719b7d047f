using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace OnDemandExecution.Oci.Tests.Integration;

/// <summary>The whole stack: AddOnDemandExecution + AddOciProvider, the pools and the executor, on real containers.</summary>
[Collection(OciContainers.Name)]
[Trait("Category", "Integration")]
public class OciEndToEndTests(OciFixture fixture, ITestOutputHelper output)
{
    private IHost BuildHost(Action<OciProviderOptions>? tweak = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services
            .AddOnDemandExecution(o =>
            {
                o.WarmingPoolSize = 1;
                o.MaxConcurrentProvisioning = 1;
                o.MaintenanceInterval = TimeSpan.FromMilliseconds(200);
            })
            .AddOciProvider(o =>
            {
                var f = fixture.Options();
                o.BundlePath = f.BundlePath;
                o.StateDirectory = f.StateDirectory;
                o.WorkingDirectory = f.WorkingDirectory;
                o.MaxMemoryMb = f.MaxMemoryMb;
                o.MaxVCpuCount = f.MaxVCpuCount;
                tweak?.Invoke(o);
            })
            .AddFunction(new FunctionDefinition("upper", new ProgramFunctionCode("read -r x; [ \"$x\" = slow ] && sleep 60; echo \"$x\" | tr a-z A-Z")));
        return builder.Build();
    }

    [Fact]
    public async Task ProgramFunction_RunsThroughTheExecutor_AndAContainerKilledMidCallIsReplaced()
    {
        using var host = BuildHost();
        await host.StartAsync();
        var executor = host.Services.GetRequiredService<IFunctionExecutor>();
        var provider = host.Services.GetRequiredService<OciInstanceProvider>();

        var first = await executor.InvokeAsync("upper", "hello oci", new TenantId("t1"));
        var second = await executor.InvokeAsync("upper", "again", new TenantId("t1"));
        output.WriteLine($"first: {first.StartKind} {first.Timings.Total.TotalMilliseconds:F0} ms, second: {second.StartKind} {second.Timings.Total.TotalMilliseconds:F0} ms");
        Assert.Equal("HELLO OCI\n", first.OutputAsString());
        Assert.Equal(("AGAIN\n", StartKind.Warm, first.InstanceId), (second.OutputAsString(), second.StartKind, second.InstanceId));

        // the container is killed from outside in the middle of a call: the caller gets a typed error, the pool drops
        // the instance, and the next call runs in another container
        var slow = executor.InvokeAsync("upper", "slow", new TenantId("t1")).AsTask();
        for (var i = 0; i < 500 && !OciFixture.TryRun("runc", "--root", fixture.Options().StateDirectory, "ps", first.InstanceId).Stdout.Contains("sleep", StringComparison.Ordinal); i++)
        {
            await Task.Delay(20);
        }

        Assert.False(slow.IsCompleted);
        OciFixture.Run("runc", "--root", fixture.Options().StateDirectory, "kill", first.InstanceId, "KILL");
        var died = await Assert.ThrowsAsync<InstanceDiedException>(() => slow);
        Assert.Equal(first.InstanceId, died.InstanceId);

        var third = await executor.InvokeAsync("upper", "replaced", new TenantId("t1"));
        Assert.Equal("REPLACED\n", third.OutputAsString());
        Assert.NotEqual(first.InstanceId, third.InstanceId);

        await host.StopAsync();
        host.Dispose();
        Assert.Equal(0, provider.LiveInstanceCount);
        var list = OciFixture.Run("runc", "--root", fixture.Options().StateDirectory, "list", "-q");
        foreach (var id in new[] { first.InstanceId, third.InstanceId })
        {
            Assert.DoesNotContain(id, list, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(fixture.Options().WorkingDirectory, id)));
        }
    }

    [Fact]
    public void MissingBundle_FailsAtStartWithAMessageNamingTheOption()
    {
        using var host = BuildHost(o => o.BundlePath = "/nonexistent/bundle");
        var ex = Assert.Throws<OptionsValidationException>(() => host.StartAsync().GetAwaiter().GetResult());
        Assert.Contains("OciProviderOptions.BundlePath", ex.Message, StringComparison.Ordinal);
        Assert.Contains("build-oci-bundle.sh", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingRuntime_FailsAtStartWithAMessageNamingTheOption()
    {
        using var host = BuildHost(o => o.RuntimePath = "/nonexistent/runc");
        var ex = Assert.Throws<OptionsValidationException>(() => host.StartAsync().GetAwaiter().GetResult());
        Assert.Contains("OciProviderOptions.RuntimePath", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/runc", ex.Message, StringComparison.Ordinal);
    }
}
