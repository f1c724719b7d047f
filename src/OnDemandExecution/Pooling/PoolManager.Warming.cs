using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Placement;

namespace OnDemandExecution.Pooling;

/// <summary>The warming pool: enqueue, drain and refill.</summary>
internal sealed partial class PoolManager
{
    /// <summary>Pools an owned slot as warm (from Provisioning or Recycling); after shutdown began, drains the pool again.</summary>
    private void EnqueueWarm(InstanceSlot slot, InstanceState from)
    {
        slot.LastCheckedTimestamp = _time.GetTimestamp(); // new or just scrubbed: not due for a health check yet
        _slots.PushWarm(slot, from);
        if (IsDisposed)
        {
            DrainWarm("shutdown");
        }
    }

    /// <summary>Destroys every instance of the warming pool.</summary>
    private void DrainWarm(string reason)
    {
        while (_slots.TryPopWarm(out var slot))
        {
            slot.Transition(InstanceState.Warm, InstanceState.Destroyed);
            Destroy(slot, reason);
        }
    }

    /// <summary>Starts a refill of the warming pool unless one is running; returns the refill in flight.</summary>
    /// <remarks>
    /// One refill at a time: it runs on the pool's lifetime token, so a caller that stops waiting (its own token) does
    /// not stop it, and every caller that asks while it runs waits for the same one.
    /// </remarks>
    private Task StartRefill()
    {
        while (true)
        {
            var current = Volatile.Read(ref _refill);
            if (!current.IsCompleted)
            {
                return current;
            }

            if (WarmDeficit() <= 0 || IsDisposed)
            {
                return Task.CompletedTask; // nothing to do: allocate nothing (every non-warm start asks)
            }

            // The refill is shared by every caller that waits for it: its spans form a trace of their own, linked to the
            // span that started it, instead of joining whichever call happened to start it.
            var trigger = Activity.Current?.Context ?? default;
            var starter = new Task<Task>(() => RefillLoopAsync(trigger, _shutdown.Token));
            var refill = starter.Unwrap();
            if (Interlocked.CompareExchange(ref _refill, refill, current) == current)
            {
                Track(refill);
                ActivityExtensions.StartDetached(static s => s.Start(TaskScheduler.Default), starter);
                return refill;
            }
        }
    }

    /// <summary>How many instances the warming pool lacks, counting creations in flight and instances under a health check.</summary>
    private int WarmDeficit() => WarmingPoolTarget - (int)WarmCount - Volatile.Read(ref _warmProvisioning) - Volatile.Read(ref _warmChecking);

    private long WarmCount => _slots.WarmCount;

    private async Task RefillLoopAsync(ActivityContext trigger, CancellationToken cancellationToken)
    {
        using var activity = ActivityExtensions.StartBackground(OnDemandExecutionDiagnostics.RefillActivity, trigger);
        activity?.SetTag(OnDemandExecutionDiagnostics.ProviderTag, _provider.Name);
        while (!IsDisposed)
        {
            var deficit = WarmDeficit();
            if (deficit <= 0)
            {
                return;
            }

            var batch = Math.Min(deficit, _options.MaxConcurrentProvisioning);
            var tasks = new Task<bool>[batch];
            for (var i = 0; i < batch; i++)
            {
                tasks[i] = CreateWarmAsync(cancellationToken);
            }

            var results = await Task.WhenAll(tasks).ConfigureAwait(false);
            if (Array.IndexOf(results, false) >= 0)
            {
                return; // a creation failed: do not hammer a failing provider; the next maintenance pass retries
            }
        }
    }

    private async Task<bool> CreateWarmAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _warmProvisioning);
        try
        {
            var slot = await CreateSlotAsync(_options.WarmInstance, "warming pool", mayEvict: false, cancellationToken).ConfigureAwait(false);
            EnqueueWarm(slot, InstanceState.Provisioning);
            return true;
        }
        catch (Exception ex) when (ex is OnDemandExecutionException or OperationCanceledException)
        {
            return false;
        }
        finally
        {
            Interlocked.Decrement(ref _warmProvisioning);
        }
    }
}
