using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace OnDemandExecution.Simulation;

/// <summary>
/// Replays a trace against the real executor, pools and keep-alive policy on virtual time, with a
/// <see cref="SimulatedInstanceProvider"/>, and scores the policy.
/// </summary>
/// <remarks>
/// <para>The replay builds the services as an application would (<c>AddOnDemandExecution</c>, <c>AddProvider</c>, the
/// policy, a <see cref="SimulationClock"/> as the <see cref="TimeProvider"/>), registers the trace's functions, runs the
/// maintenance loop the hosted service would run (a pass, then a wait of the maintenance interval, on the clock), and
/// then moves virtual time from one instant to the next: the next trace arrival or the next armed timer, whichever
/// comes first, firing due timers one at a time and settling after each. Each invocation's execution, each creation and each load is a delay on the clock, so concurrency is a
/// matter of virtual time: two calls overlap exactly when their delays do.</para>
/// <para>Determinism: continuations of completed delays run inline on the replay's thread; the one piece of work the
/// pools start on the thread pool (the warming-pool refill) is waited for before time moves (no queued work items,
/// every slot being provisioned has reached the provider, and the warming pool is not short with nothing being created). Replays of the same trace and options give the same start
/// kinds and instance counts; idle time can differ by a few seconds over hours when that refill is ordered differently
/// among the work of one instant (the refill is the core's, and runs on the thread pool).</para>
/// </remarks>
public static class TraceReplayer
{
    /// <summary>Replays <paramref name="trace"/> once per policy.</summary>
    /// <param name="trace">The trace.</param>
    /// <param name="policies">The policies.</param>
    /// <param name="options">The platform; defaults when null.</param>
    /// <returns>One result per policy, in order.</returns>
    public static IReadOnlyList<ReplayResult> ReplayAll(Trace trace, IEnumerable<KeepAlivePolicySpec> policies, ReplayOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policies);
        return policies.Select(p => Replay(trace, p, options)).ToList();
    }

    /// <summary>Replays <paramref name="trace"/> with one policy. Runs on a dedicated thread and returns when the replay is done.</summary>
    /// <param name="trace">The trace.</param>
    /// <param name="policy">The policy.</param>
    /// <param name="options">The platform; defaults when null.</param>
    /// <returns>The result.</returns>
    public static ReplayResult Replay(Trace trace, KeepAlivePolicySpec policy, ReplayOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentNullException.ThrowIfNull(policy);
        options ??= new ReplayOptions();
        ReplayResult? result = null;
        Exception? failure = null;

        // A thread of our own: no synchronization context to post continuations to, and no thread-pool thread blocked.
        var thread = new Thread(() =>
        {
            try
            {
                result = new Run(trace, policy, options).Execute();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        })
        {
            IsBackground = true,
            Name = "trace-replay",
        };
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException($"Replaying the trace with policy '{policy.Name}' failed: {failure.Message}", failure);
        }

        return result!;
    }

    private sealed class Run
    {
        private const int QuietChecks = 20;

        private readonly Trace _trace;
        private readonly KeepAlivePolicySpec _policy;
        private readonly ReplayOptions _options;
        private readonly SimulationClock _clock;
        private readonly SimulatedInstanceProvider _provider;
        private readonly Dictionary<string, FunctionCounters> _perFunction = new(StringComparer.Ordinal);
        private readonly object _gate = new();
        private long _pending;
        private int _lastTarget;
        private bool _targetRaised;
        private long _failures;
        private bool _stopping;

        public Run(Trace trace, KeepAlivePolicySpec policy, ReplayOptions options)
        {
            _trace = trace;
            _policy = policy;
            _options = options;
            _clock = new SimulationClock(options.Start);
            _lastTarget = options.WarmingPoolSize;
            _provider = new SimulatedInstanceProvider(_clock, options.Provider);
        }

        public ReplayResult Execute()
        {
            var services = new ServiceCollection();
            services.AddSingleton<TimeProvider>(_clock);
            var builder = services.AddOnDemandExecution(o =>
            {
                o.WarmingPoolSize = _options.WarmingPoolSize;
                o.MaxInstances = _options.MaxInstances;
                o.MaintenanceInterval = _options.MaintenanceInterval;
                o.WarmInstance = new InstanceSpec { MemoryMb = _options.InstanceMemoryMb };
                o.DefaultMaxConcurrency = 1_000_000; // the platform scales out: no request waits for another
                o.DefaultMaxQueueLength = 0;
                o.DefaultTimeout = TimeSpan.FromDays(1);
                o.PrewarmOnStart = false;

                // A replay scores keep-alive policies on the whole host: per-tenant shares are not what it measures.
                o.MaxInstancesPerTenant = o.MaxInstances;
                o.MaxConcurrentCallsPerTenant = 10_000_000;
            });
            builder.AddProvider(_ => _provider);
            _policy.Configure(builder);
            foreach (var function in _trace.Functions.Values)
            {
                var memory = _options.UseTraceMemory && function.MemoryMb is { } mb && mb > _options.InstanceMemoryMb ? mb : (int?)null;
                builder.AddFunction(function.Function, static (_, _) => new ValueTask<ReadOnlyMemory<byte>>(ReadOnlyMemory<byte>.Empty), f => f with { MemoryMb = memory });
            }

            var serviceProvider = services.BuildServiceProvider();
            var pools = serviceProvider.GetRequiredService<IInstancePoolManager>();
            try
            {
                return Replay(serviceProvider);
            }
            finally
            {
                _stopping = true;
                var dispose = serviceProvider.DisposeAsync().AsTask();
                for (var steps = 0; !dispose.IsCompleted && steps < 100_000; steps++)
                {
                    // Shutdown destroys instances and may wait on work in flight: let its delays complete.
                    Settle(pools);
                    if (_clock.NextDue is { } due)
                    {
                        _clock.AdvanceTo(due > _clock.GetUtcNow() ? due : _clock.GetUtcNow());
                    }
                    else
                    {
                        dispose.Wait(TimeSpan.FromMilliseconds(10), CancellationToken.None);
                    }
                }
            }
        }

        private ReplayResult Replay(ServiceProvider services)
        {
            var executor = services.GetRequiredService<IFunctionExecutor>();
            var pools = services.GetRequiredService<IInstancePoolManager>();
            _ = services.GetRequiredService<IKeepAlivePolicy>(); // created now, so its timers start with the replay
            _ = MaintainAsync(pools);

            var start = _options.Start;
            var end = start + _trace.Duration;
            var invocations = _trace.Invocations;
            var next = 0;
            while (true)
            {
                Settle(pools);
                var now = _clock.GetUtcNow();
                while (next < invocations.Count && start + invocations[next].Time <= now)
                {
                    _ = InvokeAsync(executor, invocations[next], next);
                    next++;
                }

                Settle(pools);
                var nextEvent = next < invocations.Count ? start + invocations[next].Time : DateTimeOffset.MaxValue;
                var nextTimer = _clock.NextDue ?? DateTimeOffset.MaxValue;
                var target = nextEvent < nextTimer ? nextEvent : nextTimer;
                if (next >= invocations.Count && Interlocked.Read(ref _pending) == 0 && (target > end || target == DateTimeOffset.MaxValue))
                {
                    if (now < end)
                    {
                        _clock.AdvanceTo(end, () => Settle(pools));
                    }

                    break;
                }

                if (target == DateTimeOffset.MaxValue)
                {
                    throw new InvalidOperationException($"{Interlocked.Read(ref _pending)} invocations wait but no timer is armed: the replay cannot make progress.");
                }

                _clock.AdvanceTo(target > now ? target : now, () => Settle(pools));
            }

            var finished = _clock.GetUtcNow();
            _options.Inspect?.Invoke(services);
            var stats = _provider.GetStatistics(finished);
            long cold = 0, pool = 0, warm = 0;
            var percents = new List<double>();
            lock (_gate)
            {
                foreach (var counters in _perFunction.Values)
                {
                    cold += counters.Cold;
                    pool += counters.WarmPool;
                    warm += counters.Warm;
                    var total = counters.Cold + counters.WarmPool + counters.Warm;
                    if (total > 0)
                    {
                        percents.Add(100.0 * counters.Cold / total);
                    }
                }
            }

            percents.Sort();
            return new ReplayResult(
                _policy.Name,
                invocations.Count,
                Interlocked.Read(ref _failures),
                cold,
                pool,
                warm,
                stats,
                Percentile(percents, 0.50),
                Percentile(percents, 0.75),
                Percentile(percents, 0.99),
                finished - start,
                PerFunction());
        }

        private Dictionary<string, FunctionStarts> PerFunction()
        {
            lock (_gate)
            {
                return _perFunction.ToDictionary(p => p.Key, p => new FunctionStarts(p.Value.Cold, p.Value.WarmPool, p.Value.Warm), StringComparer.Ordinal);
            }
        }

        /// <summary>What the hosted maintenance service does: a pass, then a wait of the interval, on the clock.</summary>
        private async Task MaintainAsync(IInstancePoolManager pools)
        {
            while (!_stopping)
            {
                _targetRaised = false; // this pass refills up to the current target
                await pools.RunMaintenanceAsync().ConfigureAwait(false);
                if (_stopping)
                {
                    return;
                }

                await Task.Delay(_options.MaintenanceInterval, _clock).ConfigureAwait(false);
            }
        }

        private async Task InvokeAsync(IFunctionExecutor executor, TraceInvocation invocation, int index)
        {
            Interlocked.Increment(ref _pending);
            try
            {
                var request = new InvocationRequest(
                    invocation.Function,
                    SimulatedInstanceProvider.EncodeDuration(invocation.Duration),
                    new TenantId(invocation.Tenant),
                    index.ToString(CultureInfo.InvariantCulture));
                var result = await executor.InvokeAsync(request).ConfigureAwait(false);
                lock (_gate)
                {
                    if (!_perFunction.TryGetValue(invocation.Function, out var counters))
                    {
                        _perFunction[invocation.Function] = counters = new FunctionCounters();
                    }

                    switch (result.StartKind)
                    {
                        case StartKind.Cold:
                            counters.Cold++;
                            break;
                        case StartKind.WarmPool:
                            counters.WarmPool++;
                            break;
                        default:
                            counters.Warm++;
                            break;
                    }
                }
            }
            catch (Exception ex) when (ex is OnDemandExecutionException or OperationCanceledException)
            {
                Interlocked.Increment(ref _failures);
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }

        /// <summary>
        /// Waits until nothing the replay started runs off its thread: no queued thread-pool work, every slot being
        /// provisioned has reached the provider, and the warming pool is not short with nothing being created (a refill
        /// about to start). Checked twenty times in a row, yielding between; gives up after 200 ms of wall time (other
        /// work of the process on the thread pool) rather than hang.
        /// </summary>
        private void Settle(IInstancePoolManager pools)
        {
            var target = pools.WarmingPoolTarget;
            if (target > _lastTarget)
            {
                _targetRaised = true; // the pools refill up to it at their next maintenance pass, not before
            }

            _lastTarget = target;
            var quiet = 0;
            var deadline = Environment.TickCount64 + 200;
            for (var spins = 0; quiet < QuietChecks; spins++)
            {
                var snapshot = pools.GetSnapshot();

                // The warming pool short of its target with nothing being created means a refill is about to create
                // (every start that is not a warm hit, and every maintenance pass, starts one), unless the target was
                // just raised. (With creations in flight, a refill may instead be waiting for its batch on virtual time.)
                var refillPending = !_targetRaised && snapshot.Provisioning == 0 && target > snapshot.Warm && snapshot.Live < _options.MaxInstances;
                if (ThreadPool.PendingWorkItemCount == 0 && snapshot.Provisioning == _provider.CreatesInFlight && !refillPending)
                {
                    quiet++;
                }
                else
                {
                    quiet = 0;
                    if ((spins & 1023) == 0 && Environment.TickCount64 > deadline)
                    {
                        return; // safety net (other work of the process on the thread pool): go on rather than hang
                    }
                }

                Thread.Yield();
            }
        }

        private static double Percentile(List<double> sorted, double p) =>
            sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

        private sealed class FunctionCounters
        {
            public long Cold { get; set; }

            public long WarmPool { get; set; }

            public long Warm { get; set; }
        }
    }
}
