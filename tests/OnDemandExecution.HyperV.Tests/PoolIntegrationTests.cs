using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using OnDemandExecution.HyperV.Hcs;
using OnDemandExecution.HyperV.Tests.TestSupport;

namespace OnDemandExecution.HyperV.Tests;

/// <summary>The provider under the real executor and pools (HCS substituted): an exit event makes the pool replace the instance.</summary>
public sealed class PoolIntegrationTests : IAsyncLifetime
{
    private readonly HcsFake _fake = new(new FakeTimeProvider()) { NewAgentPerConnection = true };
    private IHost _host = null!;

    public async Task InitializeAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddOnDemandExecution(o =>
            {
                o.WarmingPoolSize = 1;
                o.WarmInstance = new InstanceSpec { MemoryMb = 256, VCpuCount = 1 };
            })
            .AddProvider(_ => TestProvider.Create(_fake))
            .AddFunction(new FunctionDefinition("upper", new ProgramFunctionCode("tr a-z A-Z")));
        _host = builder.Build();
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        foreach (var agent in _fake.Agents)
        {
            await agent.DisposeAsync();
        }
    }

    [Fact]
    public async Task AnInstanceWhoseSystemExits_IsReplaced_AndItsHandleClosed()
    {
        var executor = _host.Services.GetRequiredService<IFunctionExecutor>();
        var first = await executor.InvokeAsync("upper", "hello", new TenantId("acme"));
        Assert.Equal("HELLO", first.OutputAsString());

        // every compute system this test created exits (as if the host's Hyper-V killed them)
        foreach (var callback in _fake.Callbacks)
        {
            await Task.Run(() => callback(HcsEventType.SystemExited, """{"Status":0,"ExitType":"ForcedExit"}"""));
        }

        InvocationResult? next = null;
        var failures = 0;
        for (var attempt = 0; attempt < 5 && next is null; attempt++)
        {
            try
            {
                next = await executor.InvokeAsync("upper", "again", new TenantId("acme"));
            }
            catch (OnDemandExecutionException ex) when (ex is InstanceDiedException || ex.InnerException is InstanceDiedException)
            {
                // a call that meets a dead instance fails (calls are not retried) and the pool drops that instance: the
                // idle active one (InstanceDiedException), or the warming-pool one, whose load fails before the
                // maintenance pass has health-checked it (InstanceProviderException wrapping InstanceDiedException)
                failures++;
            }
        }

        Assert.NotNull(next);
        Assert.InRange(failures, 0, 2); // at most one per dead instance: the active one and the warm one
        Assert.Equal("AGAIN", next.OutputAsString());
        Assert.NotEqual(first.InstanceId, next.InstanceId);
        Assert.True(_fake.SystemsClosed >= 1, "the dead instance's system handle should have been closed");
    }
}
