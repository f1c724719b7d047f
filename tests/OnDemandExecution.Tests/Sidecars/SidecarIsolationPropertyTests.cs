using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using System.Text;

namespace OnDemandExecution.Tests.Sidecars;

/// <summary>
/// Property: whatever the functions, scopes, tenants, interleavings and leaked handles, no call ever reaches a sidecar
/// of another tenant, and every call a tenant makes to its own attached sidecar lands on a sidecar of that tenant.
/// </summary>
public class SidecarIsolationPropertyTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task NoTenant_EverReachesAnotherTenantsSidecar(int seed)
    {
        var random = new Random(seed);
        var tenants = Enumerable.Range(0, 2 + random.Next(3)).Select(i => new TenantId("t" + i)).ToArray();
        var leaked = new ConcurrentDictionary<SidecarHandle, TenantId>(); // every handle ever obtained, with its owner
        var violations = new ConcurrentQueue<string>();
        long denied = 0, reachedOwn = 0;

        async ValueTask<ReadOnlyMemory<byte>> Handler(FunctionContext ctx, CancellationToken ct)
        {
            var caller = ctx.Tenant;
            var names = ctx.Payload.Length == 0 ? [] : Encoding.UTF8.GetString(ctx.Payload.Span).Split(',');
            foreach (var name in names)
            {
                var own = ctx.GetSidecar(name);
                leaked.TryAdd(own, caller);
                var answer = Encoding.UTF8.GetString((await own.InvokeAsync(Encoding.UTF8.GetBytes("ping"), ct)).Span);
                if (answer.Split(':')[1] != caller.Value)
                {
                    violations.Enqueue($"{caller} reached {answer} through its own sidecar '{name}'");
                }
            }

            // Try every handle leaked so far, from any tenant and any invocation.
            foreach (var (handle, owner) in leaked.ToArray())
            {
                try
                {
                    var answer = Encoding.UTF8.GetString((await handle.InvokeAsync(Encoding.UTF8.GetBytes("probe"), ct)).Span);
                    Interlocked.Increment(ref reachedOwn);
                    if (owner != caller || answer.Split(':')[1] != caller.Value)
                    {
                        violations.Enqueue($"{caller} reached {answer}, a sidecar of {owner}");
                    }
                }
                catch (SidecarAccessDeniedException)
                {
                    Interlocked.Increment(ref denied);
                }
            }

            return Encoding.UTF8.GetBytes(caller.Value);
        }

        // Random functions, each with 0 to 3 sidecars of random scopes; some per-user definitions are shared.
        var sharedUser = new SidecarDefinition("shared", SidecarTests.EchoSidecar("shared"), SidecarScope.PerUser);
        var functions = new List<(string Name, string[] Sidecars)>();
        await using var host = InProcessHost.Create(
            o => o.WarmingPoolSize = random.Next(4),
            b =>
            {
                for (var f = 0; f < 2 + random.Next(3); f++)
                {
                    var sidecars = new List<SidecarDefinition>();
                    for (var s = random.Next(4); s > 0; s--)
                    {
                        var scope = (SidecarScope)random.Next(3);
                        var name = $"s{s}";
                        sidecars.Add(scope == SidecarScope.PerUser && random.Next(2) == 0
                            ? new SidecarDefinition(name, sharedUser.Code, SidecarScope.PerUser)
                            : new SidecarDefinition(name, SidecarTests.EchoSidecar(name), scope));
                    }

                    if (random.Next(3) == 0)
                    {
                        sidecars.Add(sharedUser);
                    }

                    var functionName = "f" + f;
                    functions.Add((functionName, sidecars.Select(s => s.Name).ToArray()));
                    var keepAlive = TimeSpan.FromSeconds(30 + random.Next(120));
                    b.AddFunction(functionName, Handler, d => d with { Sidecars = sidecars, KeepAlive = keepAlive });
                }
            });
        await host.Pools.PrewarmAsync();

        for (var step = 0; step < 40; step++)
        {
            switch (random.Next(6))
            {
                case 0:
                    await host.ExpireIdleAsync(TimeSpan.FromSeconds(random.Next(200))); // primaries expire, sidecars stop
                    break;
                default:
                    var calls = new Task<InvocationResult>[1 + random.Next(4)];
                    for (var c = 0; c < calls.Length; c++)
                    {
                        var (name, sidecars) = functions[random.Next(functions.Count)];
                        var use = sidecars.Where(_ => random.Next(3) > 0).ToArray();
                        var tenant = tenants[random.Next(tenants.Length)];
                        calls[c] = Task.Run(() => host.Executor.InvokeAsync(name, string.Join(',', use), tenant).AsTask());
                    }

                    foreach (var call in calls)
                    {
                        await call.WaitAsync(HangGuard);
                    }

                    break;
            }

            // Outside any invocation, nothing is reachable.
            foreach (var handle in leaked.Keys.Take(3))
            {
                await Assert.ThrowsAsync<SidecarAccessDeniedException>(() => handle.InvokeAsync(Encoding.UTF8.GetBytes("outside")).AsTask());
            }
        }

        Assert.Empty(violations);
        Assert.True(denied > 0 || tenants.Length == 1 || leaked.IsEmpty, $"seed {seed}: no cross-tenant attempt was made");
        _ = reachedOwn;

        await host.ExpireIdleAsync(TimeSpan.FromHours(1));
        Assert.Equal(0, host.FunctionExecutor.Sidecars.RunningCount);
    }

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        for (var seed = 1; seed <= 25; seed++)
        {
            data.Add(seed);
        }

        return data;
    }
}
