using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Execution;
using OnDemandExecution.Pooling;
using OnDemandExecution.Tests.TestSupport;
using Xunit.Abstractions;

namespace OnDemandExecution.Tests.Stress;

/// <summary>
/// Many callers, several tenants and functions with small limits, a small instance budget, caller cancellations,
/// maintenance running alongside, and a provider that fails at random: every request must end exactly once with a
/// typed outcome, no instance may run two calls at once or serve a second tenant without a recycle, and nothing
/// may leak. Runs on the real clock (the concurrency is what is tested); seeded, so the request mix repeats.
/// </summary>
[Trait("Category", "Stress")]
public class ExecutorStressTests(ITestOutputHelper output)
{
    private const int Callers = 64;
    private const int CallsPerCaller = 300;
    private const int Seed = 20260101;
    private const int WarmingPoolSize = 4;
    private const string Marker = "injected";

    private static readonly TenantId[] Tenants = [new("t0"), new("t1"), new("t2"), new("t3")];

    private enum Plan : byte
    {
        Ok,
        FunctionError,
        Die,
        ProviderFault,
        Hang, // honours the token: ends at the (short) timeout
        Ignore, // ignores the token: runs past the timeout and is abandoned
    }

    private enum Outcome
    {
        Success,
        FunctionError,
        InstanceDied,
        ProviderError,
        QueueFull,
        Capacity,
        Timeout,
        Cancelled,
        Unexpected,
    }

    [Fact]
    public async Task InvokeAsync_ConcurrentCallersWithFaultsAndCancellations_EveryRequestEndsOnceAndNothingLeaks()
    {
        var fake = new FakeInstanceProvider();
        var faults = new Random(Seed);
        bool Roll(double p)
        {
            lock (faults)
            {
                return faults.NextDouble() < p;
            }
        }

        fake.OnCreate = async (_, ct) =>
        {
            if (Roll(0.1))
            {
                await Task.Delay(2, ct); // a slow boot: leaves the warming pool short for a while, so maintenance recycles
            }
            else if (Roll(0.3))
            {
                await Task.Yield();
            }

            if (Roll(0.03))
            {
                throw new InjectedFaultException(Marker + " create failure");
            }
        };
        fake.OnLoad = async (_, _) =>
        {
            if (Roll(0.3))
            {
                await Task.Yield();
            }

            if (Roll(0.03))
            {
                throw new InjectedFaultException(Marker + " load failure");
            }
        };
        fake.OnInvoke = InvokeAsync;

        var functions = new[]
        {
            new FunctionDefinition("alpha", new DelegateFunctionCode(TestHost.Noop)) { MaxConcurrency = 3, MaxQueueLength = 16 },
            new FunctionDefinition("beta", new DelegateFunctionCode(TestHost.Noop)) { MaxConcurrency = 2, MaxQueueLength = 8 },
            new FunctionDefinition("gamma", new DelegateFunctionCode(TestHost.Noop)) { MaxConcurrency = 4, MaxQueueLength = 24 },
            new FunctionDefinition("slow", new DelegateFunctionCode(TestHost.Noop)) { MaxConcurrency = 2, MaxQueueLength = 8, Timeout = TimeSpan.FromMilliseconds(20) },
        };
        var services = new ServiceCollection();
        services.AddMetrics();
        var builder = services.AddOnDemandExecution(o =>
        {
            o.WarmingPoolSize = WarmingPoolSize;
            o.MaxInstances = 14; // below tenants x functions (16 active keys) plus the warming pool: forces eviction
            o.MaxConcurrentProvisioning = 1;
            o.KeepAlive = TimeSpan.FromMilliseconds(2); // maintenance below expires idle instances, recycling some (how many varies)
        });
        builder.AddProvider(_ => fake);
        foreach (var function in functions)
        {
            builder.AddFunction(function);
        }

        var sp = services.BuildServiceProvider(validateScopes: true);
        await using var owned = sp; // disposed again below, on purpose, before the leak check
        using var destroyedCounter = new MetricCollector<long>(sp.GetRequiredService<IMeterFactory>(), OnDemandExecutionDiagnostics.Name, OnDemandExecutionDiagnostics.InstancesDestroyed);
        var executor = sp.GetRequiredService<FunctionExecutor>();
        var pools = sp.GetRequiredService<PoolManager>();

        const int total = Callers * CallsPerCaller;
        var completions = new int[total];
        var outcomes = new int[Enum.GetValues<Outcome>().Length];
        var problems = new ConcurrentQueue<string>();

        using var stopMaintenance = new CancellationTokenSource();
        var maintenance = Task.Run(async () =>
        {
            while (!stopMaintenance.IsCancellationRequested)
            {
                try
                {
                    await pools.RunMaintenanceAsync(stopMaintenance.Token);
                    await Task.Delay(1, stopMaintenance.Token);
                }
                catch (OperationCanceledException) when (stopMaintenance.IsCancellationRequested)
                {
                }
                catch (Exception ex)
                {
                    problems.Enqueue("maintenance failed: " + ex);
                }
            }
        });

        var callers = Enumerable.Range(0, Callers).Select(caller => Task.Run(async () =>
        {
            var rng = new Random(Seed + caller);
            for (var i = 0; i < CallsPerCaller; i++)
            {
                var id = (caller * CallsPerCaller) + i;
                var function = functions[rng.Next(functions.Length)];
                var tenant = Tenants[rng.Next(Tenants.Length)];
                var plan = ChoosePlan(rng, function.Name == "slow");
                var payload = new byte[6];
                payload[0] = (byte)plan;
                payload[1] = (byte)(rng.Next(3) == 0 ? 1 : 0); // yield before running
                BitConverter.TryWriteBytes(payload.AsSpan(2), id);

                using var cts = new CancellationTokenSource();
                var cancel = rng.NextDouble();
                if (cancel < 0.01)
                {
                    await cts.CancelAsync();
                }
                else if (cancel < 0.05)
                {
                    cts.CancelAfter(TimeSpan.FromMilliseconds(rng.Next(0, 4)));
                }

                var outcome = Outcome.Unexpected;
                try
                {
                    var request = new InvocationRequest(function.Name, payload, tenant, id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    var result = await executor.InvokeAsync(request, cts.Token);
                    outcome = Outcome.Success;
                    if (!result.Output.Span.SequenceEqual(payload.AsSpan(2)) || result.InvocationId != request.InvocationId)
                    {
                        problems.Enqueue($"request {id}: wrong output or invocation id");
                    }

                    if (plan is not (Plan.Ok or Plan.Ignore))
                    {
                        problems.Enqueue($"request {id}: plan {plan} succeeded");
                    }
                }
                catch (FunctionExecutionException ex) when (plan == Plan.FunctionError && ex.Message.StartsWith(Marker, StringComparison.Ordinal))
                {
                    outcome = Outcome.FunctionError;
                }
                catch (InstanceDiedException ex) when (plan == Plan.Die && ex.Message.StartsWith(Marker, StringComparison.Ordinal))
                {
                    outcome = Outcome.InstanceDied;
                }
                catch (InstanceProviderException ex) when (IsInjected(ex))
                {
                    outcome = Outcome.ProviderError;
                }
                catch (QueueFullException)
                {
                    outcome = Outcome.QueueFull;
                }
                catch (InstanceCapacityExceededException)
                {
                    outcome = Outcome.Capacity;
                }
                catch (TenantLimitExceededException)
                {
                    outcome = Outcome.Capacity; // the tenant's share of the instance budget (MaxInstancesPerTenant)
                }
                catch (InvocationTimeoutException) when (function.Name == "slow")
                {
                    outcome = Outcome.Timeout;
                }
                catch (OperationCanceledException) when (cts.IsCancellationRequested)
                {
                    outcome = Outcome.Cancelled;
                }
                catch (Exception ex)
                {
                    problems.Enqueue($"request {id} ({function.Name}, {tenant}, plan {plan}, cancelled {cts.IsCancellationRequested}): {ex}");
                }
                finally
                {
                    Interlocked.Increment(ref completions[id]);
                    Interlocked.Increment(ref outcomes[(int)outcome]);
                }
            }
        })).ToArray();

        var all = Task.WhenAll(callers);
        try
        {
            await all.WaitAsync(TimeSpan.FromMinutes(2)); // a hang guard, not a timing assertion
        }
        catch (TimeoutException)
        {
            Assert.Fail($"Callers hung. Completed {completions.Count(c => c > 0)} of {total}; pools {pools.GetSnapshot()}; " +
                string.Join("; ", functions.Select(f => $"{f.Name}: in flight {executor.GetGate(f).InFlight}, queued {executor.GetGate(f).Queued}")));
        }

        await stopMaintenance.CancelAsync();
        await maintenance;

        // Let abandoned calls end and the warming pool refill, without faults, so the counts are at rest.
        fake.OnCreate = null;
        fake.OnLoad = null;

        // A snapshot is read field by field, so one taken while a background refill still runs can look at rest and
        // still be torn: wait until two snapshots a little apart agree.
        PoolSnapshot snapshot = default;
        // Maintenance (not just a refill): a warming-pool refill never evicts, so at MaxInstances the pool fills only
        // once idle instances expire.
        for (var i = 0; i < 2000; i++)
        {
            await pools.RunMaintenanceAsync();
            var before = pools.GetSnapshot();
            await Task.Delay(5);
            snapshot = pools.GetSnapshot();
            if (snapshot == before && snapshot is { Busy: 0, Assigned: 0, Provisioning: 0, Recycling: 0, Warm: WarmingPoolSize })
            {
                break;
            }
        }

        output.WriteLine($"Outcomes: {string.Join(", ", Enum.GetValues<Outcome>().Select(o => $"{o} {outcomes[(int)o]}"))}");
        var evictions = destroyedCounter.GetMeasurementSnapshot().Count(m => Equals(m.Tags[OnDemandExecution.Diagnostics.OnDemandExecutionDiagnostics.ReasonTag], "evicted"));
        output.WriteLine($"Pools at rest: {snapshot}; provider created {fake.Created}; evictions {evictions}");
        Assert.True(problems.IsEmpty, $"{problems.Count} problems, first: {string.Join(Environment.NewLine, problems.Take(10))}");
        Assert.All(completions, c => Assert.Equal(1, c));
        Assert.Equal(total, outcomes.Sum());
        Assert.Equal(0, outcomes[(int)Outcome.Unexpected]);
        foreach (var expected in new[] { Outcome.Success, Outcome.FunctionError, Outcome.InstanceDied, Outcome.ProviderError, Outcome.QueueFull, Outcome.Timeout, Outcome.Cancelled })
        {
            Assert.True(outcomes[(int)expected] > 0, $"No request ended as {expected}: the mix did not exercise it.");
        }

        foreach (var function in functions)
        {
            var gate = executor.GetGate(function);
            Assert.Equal(0, gate.InFlight);
            Assert.Equal(0, gate.Queued);
        }

        Assert.Equal(0, snapshot.Busy);
        Assert.Equal(0, snapshot.Assigned);
        Assert.Equal(0, snapshot.Provisioning);
        Assert.Equal(0, snapshot.Recycling);
        Assert.True(snapshot.Created - snapshot.Destroyed == snapshot.Live, $"Created - Destroyed != Live: {snapshot}");
        Assert.True(fake.Live == snapshot.Live, $"provider live {fake.Live} (created {fake.Created}, disposed {fake.Disposed}) != pool live: {snapshot}");
        Assert.True(evictions > 0, "MaxInstances never forced an eviction: the mix did not exercise it.");

        foreach (var instance in fake.Instances.Values)
        {
            Assert.False(instance.OverlapSeen, $"{instance.Id} ran two invocations at once.");
            lock (instance.TenantHistory)
            {
                Assert.True(
                    instance.TenantHistory.Count <= instance.Recycles + 1,
                    $"{instance.Id} was loaded {instance.TenantHistory.Count} times ({string.Join(", ", instance.TenantHistory)}) with {instance.Recycles} recycles.");
            }
        }

        await sp.DisposeAsync();

        Assert.Equal(0, fake.Live);
        Assert.Equal(0, pools.GetSnapshot().Live);
    }

    private static Plan ChoosePlan(Random rng, bool slow)
    {
        var r = rng.NextDouble();
        return r switch
        {
            < 0.03 => Plan.FunctionError,
            < 0.05 => Plan.Die,
            < 0.07 => Plan.ProviderFault,
            < 0.08 when slow => Plan.Hang,
            < 0.09 when slow => Plan.Ignore,
            _ => Plan.Ok,
        };
    }

    private static async ValueTask<ReadOnlyMemory<byte>> InvokeAsync(FakeInstance instance, InvocationRequest request, CancellationToken cancellationToken)
    {
        var plan = (Plan)request.Payload.Span[0];
        if (request.Payload.Span[1] != 0)
        {
            await Task.Yield();
        }

        switch (plan)
        {
            case Plan.FunctionError:
                throw new FunctionExecutionException(Marker + " function error") { FunctionName = request.FunctionName };
            case Plan.Die:
                throw new InstanceDiedException(Marker + " death") { InstanceId = instance.Id };
            case Plan.ProviderFault:
                throw new InjectedFaultException(Marker + " provider fault");
            case Plan.Hang:
                await Task.Delay(Timeout.Infinite, cancellationToken);
                break;
            case Plan.Ignore:
                await Task.Delay(40, CancellationToken.None);
                break;
        }

        return request.Payload[2..];
    }

    private static bool IsInjected(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is InjectedFaultException)
            {
                return true;
            }
        }

        return false;
    }

    public sealed class InjectedFaultException : Exception
    {
        public InjectedFaultException()
        {
        }

        public InjectedFaultException(string message)
            : base(message)
        {
        }

        public InjectedFaultException(string message, Exception innerException)
            : base(message, innerException)
        {
        }
    }
}
