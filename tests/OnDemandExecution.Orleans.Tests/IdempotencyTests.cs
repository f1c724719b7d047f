using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using static OnDemandExecution.Orleans.Tests.ClusterHarness;

namespace OnDemandExecution.Orleans.Tests;

/// <summary>Idempotent results shared by the silos through one IDistributedCache, per tenant.</summary>
[Collection("cluster")]
public sealed class IdempotencyTests
{
    [Fact]
    public async Task A_result_stored_on_one_silo_is_served_by_another_for_the_same_tenant_only()
    {
        var shared = new SharedCache();
        await using var harness = await StartAsync(silos: 2, sharedResults: shared);
        var (first, second) = (harness.Silos[0], harness.Silos[1]);
        var local = (InProcessSiloHandle silo) => silo.ServiceProvider.GetRequiredService<IFunctionExecutor>();

        var executed = await local(first).InvokeAsync(Call("quote", "widget", Acme));
        var cached = await local(second).InvokeAsync(Call("quote", "widget", Acme));
        var otherTenant = await local(second).InvokeAsync(Call("quote", "widget", new TenantId("globex")));

        Assert.Equal(ResultOrigin.Executed, executed.Origin);
        Assert.Equal(ResultOrigin.Cached, cached.Origin);
        Assert.Equal(Encoding.UTF8.GetString(executed.Output.Span), Encoding.UTF8.GetString(cached.Output.Span));
        Assert.StartsWith(first.Name + ":", Encoding.UTF8.GetString(cached.Output.Span), StringComparison.Ordinal); // ran on the first silo only
        Assert.Equal(ResultOrigin.Executed, otherTenant.Origin);
        Assert.StartsWith(second.Name + ":", Encoding.UTF8.GetString(otherTenant.Output.Span), StringComparison.Ordinal);
        Assert.Equal(2, shared.Count);
    }

    /// <summary>A minimal process-wide IDistributedCache (Redis or SQL Server in production).</summary>
    private sealed class SharedCache : IDistributedCache
    {
        private readonly ConcurrentDictionary<string, byte[]> _entries = new(StringComparer.Ordinal);

        public int Count => _entries.Count;

        public byte[]? Get(string key) => _entries.TryGetValue(key, out var v) ? v : null;

        public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => Task.FromResult(Get(key));

        public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => _entries[key] = value;

        public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
        {
            Set(key, value, options);
            return Task.CompletedTask;
        }

        public void Refresh(string key)
        {
        }

        public Task RefreshAsync(string key, CancellationToken token = default) => Task.CompletedTask;

        public void Remove(string key) => _entries.TryRemove(key, out _);

        public Task RemoveAsync(string key, CancellationToken token = default)
        {
            Remove(key);
            return Task.CompletedTask;
        }
    }
}
