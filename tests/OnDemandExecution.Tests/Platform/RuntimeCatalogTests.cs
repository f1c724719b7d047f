using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Platform;

/// <summary>Functions replaced and removed at run time: calls in flight finish, old code never serves again.</summary>
public class RuntimeCatalogTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);
    private static readonly TenantId Tenant = new("t");

    private static TestHost Create()
    {
        var host = TestHost.Create(configure: b => b.AddFunction(new FunctionDefinition("f", new ProgramFunctionCode("/bin/v1"))));
        host.Provider.OnInvoke = (i, r, _) => new ValueTask<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes(i.Id));
        return host;
    }

    [Fact]
    public async Task Replace_RetiresIdleInstancesOfTheOldCode_AndTheNextCallLoadsTheNewOne()
    {
        await using var host = Create();
        var first = await host.Executor.InvokeAsync("f", "x", Tenant);
        var old = host.Provider.Instances[first.InstanceId];
        Assert.Equal(StartKind.Warm, (await host.Executor.InvokeAsync("f", "x", Tenant)).StartKind); // idle and warm before

        host.Catalog.Replace(new FunctionDefinition("f", new ProgramFunctionCode("/bin/v2")) { MaxConcurrency = 1 });
        await WaitUntil(() => old.IsDisposed || old.LoadedFunction is null);
        var next = await host.Executor.InvokeAsync("f", "x", Tenant);

        Assert.NotEqual(StartKind.Warm, next.StartKind);
        Assert.True(host.Catalog.TryGetFunction("f", out var current));
        Assert.Equal("/bin/v2", ((ProgramFunctionCode)current.Code).Command);
    }

    [Fact]
    public async Task Remove_LetsTheCallInFlightFinish_ThenNoInstanceKeepsTheCode_AndNewCallsAreUnknown()
    {
        await using var host = Create();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Provider.OnInvoke = async (i, r, ct) =>
        {
            started.TrySetResult(i.Id);
            await gate.Task.WaitAsync(ct);
            return Encoding.UTF8.GetBytes(i.Id);
        };
        var inFlight = host.Executor.InvokeAsync("f", "x", Tenant).AsTask();
        var instanceId = await started.Task.WaitAsync(HangGuard);

        Assert.True(host.Catalog.Remove("f"));
        Assert.False(host.Catalog.Remove("f"));
        await Assert.ThrowsAsync<FunctionNotFoundException>(async () => await host.Executor.InvokeAsync("f", "x", Tenant));
        gate.SetResult();
        var result = await inFlight.WaitAsync(HangGuard);

        Assert.Equal(instanceId, result.InstanceId); // the call in flight finished on its instance
        var instance = host.Provider.Instances[instanceId];
        await WaitUntil(() => instance.IsDisposed || instance.LoadedFunction is null);
        Assert.All(host.Pools.GetActivePools(), p => Assert.Equal(0, p.Idle));
    }

    [Fact]
    public async Task Replace_OfAnUnknownFunction_IsATypedError_AndAnInvalidDefinitionChangesNothing()
    {
        await using var host = Create();
        Assert.Throws<ArgumentException>(() => host.Catalog.Replace(new FunctionDefinition("g", new ProgramFunctionCode("/bin/g"))));
        Assert.Throws<ArgumentException>(() => host.Catalog.Replace(new FunctionDefinition("f", new ProgramFunctionCode("/bin/v2")) { MaxConcurrency = -1 }));
        Assert.True(host.Catalog.TryGetFunction("f", out var kept));
        Assert.Equal("/bin/v1", ((ProgramFunctionCode)kept.Code).Command);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTimeOffset.UtcNow + HangGuard; // a hang guard, not a timing assertion
        while (!condition() && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        Assert.True(condition());
    }
}
