using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using OnDemandExecution;

namespace OnDemandExecution.Sample;

/// <summary>
/// About 4.5 seconds of traffic from three kinds of callers across three tenants, on a real clock:
/// <list type="bullet">
/// <item><description>steady: each tenant calls <c>hash</c> every 50 ms (one instance per tenant stays warm);</description></item>
/// <item><description>bursty: now and then one tenant fires 16 concurrent <c>wordcount</c> calls and 6 <c>thumbnail</c>
/// calls. The warming pool holds 4 instances but in-process ones are created in microseconds, so it refills while the
/// burst is still arriving; <c>thumbnail</c> needs more memory than warming-pool instances have, so each new instance
/// of it is a cold start. A burst that comes back within the keep-alive finds warm instances, and 16 calls exceed
/// <c>wordcount</c>'s limits, so some are rejected;</description></item>
/// <item><description>periodic: each tenant calls <c>quote</c> after gaps of 1.1 s, 2.0 s, 1.1 s; the function's keep-alive
/// is 1.5 s, so the call after the long gap finds its instance expired.</description></item>
/// </list>
/// </summary>
internal sealed class Workload(IFunctionExecutor executor, CallStats stats)
{
    public const string HashFunction = "hash";
    public const string QuoteFunction = "quote";
    public const string WordCountFunction = "wordcount";
    public const string ThumbnailFunction = "thumbnail";
    public const int BurstSize = 16;
    public const int ThumbnailBurstSize = 6;
    public const int WordCountMaxConcurrency = 10;
    public const int WordCountMaxQueueLength = 4;

    /// <summary>More than warming-pool instances have (<see cref="InstanceSpec.MemoryMb"/>, 256 by default).</summary>
    public const int ThumbnailMemoryMb = 1024;

    public static readonly TimeSpan Duration = TimeSpan.FromSeconds(4.5);
    public static readonly TimeSpan SteadyInterval = TimeSpan.FromMilliseconds(50);
    public static readonly TimeSpan QuoteKeepAlive = TimeSpan.FromSeconds(1.5);

    private static readonly TenantId[] Tenants = [new("acme"), new("globex"), new("initech")];
    private static readonly double[] PeriodicGapsSeconds = [1.1, 2.0, 1.1];
    private static readonly (double AtSeconds, int Tenant)[] Bursts =
    [
        (0.50, 0), // acme's first burst: warming-pool starts (wordcount) and cold starts (thumbnail)
        (1.25, 1), // globex: the same, for another tenant (never served by acme's instances)
        (2.00, 0), // acme again within the keep-alive: warm hits
        (2.75, 2), // initech: at MaxInstances, cold starts evict the least recently used idle instances
        (3.75, 1), // globex after its keep-alive: its instances are gone, new starts again
        (4.25, 2), // initech again within the keep-alive: warm hits
    ];

    private long _start;

    public static IReadOnlyList<TenantId> TenantIds => Tenants;

    /// <summary>The <c>hash</c> function, registered as a delegate: the first 16 hex digits of the payload's SHA-256.</summary>
    public static ValueTask<ReadOnlyMemory<byte>> HashAsync(FunctionContext context, CancellationToken cancellationToken) =>
        new(Encoding.ASCII.GetBytes(Hash(context.Payload.Span)));

    /// <summary>
    /// The <c>thumbnail</c> function, registered as a delegate that needs <see cref="ThumbnailMemoryMb"/>: answers
    /// <c>thumb:N</c> for an N-byte image after 10 ms of "rendering".
    /// </summary>
    public static async ValueTask<ReadOnlyMemory<byte>> ThumbnailAsync(FunctionContext context, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(10), cancellationToken);
        return Encoding.ASCII.GetBytes($"thumb:{context.Payload.Length}");
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _start = Stopwatch.GetTimestamp();
        var callers = new List<Task>();
        for (var i = 0; i < Tenants.Length; i++)
        {
            callers.Add(SteadyAsync(Tenants[i], TimeSpan.FromMilliseconds(15 * i), cancellationToken));
            callers.Add(PeriodicAsync(Tenants[i], TimeSpan.FromMilliseconds(100 * i), cancellationToken));
        }

        callers.Add(BurstsAsync(cancellationToken));
        await Task.WhenAll(callers);
    }

    private static string Hash(ReadOnlySpan<byte> payload) => Convert.ToHexString(SHA256.HashData(payload))[..16];

    private async Task SteadyAsync(TenantId tenant, TimeSpan offset, CancellationToken cancellationToken)
    {
        for (var i = 0; ; i++)
        {
            var at = offset + (SteadyInterval * i);
            if (at >= Duration)
            {
                return;
            }

            await WaitUntilAsync(at, cancellationToken);
            var payload = Encoding.UTF8.GetBytes($"{tenant}/{i}");
            var expected = Hash(payload);
            await stats.RunAsync(
                HashFunction,
                () => executor.InvokeAsync(HashFunction, payload, tenant, cancellationToken),
                r => r.OutputAsString() == expected);
        }
    }

    private async Task PeriodicAsync(TenantId tenant, TimeSpan offset, CancellationToken cancellationToken)
    {
        var at = offset;
        for (var i = 0; i <= PeriodicGapsSeconds.Length; i++)
        {
            await WaitUntilAsync(at, cancellationToken);
            var sku = $"sku-{(i % 3) + 1}";

            // The handler sees the tenant the pool assigned its instance to: it must be the caller's.
            await stats.RunAsync(
                QuoteFunction,
                () => executor.InvokeAsync(QuoteFunction, sku, tenant, cancellationToken),
                r => r.OutputAsString().StartsWith($"{tenant}:{sku}:", StringComparison.Ordinal));
            if (i < PeriodicGapsSeconds.Length)
            {
                at += TimeSpan.FromSeconds(PeriodicGapsSeconds[i]);
            }
        }
    }

    private async Task BurstsAsync(CancellationToken cancellationToken)
    {
        for (var b = 0; b < Bursts.Length; b++)
        {
            var (atSeconds, t) = Bursts[b];
            await WaitUntilAsync(TimeSpan.FromSeconds(atSeconds), cancellationToken);
            var tenant = Tenants[t];
            var burst = b;
            var calls = new List<Task>(BurstSize + ThumbnailBurstSize);

            // Started together, as one client's concurrent requests: each runs synchronously up to its first await.
            for (var i = 0; i < BurstSize; i++)
            {
                calls.Add(WordCountAsync(tenant, burst, i, cancellationToken));
            }

            for (var i = 0; i < ThumbnailBurstSize; i++)
            {
                calls.Add(ThumbnailCallAsync(tenant, i, cancellationToken));
            }

            await Task.WhenAll(calls);
        }
    }

    private Task WordCountAsync(TenantId tenant, int burst, int n, CancellationToken cancellationToken)
    {
        // One document per burst is empty: the function rejects it (an expected FunctionExecutionException).
        var words = n == 7 ? 0 : 5 + (n % 4);
        var document = words == 0 ? string.Empty : $"{tenant} burst {burst} document {n}" + string.Concat(Enumerable.Repeat(" lorem", words - 5));
        return stats.RunAsync(
            WordCountFunction,
            () => executor.InvokeAsync(WordCountFunction, document, tenant, cancellationToken),
            r => r.OutputAsString().StartsWith($"words={words};", StringComparison.Ordinal));
    }

    private Task ThumbnailCallAsync(TenantId tenant, int n, CancellationToken cancellationToken)
    {
        var image = new byte[1000 + (n * 100)];
        return stats.RunAsync(
            ThumbnailFunction,
            () => executor.InvokeAsync(ThumbnailFunction, image, tenant, cancellationToken),
            r => r.OutputAsString() == $"thumb:{image.Length}");
    }

    private async Task WaitUntilAsync(TimeSpan at, CancellationToken cancellationToken)
    {
        var wait = at - Stopwatch.GetElapsedTime(_start);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, cancellationToken);
        }
    }
}
