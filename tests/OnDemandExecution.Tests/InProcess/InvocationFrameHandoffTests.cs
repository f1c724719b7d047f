using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OnDemandExecution.Execution;

namespace OnDemandExecution.Tests.InProcess;

/// <summary>
/// On the built-in in-process provider the executor hands a call's frame to the context the instance creates, instead
/// of an ambient AsyncLocal: nested calls still work from the context, and only from the running invocation.
/// </summary>
public class InvocationFrameHandoffTests
{
    [Fact]
    public async Task NestedCall_WorksThroughTheContext_WithoutAnAmbientFrame_AndNotAfterTheCallEnded()
    {
        FunctionContext? kept = null;
        var ambientSeen = true;
        var services = new ServiceCollection();
        services.AddOnDemandExecution(o => o.WarmingPoolSize = 0)
            .AddFunction("inner", (ctx, _) => new ValueTask<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes("inner:" + ctx.Tenant)))
            .AddFunction("outer", async (ctx, ct) =>
            {
                ambientSeen = InvocationFrame.Current is not null;
                kept = ctx;
                var inner = await ctx.InvokeFunctionAsync("inner", ReadOnlyMemory<byte>.Empty, ct);
                return inner.Output;
            });
        await using var provider = services.BuildServiceProvider();
        var executor = provider.GetRequiredService<IFunctionExecutor>();

        var result = await executor.InvokeAsync(new InvocationRequest("outer", ReadOnlyMemory<byte>.Empty, new TenantId("acme")));

        Assert.Equal("inner:acme", Encoding.UTF8.GetString(result.Output.Span)); // the nested call ran for the caller's tenant
        Assert.False(ambientSeen);
        await Assert.ThrowsAsync<SidecarAccessDeniedException>(async () => await kept!.InvokeFunctionAsync("inner", ReadOnlyMemory<byte>.Empty));
        var forged = new FunctionContext(new InvocationRequest("outer", ReadOnlyMemory<byte>.Empty, new TenantId("other")), "x");
        await Assert.ThrowsAsync<SidecarAccessDeniedException>(async () => await forged.InvokeFunctionAsync("inner", ReadOnlyMemory<byte>.Empty));
        Assert.Null(InvocationFrame.Take(kept!.Request)); // nothing left offered on this thread
    }
}
