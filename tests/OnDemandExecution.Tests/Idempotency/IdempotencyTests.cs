using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using OnDemandExecution.Idempotency;
using OnDemandExecution.Tests.Sidecars;
using OnDemandExecution.Tests.TestSupport;

namespace OnDemandExecution.Tests.Idempotency;

public class IdempotencyTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private static readonly IdempotencyDefinition OnPrices = new() { Dependencies = ["db:prices", "blob:model"] };

    /// <summary>A host with an idempotent function "quote" whose executions are counted.</summary>
    private static (TestHost Host, Func<int> Executions) CreateHost(Action<IOnDemandExecutionBuilder>? more = null, IdempotencyDefinition? idempotency = null)
    {
        var executions = 0;
        var host = TestHost.Create(configure: b =>
        {
            b.AddFunction("quote", TestHost.Noop, f => f with { Idempotency = idempotency ?? OnPrices });
            more?.Invoke(b);
        });
        host.Provider.OnInvoke = (_, r, _) =>
        {
            var n = Interlocked.Increment(ref executions);
            return new ValueTask<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes($"{r.Tenant}:{Encoding.UTF8.GetString(r.Payload.Span)}:{n}"));
        };
        return (host, () => Volatile.Read(ref executions));
    }

    private static InMemoryDependencyStateProvider States(TestHost host) => host.Services.GetRequiredService<InMemoryDependencyStateProvider>();

    [Fact]
    public async Task SameInputAndDependencyStates_ReturnTheStoredResult_WithoutExecuting()
    {
        var (host, executions) = CreateHost();
        await using var _ = host;
        var tenant = new TenantId("a");

        var first = await host.Executor.InvokeAsync("quote", "widget", tenant);
        var second = await host.Executor.InvokeAsync("quote", "widget", tenant);

        Assert.Equal(1, executions());
        Assert.Equal(ResultOrigin.Executed, first.Origin);
        Assert.Equal(ResultOrigin.Cached, second.Origin);
        Assert.Equal(first.OutputAsString(), second.OutputAsString());
        Assert.Equal(first.InstanceId, second.InstanceId);
        Assert.NotEqual(first.InvocationId, second.InvocationId);
    }

    [Fact]
    public async Task AnyChange_Executes_DependencyInputOrTenant()
    {
        var (host, executions) = CreateHost();
        await using var _ = host;
        var a = new TenantId("a");
        await host.Executor.InvokeAsync("quote", "widget", a);

        States(host).Touch("blob:model");
        var afterChange = await host.Executor.InvokeAsync("quote", "widget", a);
        Assert.Equal(ResultOrigin.Executed, afterChange.Origin);
        Assert.Equal(2, executions());

        Assert.Equal(ResultOrigin.Executed, (await host.Executor.InvokeAsync("quote", "gadget", a)).Origin);
        Assert.Equal(ResultOrigin.Executed, (await host.Executor.InvokeAsync("quote", "widget", new TenantId("b"))).Origin);
        Assert.Equal(4, executions());

        States(host).SetState("db:prices", "etag-7");
        await host.Executor.InvokeAsync("quote", "widget", a);
        var again = await host.Executor.InvokeAsync("quote", "widget", a);
        Assert.Equal(ResultOrigin.Cached, again.Origin);
        Assert.Equal(5, executions());
    }

    [Fact]
    public async Task NonIdempotentFunction_AlwaysExecutes()
    {
        var (host, executions) = CreateHost(b => b.AddFunction("plain", TestHost.Noop));
        await using var _ = host;
        await host.Executor.InvokeAsync("plain", "x");
        var second = await host.Executor.InvokeAsync("plain", "x");
        Assert.Equal(2, executions());
        Assert.Equal(ResultOrigin.Executed, second.Origin);
    }

    [Fact]
    public async Task FailedExecution_IsNotStored()
    {
        var (host, executions) = CreateHost();
        await using var _ = host;
        var fail = true;
        var echo = host.Provider.OnInvoke;
        host.Provider.OnInvoke = (i, r, ct) => fail ? throw new FunctionExecutionException("boom") : echo(i, r, ct);

        await Assert.ThrowsAsync<FunctionExecutionException>(() => host.Executor.InvokeAsync("quote", "x").AsTask());
        fail = false;
        var result = await host.Executor.InvokeAsync("quote", "x");
        Assert.Equal(ResultOrigin.Executed, result.Origin);
        Assert.Equal(1, executions());
    }

    [Fact]
    public async Task HundredConcurrentIdenticalRequests_ExecuteOnce()
    {
        var (host, executions) = CreateHost();
        await using var _ = host;
        var gate = host.Provider.HoldCalls();
        var coordinator = host.FunctionExecutor.Idempotency;

        var calls = Enumerable.Range(0, 100)
            .Select(_ => Task.Run(() => host.Executor.InvokeAsync("quote", "same", new TenantId("a")).AsTask()))
            .ToArray();
        var deadline = DateTimeOffset.UtcNow + HangGuard;
        while (coordinator.Coalesced < 99 && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Yield();
        }

        Assert.Equal(99, coordinator.Coalesced);
        gate.SetResult();
        var results = await Task.WhenAll(calls).WaitAsync(HangGuard);

        Assert.Equal(1, executions());
        Assert.Single(results, r => r.Origin == ResultOrigin.Executed);
        Assert.Equal(99, results.Count(r => r.Origin == ResultOrigin.Coalesced));
        Assert.Single(results.Select(r => r.OutputAsString()).Distinct());
        Assert.Equal(100, results.Select(r => r.InvocationId).Distinct().Count());
        Assert.Equal(ResultOrigin.Cached, (await host.Executor.InvokeAsync("quote", "same", new TenantId("a"))).Origin);
    }

    [Fact]
    public async Task CancelledLeader_DoesNotFailTheRequestsThatJoinedIt()
    {
        var (host, executions) = CreateHost();
        await using var _ = host;
        var gate = host.Provider.HoldCalls();
        using var cancelLeader = new CancellationTokenSource();
        var leader = host.Executor.InvokeAsync("quote", "x", default, cancelLeader.Token).AsTask();
        var follower = host.Executor.InvokeAsync("quote", "x").AsTask();
        Assert.Equal(1, host.FunctionExecutor.Idempotency.Coalesced);

        await cancelLeader.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader.WaitAsync(HangGuard));
        gate.SetResult();
        var result = await follower.WaitAsync(HangGuard);

        Assert.Equal(ResultOrigin.Executed, result.Origin); // it retried and led
        Assert.Equal(1, executions());
    }

    [Fact]
    public async Task DependencyChangedWhileRunning_ResultIsReturnedButNotStored()
    {
        var (host, executions) = CreateHost();
        await using var _ = host;
        var echo = host.Provider.OnInvoke;
        host.Provider.OnInvoke = (i, r, ct) =>
        {
            States(host).Touch("db:prices");
            return echo(i, r, ct);
        };

        await host.Executor.InvokeAsync("quote", "x");
        host.Provider.OnInvoke = echo;
        Assert.Equal(ResultOrigin.Executed, (await host.Executor.InvokeAsync("quote", "x")).Origin);
        Assert.Equal(2, executions());
    }

    [Fact]
    public async Task UnknownDependencyState_AlwaysExecutes_ThroughACustomProvider()
    {
        var (host, executions) = CreateHost(b => b.UseDependencyStateProvider(_ => new UnknownStates()));
        await using var _ = host;
        await host.Executor.InvokeAsync("quote", "x");
        var second = await host.Executor.InvokeAsync("quote", "x");
        Assert.Equal(ResultOrigin.Executed, second.Origin);
        Assert.Equal(2, executions());
    }

    [Fact]
    public async Task NoDependencies_CachesOnInputAlone_ThroughACustomCache()
    {
        var (host, executions) = CreateHost(b => b.UseIdempotencyCache<RecordingCache>(), new IdempotencyDefinition());
        await using var _ = host;
        await host.Executor.InvokeAsync("quote", "x");
        Assert.Equal(ResultOrigin.Cached, (await host.Executor.InvokeAsync("quote", "x")).Origin);
        Assert.Equal(1, executions());
        Assert.Single(((RecordingCache)host.Services.GetRequiredService<IIdempotencyCache>()).Keys);
    }

    [Fact]
    public async Task StoredResult_ExpiresAfterItsTimeToLive()
    {
        var (host, executions) = CreateHost(idempotency: OnPrices with { ResultTimeToLive = TimeSpan.FromMinutes(1) });
        await using var _ = host;
        await host.Executor.InvokeAsync("quote", "x");
        host.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(ResultOrigin.Cached, (await host.Executor.InvokeAsync("quote", "x")).Origin);
        host.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(ResultOrigin.Executed, (await host.Executor.InvokeAsync("quote", "x")).Origin);
        Assert.Equal(2, executions());
    }

    [Fact]
    public async Task InProcessHandler_ThroughDI_RunsOncePerState()
    {
        var runs = 0;
        await using var host = InProcessHost.Create(null, b => b.AddFunction("price", (ctx, _) =>
        {
            Interlocked.Increment(ref runs);
            return new ValueTask<ReadOnlyMemory<byte>>(ctx.Payload.ToArray());
        }, f => f with { Idempotency = new IdempotencyDefinition { Dependencies = ["catalog"] } }));
        var states = host.Services.GetRequiredService<InMemoryDependencyStateProvider>();

        for (var i = 0; i < 5; i++)
        {
            await host.Executor.InvokeAsync("price", "sku-1");
        }

        states.Touch("catalog");
        await host.Executor.InvokeAsync("price", "sku-1");
        Assert.Equal(2, runs);
    }

    [Fact]
    public async Task MemoryCache_IsBounded_LeastRecentlyUsedFirst()
    {
        var cache = new MemoryIdempotencyCache(Options.Create(new IdempotencyOptions { CacheCapacity = 2, CacheMaxBytes = 10, MaxResultBytes = 6 }), new FakeTimeProvider());
        StoredResult Result(int bytes) => new(new byte[bytes], StartKind.Warm, "i", null);

        await cache.SetAsync("a", Result(1), default);
        await cache.SetAsync("b", Result(1), default);
        Assert.NotNull(await cache.GetAsync("a", default)); // a is now the most recent
        await cache.SetAsync("c", Result(1), default);      // evicts b
        Assert.Null(await cache.GetAsync("b", default));
        Assert.NotNull(await cache.GetAsync("a", default));
        Assert.Equal(2, cache.Count);

        await cache.SetAsync("big", Result(7), default);    // over MaxResultBytes: not stored
        Assert.Null(await cache.GetAsync("big", default));
        await cache.SetAsync("d", Result(6), default);
        await cache.SetAsync("e", Result(6), default);      // 12 bytes > 10: d goes
        Assert.Null(await cache.GetAsync("d", default));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Key_DependsOnFunctionTenantInputAndEveryState()
    {
        var f = new FunctionDefinition("f", new DelegateFunctionCode(TestHost.Noop)) { Idempotency = OnPrices };
        string Key(string tenant, string payload, params string[] states) =>
            IdempotencyCoordinator.ComputeKey(f, new InvocationRequest("f", Encoding.UTF8.GetBytes(payload), new TenantId(tenant)), OnPrices, states);

        var keys = new[]
        {
            Key("a", "x", "1", "1"), Key("b", "x", "1", "1"), Key("a", "y", "1", "1"), Key("a", "x", "2", "1"), Key("a", "x", "1", "2"),
            Key("a", "x", "11", ""), // length prefixes: no ambiguity between ("1","1") and ("11","")
        };
        Assert.Equal(keys.Length, keys.Distinct().Count());
        Assert.Equal(Key("a", "x", "1", "1"), Key("a", "x", "1", "1"));
    }

    [Fact]
    public async Task Register_InvalidIdempotency_Throws()
    {
        await using var host = TestHost.Create();
        Assert.Throws<ArgumentException>(() => host.Catalog.Register(new FunctionDefinition("f", new DelegateFunctionCode(TestHost.Noop)) { Idempotency = new() { Dependencies = [""] } }));
        Assert.Throws<ArgumentException>(() => host.Catalog.Register(new FunctionDefinition("g", new DelegateFunctionCode(TestHost.Noop)) { Idempotency = new() { ResultTimeToLive = TimeSpan.Zero } }));
    }

    private sealed class UnknownStates : IDependencyStateProvider
    {
        public ValueTask<string?> GetStateAsync(string dependency, TenantId tenant, CancellationToken cancellationToken) => new((string?)null);
    }

    private sealed class RecordingCache : IIdempotencyCache
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, StoredResult> _entries = new();

        public ICollection<string> Keys => _entries.Keys;

        public ValueTask<StoredResult?> GetAsync(string key, CancellationToken cancellationToken) => new(_entries.TryGetValue(key, out var r) ? r : null);

        public ValueTask SetAsync(string key, StoredResult result, CancellationToken cancellationToken)
        {
            _entries[key] = result;
            return default;
        }
    }
}
