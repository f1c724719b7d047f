using System.Text;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Idempotency;

/// <summary>Idempotent results kept in an IDistributedCache: shared by hosts, per tenant, single flight per host.</summary>
public class DistributedIdempotencyCacheTests
{
    private static readonly IdempotencyDefinition NoDependencies = new();

    private static (TestHost Host, Func<int> Executions) CreateHost(IDistributedCache shared, string hostName)
    {
        var executions = 0;
        var host = TestHost.Create(configure: b =>
        {
            b.Services.AddSingleton(shared);
            b.AddFunction("quote", TestHost.Noop, f => f with { Idempotency = NoDependencies });
            b.UseDistributedIdempotencyCache();
        });
        host.Provider.OnInvoke = (_, r, _) =>
        {
            var n = Interlocked.Increment(ref executions);
            return new ValueTask<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes($"{hostName}:{r.Tenant}:{Encoding.UTF8.GetString(r.Payload.Span)}:{n}"));
        };
        return (host, () => Volatile.Read(ref executions));
    }

    private static MemoryDistributedCache NewCache() => new(Options.Create(new MemoryDistributedCacheOptions()));

    [Fact]
    public async Task AResultStoredByOneHost_IsServedByAnother_ForTheSameTenantOnly()
    {
        var shared = NewCache();
        var (first, firstRuns) = CreateHost(shared, "host1");
        var (second, secondRuns) = CreateHost(shared, "host2");
        await using var _ = first;
        await using var __ = second;

        var executed = await first.Executor.InvokeAsync("quote", "widget", new TenantId("a"));
        var cached = await second.Executor.InvokeAsync("quote", "widget", new TenantId("a"));
        var otherTenant = await second.Executor.InvokeAsync("quote", "widget", new TenantId("b"));

        Assert.Equal(ResultOrigin.Executed, executed.Origin);
        Assert.Equal(ResultOrigin.Cached, cached.Origin);
        Assert.Equal("host1:a:widget:1", cached.OutputAsString());
        Assert.Equal(executed.InstanceId, cached.InstanceId);
        Assert.Equal(ResultOrigin.Executed, otherTenant.Origin);
        Assert.Equal("host2:b:widget:1", otherTenant.OutputAsString());
        Assert.Equal((1, 1), (firstRuns(), secondRuns()));
    }

    [Fact]
    public async Task ConcurrentIdenticalRequests_OnOneHost_ExecuteOnce()
    {
        var (host, executions) = CreateHost(NewCache(), "host1");
        await using var _ = host;
        var gate = host.Provider.HoldCalls();
        var calls = Enumerable.Range(0, 20).Select(_ => host.Executor.InvokeAsync("quote", "same", new TenantId("a")).AsTask()).ToArray();
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30); // a hang guard, not a timing assertion
        while (host.FunctionExecutor.Idempotency.Coalesced < 19 && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Yield();
        }

        Assert.Equal(19, host.FunctionExecutor.Idempotency.Coalesced);
        gate.SetResult();
        var results = await Task.WhenAll(calls);

        Assert.Equal(1, executions());
        Assert.Single(results.Select(r => r.OutputAsString()).Distinct());
    }

    [Fact]
    public void Encoding_RoundTrips_AndAnythingElseIsAMiss()
    {
        var expires = new DateTimeOffset(2026, 12, 5, 10, 0, 0, TimeSpan.FromHours(2));
        var stored = new StoredResult(new byte[] { 1, 2, 3 }, StartKind.WarmPool, "inst-7", expires);

        var back = DistributedIdempotencyCache.Decode(DistributedIdempotencyCache.Encode(stored))!;
        var noExpiry = DistributedIdempotencyCache.Decode(DistributedIdempotencyCache.Encode(stored with { ExpiresAt = null }))!;

        Assert.Equal(new byte[] { 1, 2, 3 }, back.Output.ToArray());
        Assert.Equal((StartKind.WarmPool, "inst-7", expires, expires.Offset), (back.StartKind, back.InstanceId, back.ExpiresAt!.Value, back.ExpiresAt.Value.Offset));
        Assert.Null(noExpiry.ExpiresAt);
        Assert.Null(DistributedIdempotencyCache.Decode([9, 9, 9]));
        Assert.Null(DistributedIdempotencyCache.Decode(new byte[40]));
    }

    [Fact]
    public async Task OversizedResults_AreNotStored_AndKeysArePrefixed()
    {
        var shared = NewCache();
        var cache = new DistributedIdempotencyCache(shared, Options.Create(new DistributedIdempotencyCacheOptions { KeyPrefix = "p:" }), Options.Create(new IdempotencyOptions { MaxResultBytes = 4 }));

        await cache.SetAsync("k1", new StoredResult(new byte[5], StartKind.Warm, "i", null), CancellationToken.None);
        await cache.SetAsync("k2", new StoredResult(new byte[4], StartKind.Warm, "i", null), CancellationToken.None);

        Assert.Null(await cache.GetAsync("k1", CancellationToken.None));
        Assert.NotNull(await cache.GetAsync("k2", CancellationToken.None));
        Assert.NotNull(await shared.GetAsync("p:k2"));
    }

    [Fact]
    public void WithoutADistributedCache_TheErrorSaysWhatToRegister()
    {
        var host = TestHost.Create(configure: b => b.UseDistributedIdempotencyCache());
        var error = Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredService<IIdempotencyCache>());
        Assert.Contains("IDistributedCache", error.Message, StringComparison.Ordinal);
    }
}
