using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OnDemandExecution;

// Delegate and handler-type functions are the AOT-compatible kinds (assembly functions need a JIT).
var services = new ServiceCollection();
services.AddOnDemandExecution(o => o.WarmingPoolSize = 1)
    .AddFunction("upper", (ctx, ct) => new ValueTask<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(ctx.Payload.Span).ToUpperInvariant())))
    .AddFunction<Reverse>("reverse");
await using var provider = services.BuildServiceProvider();
var executor = provider.GetRequiredService<IFunctionExecutor>();
var upper = await executor.InvokeAsync("upper", "aot");
var reverse = await executor.InvokeAsync("reverse", "aot");
Console.WriteLine($"{upper.OutputAsString()} {reverse.OutputAsString()}");
return upper.OutputAsString() == "AOT" && reverse.OutputAsString() == "toa" ? 0 : 1;

/// <summary>A handler type created through DI.</summary>
internal sealed class Reverse : IFunctionHandler
{
    public ValueTask<ReadOnlyMemory<byte>> HandleAsync(FunctionContext context, CancellationToken cancellationToken)
    {
        var bytes = context.Payload.ToArray();
        Array.Reverse(bytes);
        return new(bytes);
    }
}
