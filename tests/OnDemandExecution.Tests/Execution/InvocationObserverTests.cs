using Microsoft.Extensions.DependencyInjection;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Execution;

public class InvocationObserverTests
{
    private static readonly TenantId A = new("tenant-a");

    [Fact]
    public async Task Observers_SeeEveryAcceptedCall_StartAndEndExactlyOnce()
    {
        var observer = new Recorder();
        await using var host = TestHost.Create(configure: b =>
        {
            b.AddFunction("ok", TestHost.Noop);
            b.AddFunction("boom", TestHost.Noop);
            b.Services.AddSingleton<IInvocationObserver>(observer);
        });
        host.Provider.OnInvoke = (_, r, _) => r.FunctionName == "boom"
            ? throw new FunctionExecutionException("no") { FunctionName = "boom" }
            : new ValueTask<ReadOnlyMemory<byte>>(r.Payload);

        await host.Executor.InvokeAsync("ok", "x", A);
        await Assert.ThrowsAsync<FunctionExecutionException>(() => host.Executor.InvokeAsync("boom", "x", A).AsTask());
        await Assert.ThrowsAsync<FunctionNotFoundException>(() => host.Executor.InvokeAsync("missing", "x", A).AsTask());

        Assert.Equal(
            ["start ok tenant-a", "end ok result", "start boom tenant-a", "end boom FunctionExecutionException"],
            observer.Events);
    }

    [Fact]
    public async Task AThrowingObserver_IsSkipped_AndTheCallSucceeds()
    {
        var after = new Recorder();
        await using var host = TestHost.Create(configure: b =>
        {
            b.AddFunction("ok", TestHost.Noop);
            b.Services.AddSingleton<IInvocationObserver>(new Throwing());
            b.Services.AddSingleton<IInvocationObserver>(after);
        });

        var result = await host.Executor.InvokeAsync("ok", "x", A);

        Assert.NotNull(result);
        Assert.Equal(["start ok tenant-a", "end ok result"], after.Events);
    }

    private sealed class Recorder : IInvocationObserver
    {
        public List<string> Events { get; } = [];

        public void OnInvocationStarting(FunctionDefinition definition, InvocationRequest request) =>
            Events.Add($"start {definition.Name} {request.Tenant}");

        public void OnInvocationCompleted(FunctionDefinition definition, InvocationRequest request, InvocationResult? result, Exception? exception) =>
            Events.Add($"end {definition.Name} {(result is not null ? "result" : exception!.GetType().Name)}");
    }

    private sealed class Throwing : IInvocationObserver
    {
        public void OnInvocationStarting(FunctionDefinition definition, InvocationRequest request) => throw new InvalidOperationException("observer");

        public void OnInvocationCompleted(FunctionDefinition definition, InvocationRequest request, InvocationResult? result, Exception? exception) => throw new InvalidOperationException("observer");
    }
}
