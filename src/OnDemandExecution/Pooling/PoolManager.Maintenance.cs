using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Placement;

namespace OnDemandExecution.Pooling;

/// <summary>Maintenance passes: idle expiry, dead warm instances, warming-pool trim.</summary>
internal sealed partial class PoolManager
{
    private async ValueTask ExpireIdleAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetTimestamp();
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
            if (slot.KeepAlive == Timeout.InfiniteTimeSpan || idle < slot.KeepAlive || slot.Provisioned || !_slots.TryRetire(slot, word))
            {
                continue;
            }

            expired++;
            Log.InstanceExpired(_logger, slot.Instance!.Id, slot.Function!.Name, idle.TotalSeconds);
            await RetireAsync(slot, "expired", cancellationToken).ConfigureAwait(false);
        }
    }

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
                recycled = await slot.Instance!.RecycleAsync(cancellationToken).ConfigureAwait(false);
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

    private async ValueTask DropDeadWarmAsync(CancellationToken cancellationToken)
    {
        // Take them all out first: the warming pool is a stack, so one put back would be popped again at once.
        var checking = new List<InstanceSlot>((int)WarmCount);
        while (_slots.TryPopWarm(out var popped))
        {
            checking.Add(popped);
        }

        var next = 0;
        try
        {
            for (; next < checking.Count; next++)
            {
                var slot = checking[next];
                InstanceHealth health;
                try
                {
                    health = await slot.Instance!.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    health = InstanceHealth.Dead;
                }

                if (health == InstanceHealth.Healthy)
                {
                    _slots.RepoolWarm(slot);
                }
                else
                {
                    slot.Transition(InstanceState.Warm, InstanceState.Destroyed);
                    Destroy(slot, "unhealthy");
                }
            }
        }
        finally
        {
            // Stopped early (cancelled): the unchecked ones go back as they were.
            for (; next < checking.Count; next++)
            {
                _slots.RepoolWarm(checking[next]);
            }

            if (IsDisposed)
            {
                DrainWarm("shutdown");
            }
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
