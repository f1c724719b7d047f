using System.Text;
using OnDemandExecution;

namespace OnDemandExecution.TestFunctions;

/// <summary>Returns "echo:" + payload + ":" + how many times this handler object has run (per instance state).</summary>
public sealed class EchoHandler : IFunctionHandler
{
    private int _calls;

    public ValueTask<ReadOnlyMemory<byte>> HandleAsync(FunctionContext context, CancellationToken cancellationToken)
    {
        var n = Interlocked.Increment(ref _calls);
        var text = "echo:" + Encoding.UTF8.GetString(context.Payload.Span) + ":" + n;
        return new(Encoding.UTF8.GetBytes(text));
    }
}

/// <summary>Not a handler: loading it must fail with a typed error.</summary>
public sealed class NotAHandler
{
}
