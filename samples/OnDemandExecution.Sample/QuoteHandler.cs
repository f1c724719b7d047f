using System.Globalization;
using System.Text;
using OnDemandExecution;

namespace OnDemandExecution.Sample;

/// <summary>
/// A function implemented by a type: the in-process provider creates one per instance through DI (so it can take
/// services in its constructor) and drops it when the instance is recycled or destroyed.
/// </summary>
/// <remarks>Answers <c>tenant:sku:price:calls</c>; calls counts the calls this handler object (this instance) served.</remarks>
internal sealed class QuoteHandler(PriceList prices) : IFunctionHandler
{
    private int _calls;

    public ValueTask<ReadOnlyMemory<byte>> HandleAsync(FunctionContext context, CancellationToken cancellationToken)
    {
        var sku = Encoding.UTF8.GetString(context.Payload.Span);
        var price = prices.PriceOf(context.Tenant, sku);
        var calls = Interlocked.Increment(ref _calls);
        var answer = string.Create(CultureInfo.InvariantCulture, $"{context.Tenant}:{sku}:{price}:{calls}");
        return new(Encoding.UTF8.GetBytes(answer));
    }
}
