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

        if (keepAlive == TimeSpan.Zero && !slot.Provisioned)
        {
            if (!_slots.TryRetire(slot, slot.Word))
            {
                throw new InvalidOperationException($"Instance slot {slot.Index} changed while its owner released it.");
            }

            Track(RetireAsync(slot, "no keep-alive", _shutdown.Token).AsTask());
            return;
        }

        slot.KeepAlive = keepAlive;
        slot.LastUsedTimestamp = _time.GetTimestamp();
        var word = _slots.Release(slot);

        // DisposeAsync sets the flag and then sweeps; we published Loaded (a full fence) and then read the flag, so at
        // least one of us sees the other: either the sweep finds the slot Loaded, or we see the flag and take it back.
        if (IsDisposed && slot.TryTransition(word, InstanceState.Destroyed, out _))
        {
            Destroy(slot, "shutdown");
        }
    }

    /// <summary>
    /// The invocation gave up on a still-running call: once the call returns, keep the instance if the call ended by
    /// honouring its cancellation, else destroy it.
    /// </summary>
    /// <remarks>
    /// The invocation stops waiting as soon as its token fires, which is usually before the function has seen the same
    /// token (cancellation callbacks run one after another, and the function's completion may be posted), so a call
    /// still running at that moment is not yet proof that the function ignores cancellation: its outcome is.
    /// </remarks>
    public void ReleaseWhenDone(InstanceSlot slot, Task runningCall, TimeSpan keepAlive)
    {
        Log.InstanceAbandoned(_logger, slot.Instance!.Id);
        Track(runningCall.ContinueWith(
            static (call, state) =>
            {
                var (self, s, keepAlive) = ((PoolManager, InstanceSlot, TimeSpan))state!;
                // Kept only if it ended by honouring the cancellation; a call that ran on regardless (even to success)
                // ignored its timeout, and its instance is not trusted again.
                var honoured = call.IsCanceled || call.Exception?.InnerException is OperationCanceledException;
                self.Release(s, keep: honoured, honoured ? "released" : "abandoned", keepAlive);
            },
            (this, slot, keepAlive),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default));
    }

    /// <summary>
    /// Whether a finished call left its instance usable: it returned, honoured its cancellation, or failed in the
    /// function's own code. Instance deaths and provider faults leave it unusable.
    /// </summary>
    internal static bool CallLeftInstanceUsable(Task call) =>
        call.IsCompletedSuccessfully || call.IsCanceled ||
        call.Exception?.InnerException is OperationCanceledException or FunctionExecutionException;
}
