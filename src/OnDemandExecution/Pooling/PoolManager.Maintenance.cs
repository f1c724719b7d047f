using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Placement;

namespace OnDemandExecution.Pooling;

/// <summary>Maintenance passes: idle expiry, dead warm instances, warming-pool trim.</summary>
internal sealed partial class PoolManager
{
    /// <summary>
    /// Retires every idle instance past its keep-alive. The retirements (a recycle can be as slow as a start) run in the
    /// background: expiry never waits for them, for a refill or for anything the provider does.
    /// </summary>
    private void ExpireIdle()
    {
        var now = _time.GetTimestamp();
        if (now < Volatile.Read(ref _nextExpiry))
        {
            return; // no idle instance can have expired yet: skip the scan
        }

        // Reset, then scan: a release racing the scan lowers the hint itself (it publishes Loaded, then lowers it), and
        // the scan lowers it to the earliest expiry among the instances it keeps; so the hint is never later than an expiry.
        Volatile.Write(ref _nextExpiry, long.MaxValue);
        var next = long.MaxValue;
        var expired = 0;
        foreach (var slot in _slots.Slots)
        {
            var word = slot.Word;
            if (InstanceSlot.StateOf(word) != InstanceState.Loaded)
            {
                continue;
            }

            // LastUsedTimestamp was written before the slot published this word; if it is reused meanwhile, the word
            // changes and the CAS below fails, so a fresh timestamp is never judged by a stale word.
            var idle = _time.GetElapsedTime(slot.LastUsedTimestamp, now);
            if (slot.KeepAlive == Timeout.InfiniteTimeSpan || slot.Provisioned)
            {
                continue;
            }

            if (idle < slot.KeepAlive || !_slots.TryRetire(slot, word))
            {
                next = Math.Min(next, slot.LastUsedTimestamp + ToTimestampFloor(slot.KeepAlive));
                continue;
            }

            expired++;
            Log.InstanceExpired(_logger, slot.Instance!.Id, slot.Function!.Name, idle.TotalSeconds);
            var retiring = RetireAsync(slot, "expired", _shutdown.Token);
            if (!retiring.IsCompleted)
            {
                Track(retiring.AsTask());
            }
        }

        LowerNextExpiry(next);
    }

    /// <summary>Lowers the earliest time an idle instance may expire to <paramref name="due"/> (a timestamp) when earlier.</summary>
    private void LowerNextExpiry(long due)
    {
        var current = Volatile.Read(ref _nextExpiry);
        while (due < current)
        {
            var seen = Interlocked.CompareExchange(ref _nextExpiry, due, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary><paramref name="span"/> in timestamp units, rounded down (an expiry hint may be early, never late).</summary>
    private long ToTimestampFloor(TimeSpan span) =>
        (long)Math.Min(Math.Floor(span.Ticks * ((double)_time.TimestampFrequency / TimeSpan.TicksPerSecond)), long.MaxValue / 4);

    /// <summary>An expired instance: scrub it back into the warming pool when the provider can and the pool needs it, else destroy.</summary>
    private async ValueTask RetireAsync(InstanceSlot slot, string reason, CancellationToken cancellationToken)
    {
        ClearProvisioned(slot);
        var warmNeeded = WarmDeficit() > 0;
        if (warmNeeded && _provider.Capabilities.SupportsRecycle && !IsDisposed)
        {
            var recycled = false;
            try
            {
                // Bounded like a start (a recycle can be a reboot): a recycle that hangs must not hold the slot forever.
                using var timeout = new CancellationTokenSource(_options.InstanceStartTimeout, _time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
                var recycling = slot.Instance!.RecycleAsync(linked.Token);
                recycled = recycling.IsCompleted ? await recycling.ConfigureAwait(false) : await recycling.AsTask().WaitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.RecycleFailed(_logger, slot.Instance!.Id, ex);
            }
            catch (OperationCanceledException)
            {
                // Shutting down: destroyed below.
            }

            if (recycled)
            {
                Interlocked.Increment(ref _recycled);
                _metrics.InstancesRecycled.Add(1, _providerTag);
                Log.InstanceRecycled(_logger, slot.Instance!.Id);
                InstanceRetired?.Invoke(slot.Instance!.Id);
                EnqueueWarm(slot, InstanceState.Recycling);
                return;
            }
        }

        slot.Transition(InstanceState.Recycling, InstanceState.Destroyed);
        Destroy(slot, reason);
    }

    /// <summary>
    /// Checks the health of the warming-pool instances not checked for <see cref="OnDemandExecutionOptions.HealthCheckInterval"/>,
    /// at most <see cref="OnDemandExecutionOptions.MaxConcurrentHealthChecks"/> of them, in parallel, each within
    /// <see cref="OnDemandExecutionOptions.HealthCheckTimeout"/> (longer counts as dead). The others stay in the pool, and
    /// those under check count as present for the refill (no surplus is created while they are checked).
    /// </summary>
    private async ValueTask DropDeadWarmAsync(CancellationToken cancellationToken)
    {
        // The warming pool is a stack: pop synchronously (no await in between), keep the few that are due, and push the
        // others straight back in their order, so they are out of reach for no longer than this loop.
        var now = _time.GetTimestamp();
        var limit = _options.MaxConcurrentHealthChecks;
        List<InstanceSlot>? due = null;
        List<InstanceSlot>? back = null;
        while ((due?.Count ?? 0) < limit)
        {
            Interlocked.Increment(ref _warmChecking); // counted before it leaves the pool: the deficit never sees it missing
            if (!_slots.TryPopWarm(out var slot))
            {
                Interlocked.Decrement(ref _warmChecking);
                break;
            }

            if (_time.GetElapsedTime(slot.LastCheckedTimestamp, now) >= _options.HealthCheckInterval)
            {
                (due ??= []).Add(slot);
            }
            else
            {
                (back ??= []).Add(slot);
            }
        }

        if (back is not null)
        {
            for (var i = back.Count - 1; i >= 0; i--)
            {
                _slots.RepoolWarm(back[i]);
                Interlocked.Decrement(ref _warmChecking);
            }
        }

        if (IsDisposed)
        {
            DrainWarm("shutdown");
        }

        if (due is null)
        {
            return;
        }

        var checks = new Task[due.Count];
        for (var i = 0; i < checks.Length; i++)
        {
            checks[i] = CheckWarmAsync(due[i]);
            Track(checks[i]); // the stop waits for (or abandons) a check this pass stopped waiting for
        }

        await Task.WhenAll(checks).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Checks one warm instance popped from the pool (owned, still Warm), then repools or destroys it. Never throws.</summary>
    private async Task CheckWarmAsync(InstanceSlot slot)
    {
        var instance = slot.Instance!;
        var health = InstanceHealth.Dead;
        Exception? error = null;
        try
        {
            using var bound = new CancellationTokenSource(_options.HealthCheckTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(bound.Token, _shutdown.Token);
            var check = instance.CheckHealthAsync(linked.Token);
            health = check.IsCompleted ? await check.ConfigureAwait(false) : await check.AsTask().WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            error = ex; // failed, or wedged past the timeout (its check may still run: the instance is destroyed anyway)
        }

        try
        {
            if (health == InstanceHealth.Healthy && !IsDisposed)
            {
                slot.LastCheckedTimestamp = _time.GetTimestamp();
                _slots.RepoolWarm(slot);
                if (IsDisposed)
                {
                    DrainWarm("shutdown");
                }
            }
            else
            {
                if (!IsDisposed)
                {
                    Log.HealthCheckFailed(_logger, instance.Id, _options.HealthCheckTimeout.TotalMilliseconds, error);
                }

                slot.Transition(InstanceState.Warm, InstanceState.Destroyed);
                Destroy(slot, IsDisposed ? "shutdown" : "unhealthy");
            }
        }
        finally
        {
            Interlocked.Decrement(ref _warmChecking);
        }
    }

    private void TrimWarm()
    {
        while (WarmCount > WarmingPoolTarget && _slots.TryPopWarm(out var slot))
        {
            slot.Transition(InstanceState.Warm, InstanceState.Destroyed);
            Destroy(slot, "trimmed");
        }
    }
}
