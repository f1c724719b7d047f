using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Placement;

namespace OnDemandExecution.Pooling;

/// <summary>Returning busy instances to the active pool, or recycling or destroying them.</summary>
internal sealed partial class PoolManager
{
    /// <summary>Returns a busy instance with its function's fixed keep-alive (for callers without a policy).</summary>
    public void Release(InstanceSlot slot, bool keep, string reason) =>
        Release(slot, keep, reason, slot.Function?.KeepAlive ?? _options.KeepAlive);

    /// <summary>
    /// Returns a busy instance: to the active pool for <paramref name="keepAlive"/> when <paramref name="keep"/>, else it
    /// is destroyed. A zero keep-alive retires it at once.
    /// </summary>
    public void Release(InstanceSlot slot, bool keep, string reason, TimeSpan keepAlive)
    {
        ArgumentNullException.ThrowIfNull(slot);
        if (!keep || IsDisposed)
        {
            slot.Transition(InstanceState.Busy, InstanceState.Destroyed);
            Destroy(slot, keep ? "shutdown" : reason);
            return;
        }

        var drained = HoldsDrained(slot);
        if ((keepAlive == TimeSpan.Zero && !slot.Provisioned) || drained)
        {
            if (!_slots.TryRetire(slot, slot.Word))
            {
                throw new InvalidOperationException($"Instance slot {slot.Index} changed while its owner released it.");
            }

            Track(RetireAsync(slot, drained ? "function_drained" : "no_keep_alive", _shutdown.Token).AsTask());
            return;
        }

        slot.KeepAlive = keepAlive;
        var now = _time.GetTimestamp();
        slot.LastUsedTimestamp = now;
        var word = _slots.Release(slot);
        if (keepAlive != Timeout.InfiniteTimeSpan)
        {
            LowerNextExpiry(now + ToTimestampFloor(keepAlive)); // after publishing Loaded: a pass that reset the hint sees the slot or this
        }

        // DisposeAsync sets the flag and then sweeps; we published Loaded (a full fence) and then read the flag, so at
        // least one of us sees the other: either the sweep finds the slot Loaded, or we see the flag and take it back.
        if (IsDisposed && slot.TryTransition(word, InstanceState.Destroyed, out _))
        {
            Destroy(slot, "shutdown");
        }
    }

    /// <summary>
    /// A call on this busy instance timed out or was cancelled: the caller has its answer, and the instance is returned
    /// in the background. It is reused only if its provider confirms that the call's work stopped
    /// (<see cref="IInstance.StopWorkAsync"/>, within <see cref="OnDemandExecutionOptions.StopWorkTimeout"/>) and the
    /// call itself ended by honouring its cancellation; otherwise it is destroyed.
    /// </summary>
    /// <param name="slot">The busy slot, owned by the caller until this returns.</param>
    /// <param name="runningCall">The call if it had not ended when the caller gave up on it, else null.</param>
    /// <param name="endedUsable">For a call that had ended: whether its outcome left the instance usable.</param>
    /// <param name="keepAlive">The keep-alive if it is reused.</param>
    /// <remarks>
    /// A call that ended by honouring its token is not proof that its work stopped: a provider's invoke may stop waiting
    /// while the guest program runs on (the KVM guest kept a CPU busy and timed out every later call it served), hence
    /// the provider's confirmation. A call that ran on regardless (even to success) ignored its timeout, and its
    /// instance is not trusted again.
    /// </remarks>
    public void ReleaseAfterInterrupt(InstanceSlot slot, Task? runningCall, bool endedUsable, TimeSpan keepAlive)
    {
        if (runningCall is not null)
        {
            Log.InstanceAbandoned(_logger, slot.Instance!.Id);
        }

        Track(ReleaseAfterInterruptAsync(slot, runningCall, endedUsable, keepAlive));
    }

    private async Task ReleaseAfterInterruptAsync(InstanceSlot slot, Task? runningCall, bool endedUsable, TimeSpan keepAlive)
    {
        var instance = slot.Instance!;
        var keep = false;
        Exception? error = null;
        using (var bound = new CancellationTokenSource(_options.StopWorkTimeout, _time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(bound.Token, _shutdown.Token))
        {
            try
            {
                var stopping = instance.StopWorkAsync(linked.Token);
                var stopped = stopping.IsCompleted ? await stopping.ConfigureAwait(false) : await stopping.AsTask().WaitAsync(linked.Token).ConfigureAwait(false);
                if (stopped && runningCall is not null)
                {
                    // Confirmed stopped: the call must end too (the instance serves one call at a time), by honouring its token.
                    await runningCall.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)
                        .WaitAsync(linked.Token).ConfigureAwait(false);
                    endedUsable = runningCall.IsCanceled || runningCall.Exception?.InnerException is OperationCanceledException;
                }

                keep = stopped && endedUsable;
            }
            catch (Exception ex)
            {
                error = ex; // the provider failed to stop it, or did not answer in time: not reused
            }
        }

        if (!keep)
        {
            Log.WorkNotStopped(_logger, instance.Id, error);
        }

        if (runningCall is not null && !runningCall.IsCompleted)
        {
            // Destroyed while the call still runs: the instance's disposal is what stops it; observe its end.
            _ = runningCall.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        Release(slot, keep, keep ? "released" : "work_not_stopped", keepAlive);
    }

    /// <summary>
    /// Whether a finished call left its instance usable: it returned, honoured its cancellation, or failed in the
    /// function's own code. Instance deaths and provider faults leave it unusable.
    /// </summary>
    internal static bool CallLeftInstanceUsable(Task call) =>
        call.IsCompletedSuccessfully || call.IsCanceled ||
        call.Exception?.InnerException is OperationCanceledException or FunctionExecutionException;
}
