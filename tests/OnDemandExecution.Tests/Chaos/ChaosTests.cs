using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OnDemandExecution.Pooling;
using OnDemandExecution.Tests.TestSupport;
using Xunit.Abstractions;

namespace OnDemandExecution.Tests.Chaos;

/// <summary>
/// Issue 14's chaos test: a seeded fault-injecting provider (every operation may throw, hang or ignore its token) under
/// concurrent load from several tenants with random caller cancellations, and the pools' stop in the middle. After
/// every run: every request ended exactly once with a typed outcome, no instance ran two calls at once or served two
/// tenants without a recycle, the stop returned once its token fired, and the provider has no live instance left once
/// the hangs end. Runs on the real clock (the interleavings are what is tested); bounded by counts, never by time.
/// </summary>
[Trait("Category", "Chaos")]
public class ChaosTests(ITestOutputHelper output)
{
    private const int Workers = 16;
    private const int CallsPerWorker = 60;
    private static readonly TenantId[] Tenants = Enumerable.Range(0, 6).Select(i => new TenantId("t" + i)).ToArray();
    private static readonly string[] Functions = ["a", "b", "c"];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task FaultsEverywhere_StopInTheMiddle_NothingLostDoubledSharedOrLeaked(int seed)
    {
        var provider = new ChaosProvider(seed, faultRate: 0.06);
        var observer = new CountingObserver();
        var services = new ServiceCollection();
        services.AddSingleton<IInvocationObserver>(observer);
        var builder = services.AddOnDemandExecution(o =>
        {
            o.WarmingPoolSize = 3;
            o.PrewarmOnStart = false;
            o.MaxInstances = 16;
            o.InstanceStartTimeout = TimeSpan.FromMilliseconds(100);
            o.StopWorkTimeout = TimeSpan.FromMilliseconds(50);
            o.HealthCheckTimeout = TimeSpan.FromMilliseconds(50);
            o.HealthCheckInterval = TimeSpan.FromMilliseconds(5);
        }).AddProvider(_ => provider);
        foreach (var name in Functions)
        {
            builder.AddFunction(name, TestHost.Noop, f => f with { Timeout = TimeSpan.FromMilliseconds(30), KeepAlive = TimeSpan.FromMilliseconds(20), MaxConcurrency = 4, MaxQueueLength = 8 });
        }

        var sp = services.BuildServiceProvider();
        var executor = sp.GetRequiredService<IFunctionExecutor>();
        var pool = sp.GetRequiredService<PoolManager>();
        var problems = new ConcurrentQueue<string>();
        var outcomes = new ConcurrentDictionary<string, int>();
        var started = 0;
        var stopping = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stopToken = new CancellationTokenSource(TimeSpan.FromMilliseconds(300), TimeProvider.System);

        var maintenance = Task.Run(async () =>
        {
            while (!stopping.Task.IsCompleted)
            {
                await pool.RunMaintenancePassAsync(CancellationToken.None);
                await Task.Yield();
            }
        });

        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var random = new Random(seed * 1000 + w);
            for (var i = 0; i < CallsPerWorker; i++)
            {
                if (Interlocked.Increment(ref started) == Workers * CallsPerWorker / 2)
                {
                    provider.Stopping = true;
                    stopping.TrySetResult(pool.StopAsync(stopToken.Token)); // the host stops in the middle of the traffic
                }

                var tenant = Tenants[random.Next(Tenants.Length)];
                var request = new InvocationRequest(Functions[random.Next(Functions.Length)], Encoding.UTF8.GetBytes("x"), tenant, $"{w}-{i}");
                using var caller = new CancellationTokenSource();
                var cancels = random.Next(10) == 0;
                try
                {
                    var call = executor.InvokeAsync(request, caller.Token).AsTask();
                    if (cancels)
                    {
                        await Task.Yield();
                        await caller.CancelAsync();
                    }

                    var result = await call;
                    Count(outcomes, "success");
                    if (result.OutputAsString() != tenant.Value)
                    {
                        problems.Enqueue($"{request.InvocationId}: answered for another tenant ({result.OutputAsString()})");
                    }
                }
                catch (OperationCanceledException) when (caller.IsCancellationRequested)
                {
                    Count(outcomes, "cancelled");
                }
                catch (OnDemandExecutionException ex)
                {
                    Count(outcomes, ex.GetType().Name);
                }
                catch (ObjectDisposedException) when (provider.Stopping)
                {
                    Count(outcomes, "stopped");
                }
                catch (Exception ex)
                {
                    problems.Enqueue($"{request.InvocationId}: untyped {ex}");
                }
            }
        })).ToArray();

        await Task.WhenAll(workers).WaitAsync(Background.HangGuard);
        var stop = await stopping.Task;
        await stop.WaitAsync(Background.HangGuard); // returned: at the latest once its token fired
        await maintenance.WaitAsync(Background.HangGuard);

        provider.ReleaseHangs.SetResult(); // every hang ends now: late instances, stuck calls, disposals
        await Background.SettleAsync(pool);
        await sp.DisposeAsync().AsTask().WaitAsync(Background.HangGuard);
        await Background.UntilAsync(() => provider.Live == 0, "every instance the provider created is disposed");

        output.WriteLine($"seed {seed}: {string.Join(", ", outcomes.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}"))}; instances {provider.Instances.Count}");
        Assert.Empty(problems);
        Assert.Empty(provider.Violations);
        Assert.Equal(Workers * CallsPerWorker, outcomes.Values.Sum());
        Assert.True(observer.EachEndedOnce(out var observed), observed);
        Assert.True(outcomes.GetValueOrDefault("success") > 0, "nothing succeeded: the mix did not exercise the pools");
    }

    private static void Count(ConcurrentDictionary<string, int> outcomes, string key) => outcomes.AddOrUpdate(key, 1, (_, n) => n + 1);

    /// <summary>Counts each accepted request's start and end (the executor reports both exactly once).</summary>
    private sealed class CountingObserver : IInvocationObserver
    {
        private readonly ConcurrentDictionary<string, (int Started, int Ended)> _calls = new();

        public void OnInvocationStarting(FunctionDefinition definition, InvocationRequest request) =>
            _calls.AddOrUpdate(request.InvocationId, (1, 0), (_, c) => (c.Started + 1, c.Ended));

        public void OnInvocationCompleted(FunctionDefinition definition, InvocationRequest request, InvocationResult? result, Exception? exception) =>
            _calls.AddOrUpdate(request.InvocationId, (0, 1), (_, c) => (c.Started, c.Ended + 1));

        public bool EachEndedOnce(out string detail)
        {
            var wrong = _calls.Where(kv => kv.Value != (1, 1)).Select(kv => $"{kv.Key} {kv.Value}").Take(5).ToArray();
            detail = wrong.Length == 0 ? $"{_calls.Count} accepted requests, each started and ended once" : "not exactly once: " + string.Join("; ", wrong);
            return wrong.Length == 0;
        }
    }
}
