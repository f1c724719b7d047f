using System.Globalization;
using System.Text;

namespace OnDemandExecution.SampleFunctions;

/// <summary>
/// Counts the words of a UTF-8 document and answers <c>words=N;calls=M</c>, where M counts the calls this handler
/// object has served: one handler object lives per instance, so M shows instance reuse (warm hits).
/// </summary>
/// <remarks>An empty document fails on purpose, to show how a function's own error reaches the caller.</remarks>
public sealed class WordCountHandler : IFunctionHandler
{
    private int _calls;

    /// <inheritdoc/>
    public async ValueTask<ReadOnlyMemory<byte>> HandleAsync(FunctionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var calls = Interlocked.Increment(ref _calls);
        var text = Encoding.UTF8.GetString(context.Payload.Span);
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ArgumentException("The document is empty; send some text to count.", nameof(context));
        }

        // Stands in for real work (I/O, a model call...): it keeps the instance busy long enough for bursts to need more.
        await Task.Delay(TimeSpan.FromMilliseconds(150), cancellationToken).ConfigureAwait(false);
        var words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        return Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"words={words};calls={calls}"));
    }
}
