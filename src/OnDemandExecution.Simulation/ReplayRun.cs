using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace OnDemandExecution.Simulation;

/// <summary>One replay of one trace with one policy, on the calling thread (see <see cref="TraceReplayer"/>).</summary>
internal sealed class ReplayRun
{
    private readonly TraceSource _trace;
    private readonly KeepAlivePolicySpec _policy;
    private readonly ReplayOptions _options;
    private readonly SimulationClock _clock;
    private readonly ReplayScheduler _scheduler = new();
    private readonly SimulatedInstanceProvider _provider;
    private readonly Dictionary<string, FunctionCounters> _perFunction = new(StringComparer.Ordinal);
    private long _pending;
    private long _failures;
    private bool _stopping;

    public ReplayRun(TraceSource trace, KeepAlivePolicySpec policy, ReplayOptions options)
    {
        _trace = trace;
        _policy = policy;
        _options = options;
        _clock = new SimulationClock(options.Start);
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
        builder.UseBackgroundScheduler(_scheduler);
        _policy.Configure(builder);
        var memory = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var function in _trace.Functions.Values.OrderBy(f => f.Function, StringComparer.Ordinal))
        {
            if (function.MemoryMb is { } mb && mb > 0)
            {
                memory[function.Function] = mb;
            }

            int? required = _options.UseTraceMemory && function.MemoryMb is { } m && m > _options.InstanceMemoryMb ? m : null;
            builder.AddFunction(function.Function, static (_, _) => new ValueTask<ReadOnlyMemory<byte>>(ReadOnlyMemory<byte>.Empty), f => f with { MemoryMb = required });
        }

        _provider.SetFunctionMemory(memory);
        var serviceProvider = services.BuildServiceProvider();
        try
        {
            return Replay(serviceProvider);
        }
        finally
        {
            Shutdown(serviceProvider);
        }
    }

    private ReplayResult Replay(ServiceProvider services)
    {
        var executor = services.GetRequiredService<IFunctionExecutor>();
        var pools = services.GetRequiredService<IInstancePoolManager>();
        _ = services.GetRequiredService<IKeepAlivePolicy>(); // created now, so its timers start with the replay
        _ = MaintainAsync(pools);
        _scheduler.RunPending();

        var startTicks = _options.Start.UtcTicks;
        var endTicks = startTicks + _trace.Duration.Ticks;
        long count = 0;
        foreach (var invocation in _trace.ReadInvocations())
        {
            var at = startTicks + invocation.Time.Ticks;
            if (at < _clock.GetTimestamp())
            {
                throw new InvalidOperationException($"The trace is not in arrival order: invocation {count} of '{invocation.Function}' arrives at {invocation.Time} after an earlier one arrived later.");
            }

            AdvanceTo(at);
            _ = InvokeAsync(executor, invocation, count++);
            _scheduler.RunPending();
            if (_options.Progress is { } progress && count % Math.Max(1, _options.ProgressInterval) == 0)
            {
                progress.Report(new ReplayProgress(_policy.Name, count, TimeSpan.FromTicks(at - startTicks), _trace.Duration));
            }
        }

        // The accounting horizon is the trace's end: idle time is counted up to it, not after.
        if (endTicks > _clock.GetTimestamp())
        {
            AdvanceTo(endTicks);
        }

        _options.Progress?.Report(new ReplayProgress(_policy.Name, count, _trace.Duration, _trace.Duration));
        var horizon = _clock.GetUtcNow();
        var stats = _provider.GetStatistics(horizon);

        // Calls still running at the end are finished, so that every call's start kind is counted.
        while (Interlocked.Read(ref _pending) > 0)
        {
            if (!_clock.FireNext(long.MaxValue))
            {
                throw new InvalidOperationException($"{Interlocked.Read(ref _pending)} invocations wait but no timer is armed: the replay cannot make progress.");
            }

            _scheduler.RunPending();
        }

        _options.Inspect?.Invoke(services);
        return Score(count, stats, horizon - _options.Start);
    }

    /// <summary>Fires every timer due up to <paramref name="ticks"/> in order, running what each one started, then sets the clock there.</summary>
    private void AdvanceTo(long ticks)
    {
        while (_clock.FireNext(ticks))
        {
            _scheduler.RunPending();
        }

        _clock.AdvanceTo(new DateTimeOffset(ticks, TimeSpan.Zero));
    }

    private ReplayResult Score(long invocations, ProviderStatistics stats, TimeSpan simulated)
    {
        long cold = 0, pool = 0, warm = 0;
        var percents = new List<double>(_perFunction.Count);
        var functions = new Dictionary<string, FunctionStarts>(_perFunction.Count, StringComparer.Ordinal);
        foreach (var (name, counters) in _perFunction)
        {
            cold += counters.Cold;
            pool += counters.WarmPool;
            warm += counters.Warm;
            var total = counters.Cold + counters.WarmPool + counters.Warm;
            if (total > 0)
            {
                percents.Add(100.0 * (counters.Cold + counters.WarmPool) / total);
            }

            functions[name] = new FunctionStarts(counters.Cold, counters.WarmPool, counters.Warm);
        }

        percents.Sort();
        return new ReplayResult(
            _policy.Name,
            invocations,
            Interlocked.Read(ref _failures),
            cold,
            pool,
            warm,
            stats,
            Percentile(percents, 0.50),
            Percentile(percents, 0.75),
            Percentile(percents, 0.99),
            simulated,
            functions);
    }

    /// <summary>Disposes the services, letting the delays that shutdown waits on complete on the clock.</summary>
    private void Shutdown(ServiceProvider services)
    {
        _stopping = true;
        var dispose = services.DisposeAsync().AsTask();
        for (var steps = 0; !dispose.IsCompleted && steps < 100_000; steps++)
        {
            _scheduler.RunPending();
            if (!_clock.FireNext(long.MaxValue))
            {
                dispose.Wait(TimeSpan.FromMilliseconds(10), CancellationToken.None);
            }
        }
    }

    /// <summary>What the hosted maintenance service does: a pass, then a wait of the interval, on the clock.</summary>
    private async Task MaintainAsync(IInstancePoolManager pools)
    {
        while (!_stopping)
        {
            await pools.RunMaintenanceAsync().ConfigureAwait(false);
            if (_stopping)
            {
                return;
            }

            await Task.Delay(_options.MaintenanceInterval, _clock).ConfigureAwait(false);
        }
    }

    private async Task InvokeAsync(IFunctionExecutor executor, TraceInvocation invocation, long index)
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
        catch (Exception ex) when (ex is OnDemandExecutionException or OperationCanceledException)
        {
            Interlocked.Increment(ref _failures);
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
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
