using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>
/// A short keep-alive plus recurring bursts: each (tenant, function)'s peak concurrency is recorded per minute, and a
/// burst seen at the same minute of each of the last <see cref="RecurringBurstOptions.Confirmations"/> periods (an
/// hourly or half-hourly schedule, give or take <see cref="RecurringBurstOptions.Tolerance"/>) is expected again: its
/// instances are loaded at the start of the minute before, and instances that go idle while it is expected are kept
/// through it. Between bursts an instance stays <see cref="RecurringBurstOptions.KeepAlive"/> (default 2 minutes),
/// except a function's last instance, kept for the function's usual idle gap (see
/// <see cref="RecurringBurstOptions.MaxLastInstanceKeepAlive"/>), so that rarely called functions stay warm.
/// </summary>
/// <remarks>
/// <para>Strictly online: a decision at minute m reads only the peaks of minutes before m (and the current minute's
/// so far). Memory: one small ring of per-minute peaks per tracked pair (bounded by
/// <see cref="RecurringBurstOptions.MaxTrackedFunctions"/>); work per call is O(periods x confirmations x tolerance),
/// plus one pass over the tracked pairs per minute on a timer of the <see cref="TimeProvider"/>.</para>
/// <para>Measured on a real day of Azure Functions traffic in docs/prediction.md (register it with
/// <c>builder.UseRecurringBurstKeepAlive()</c>).</para>
/// </remarks>
public sealed class RecurringBurstPolicy : IKeepAlivePolicy, IDisposable
{
    private readonly IInstancePoolManager _pools;
    private readonly TimeProvider _time;
    private readonly RecurringBurstOptions _options;
    private readonly int[] _periods;
    private readonly int _tolerance;
    private readonly int _confirmations;
    private readonly int _history;
    private readonly long _origin;
    private readonly ITimer _timer;
    private readonly ConcurrentDictionary<(TenantId Tenant, string Function), State> _states = new();
    private long _order;
    private int _tracked;

    /// <summary>Creates the policy.</summary>
    /// <param name="pools">The pools it pre-loads into.</param>
    /// <param name="timeProvider">The clock of its minute timer.</param>
    /// <param name="options">Its options.</param>
    public RecurringBurstPolicy(IInstancePoolManager pools, TimeProvider timeProvider, IOptions<RecurringBurstOptions> options)
    {
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        var result = new RecurringBurstOptionsValidator().Validate(null, _options);
        if (result.Failed)
        {
            throw new OptionsValidationException(nameof(RecurringBurstOptions), typeof(RecurringBurstOptions), result.Failures);
        }

        _pools = pools;
        _time = timeProvider;
        _periods = [.. _options.Periods.Select(p => (int)p.TotalMinutes).Distinct()];
        _tolerance = (int)_options.Tolerance.TotalMinutes;
        _confirmations = _options.Confirmations;
        _history = (_periods.Max() * _confirmations) + _tolerance + 2;
        _origin = timeProvider.GetTimestamp();
        _timer = timeProvider.CreateTimer(_ => OnMinute(), null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
    }

    /// <summary>How many instances of a function the policy expects to be needed at once in the current minute (0: no recurring burst expected).</summary>
    /// <param name="functionName">The function.</param>
    /// <param name="tenant">The tenant.</param>
    /// <returns>The expected peak concurrency.</returns>
    public int GetExpectedInstances(string functionName, TenantId tenant)
    {
        ArgumentNullException.ThrowIfNull(functionName);
        if (!_states.TryGetValue((tenant, functionName), out var state))
        {
            return 0;
        }

        lock (state)
        {
            var minute = Minute();
            Roll(state, minute);
            return Cached(state, minute).Now;
        }
    }

    /// <inheritdoc />
    public void OnInvocation(FunctionDefinition definition, TenantId tenant)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var now = _time.GetElapsedTime(_origin);
        var minute = Minute(now);
        if (!_states.TryGetValue((tenant, definition.Name), out var state))
        {
            var created = new State(tenant, definition, minute, _history) { Order = Interlocked.Increment(ref _order) };
            state = _states.GetOrAdd((tenant, definition.Name), created);
            if (ReferenceEquals(state, created) && Interlocked.Increment(ref _tracked) > _options.MaxTrackedFunctions)
            {
                Evict(); // ConcurrentDictionary.Count takes every lock: this count is the policy's own
            }
        }

        lock (state)
        {
            state.Definition = definition;
            Roll(state, minute);
            if (state.InFlight == 0 && state.LastEnd is { } lastEnd)
            {
                state.Gaps[state.GapCount++ % state.Gaps.Length] = (float)(now - lastEnd).TotalSeconds;
                state.LastInstanceKeepAlive = null; // recomputed at the next completion that needs it
            }

            state.InFlight++;
            state.LastUse = minute;
            ref var peak = ref state.Peaks[minute % _history];
            peak = Math.Max(peak, state.InFlight);
        }
    }

    /// <inheritdoc />
    public TimeSpan OnCompleted(FunctionDefinition definition, TenantId tenant)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (!_states.TryGetValue((tenant, definition.Name), out var state))
        {
            return _options.KeepAlive;
        }

        var now = _time.GetElapsedTime(_origin);
        var minute = Minute(now);
        lock (state)
        {
            Roll(state, minute);
            var level = state.InFlight;
            state.InFlight = Math.Max(0, state.InFlight - 1);
            var keepAlive = _options.KeepAlive;
            if (state.InFlight == 0)
            {
                state.LastEnd = now;
                keepAlive = state.LastInstanceKeepAlive ??= LastInstanceKeepAlive(state);
            }

            // an instance within the expected size of a burst this minute or the next is kept through it
            var (expectedNow, expectedNext) = Cached(state, minute);
            var through = expectedNext >= level ? minute + 1 : expectedNow >= level ? minute : -1;
            if (through < 0)
            {
                return keepAlive;
            }

            var end = TimeSpan.FromMinutes(through + 1) - now;
            return end > keepAlive ? end : keepAlive;
        }
    }

    /// <summary>The keep-alive of the function's only loaded-and-used instance: 1.1 x the largest of its last 16 idle gaps, within bounds. Caller holds the lock.</summary>
    private TimeSpan LastInstanceKeepAlive(State state)
    {
        var max = _options.MaxLastInstanceKeepAlive;
        if (max <= _options.KeepAlive)
        {
            return _options.KeepAlive;
        }

        TimeSpan wanted;
        if (state.GapCount < 2)
        {
            wanted = _options.LastInstanceKeepAliveWithoutHistory;
        }
        else
        {
            // the largest of the last 16 gaps (their 99th percentile: with 16 samples it is the largest)
            var largest = 0f;
            foreach (var gap in state.Gaps.AsSpan(0, Math.Min(state.GapCount, state.Gaps.Length)))
            {
                largest = Math.Max(largest, gap);
            }

            wanted = TimeSpan.FromSeconds(largest * 1.1);
        }

        return wanted < _options.KeepAlive ? _options.KeepAlive : wanted > max ? max : wanted;
    }

    /// <summary>Stops the minute timer.</summary>
    public void Dispose() => _timer.Dispose();

    private long Minute() => Minute(_time.GetElapsedTime(_origin));

    private static long Minute(TimeSpan sinceOrigin) => sinceOrigin.Ticks / TimeSpan.TicksPerMinute;

    /// <summary>At each minute: loads what the bursts expected this minute and the next need beyond the calls in flight; forgets pairs with no history left.</summary>
    private void OnMinute()
    {
        var now = _time.GetElapsedTime(_origin);
        var minute = Minute(now);
        List<(long Order, FunctionDefinition Definition, TenantId Tenant, int Count, TimeSpan KeepAlive)>? preloads = null;
        foreach (var (key, state) in _states)
        {
            int wanted;
            TimeSpan keepAlive;
            FunctionDefinition definition;
            lock (state)
            {
                Roll(state, minute);
                if (state.InFlight == 0 && minute - state.LastUse > _history)
                {
                    if (_states.TryRemove(new KeyValuePair<(TenantId, string), State>(key, state)))
                    {
                        Interlocked.Decrement(ref _tracked);
                    }

                    continue;
                }

                var (expectedNow, expectedNext) = Cached(state, minute);
                wanted = Math.Max(expectedNow, expectedNext) - state.InFlight;
                definition = state.Definition;

                // loaded instances wait through the whole expected window (its drift either way), at least PreloadKeepAlive
                var last = minute;
                for (var m = minute + 1; wanted > 0 && m <= minute + (2 * _tolerance) + 1; m++)
                {
                    last = Expected(state, m) > 0 ? m : last;
                }

                var untilEnd = TimeSpan.FromMinutes(last + 1) - now;
                keepAlive = untilEnd > _options.PreloadKeepAlive ? untilEnd : _options.PreloadKeepAlive;
            }

            if (wanted > 0)
            {
                (preloads ??= []).Add((state.Order, definition, state.Tenant, wanted, keepAlive));
            }
        }

        // in the order the pairs were first seen, not the dictionary's (string hashes differ per process): a replay
        // on virtual time then makes the same pre-loads in the same order every run
        if (preloads is not null)
        {
            foreach (var p in preloads.OrderBy(p => p.Order))
            {
                _ = PreloadAsync(p.Definition, p.Tenant, p.Count, p.KeepAlive);
            }
        }
    }

    private async Task PreloadAsync(FunctionDefinition definition, TenantId tenant, int count, TimeSpan keepAlive)
    {
        try
        {
            await _pools.PreloadAsync(definition, tenant, count, keepAlive).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InstanceCapacityExceededException or InstanceProviderException or ObjectDisposedException or OperationCanceledException)
        {
            // a pre-load is a bet: without room or a provider, the burst's calls start as they would have anyway
        }
    }

    /// <summary>The expected peaks of this minute and the next, computed once a minute: they read only minutes that are over (each period exceeds twice the tolerance plus one). Caller holds the lock.</summary>
    private (int Now, int Next) Cached(State state, long minute)
    {
        if (state.CachedMinute != minute)
        {
            state.CachedMinute = minute;
            state.ExpectedNow = Expected(state, minute);
            state.ExpectedNext = Expected(state, minute + 1);
        }

        return (state.ExpectedNow, state.ExpectedNext);
    }

    /// <summary>The expected peak of <paramref name="minute"/>: per period, the smallest of the past periods' peaks around that minute; the largest over periods. Caller holds the lock.</summary>
    private int Expected(State state, long minute)
    {
        var expected = 0;
        foreach (var period in _periods)
        {
            var least = int.MaxValue;
            for (var r = 1; r <= _confirmations && least > 0; r++)
            {
                var center = minute - ((long)r * period);
                if (center - _tolerance < state.First || center + _tolerance >= state.Minute + 1)
                {
                    least = 0; // not seen that far back (or not yet past): no evidence
                    break;
                }

                var most = 0;
                var at = (int)((center - _tolerance) % _history);
                for (var i = 0; i <= 2 * _tolerance; i++, at = at + 1 == _history ? 0 : at + 1)
                {
                    most = Math.Max(most, state.Peaks[at]);
                }

                least = Math.Min(least, most);
            }

            expected = Math.Max(expected, least == int.MaxValue ? 0 : least);
        }

        return expected;
    }

    /// <summary>Moves a pair's ring to <paramref name="minute"/>: minutes skipped start at the calls still in flight. Caller holds the lock.</summary>
    private void Roll(State state, long minute)
    {
        if (minute <= state.Minute)
        {
            return;
        }

        for (var m = Math.Max(state.Minute + 1, minute - _history + 1); m <= minute; m++)
        {
            state.Peaks[m % _history] = state.InFlight;
        }

        state.Minute = minute;
    }

    /// <summary>Forgets the least recently invoked pairs beyond the bound (a hundredth of it at a time, so this runs rarely).</summary>
    private void Evict()
    {
        var excess = Volatile.Read(ref _tracked) - _options.MaxTrackedFunctions + Math.Max(1, _options.MaxTrackedFunctions / 100);
        foreach (var (key, _) in _states.OrderBy(p => Volatile.Read(ref p.Value.LastUse)).ThenBy(p => p.Value.Order).Take(excess).ToList())
        {
            if (_states.TryRemove(key, out _))
            {
                Interlocked.Decrement(ref _tracked);
            }
        }
    }

    private sealed class State(TenantId tenant, FunctionDefinition definition, long minute, int history)
    {
        public TenantId Tenant { get; } = tenant;

        public FunctionDefinition Definition { get; set; } = definition;

        /// <summary>The first minute seen: no evidence before it.</summary>
        public long First { get; } = minute;

        /// <summary>The minute the ring is at.</summary>
        public long Minute = minute;

        public long LastUse = minute;

        public int InFlight;

        /// <summary>When the pair was first seen, relative to the others (pre-loads go out in this order).</summary>
        public long Order { get; init; }

        /// <summary>When the last call ended with nothing else in flight (since the policy's origin).</summary>
        public TimeSpan? LastEnd;

        /// <summary>The last idle gaps in seconds (a ring), and how many were ever recorded.</summary>
        public float[] Gaps { get; } = new float[16];

        public int GapCount;

        /// <summary>The minute <see cref="ExpectedNow"/> and <see cref="ExpectedNext"/> were computed for (-1: never).</summary>
        public long CachedMinute = -1;

        public int ExpectedNow;

        public int ExpectedNext;

        /// <summary>The last instance's keep-alive for the gaps as they are (null: to compute).</summary>
        public TimeSpan? LastInstanceKeepAlive;

        /// <summary>Peak concurrency per minute, by minute modulo the ring's length.</summary>
        public int[] Peaks { get; } = new int[history];
    }
}
