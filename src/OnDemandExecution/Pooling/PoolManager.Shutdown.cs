using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using OnDemandExecution.Diagnostics;

namespace OnDemandExecution.Pooling;

/// <summary>Stopping: a bounded wait for work in flight, then what is stuck is abandoned and every instance disposed.</summary>
internal sealed partial class PoolManager
{
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Instances whose disposal has started once the pools stopped: a forced disposal (stuck owner) and the owner's own
    // late release must not both dispose. Empty until a stop; entries are added only after it began.
    private readonly ConcurrentDictionary<IInstance, byte> _disposeClaims = new(ReferenceEqualityComparer.Instance);

    /// <summary>Stops with <see cref="OnDemandExecutionOptions.ShutdownTimeout"/> as the only bound.</summary>
    public ValueTask DisposeAsync() => new(StopAsync(CancellationToken.None));

    /// <summary>Synchronous disposal (a service provider disposed with <c>Dispose()</c>): the same bounded stop.</summary>
    public void Dispose() => StopAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>
    /// Stops the pools: no new instances, warm and idle ones destroyed, then waits for work in flight (abandoned calls,
    /// creations, recycles, disposals) until it ends, <paramref name="cancellationToken"/> fires or
    /// <see cref="OnDemandExecutionOptions.ShutdownTimeout"/> passes. What is still stuck then is abandoned (logged and
    /// counted) and every instance the pools still hold is handed to its provider for disposal. Never throws.
    /// </summary>
    /// <param name="cancellationToken">Ends the wait early (the host's stop token).</param>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            // Another stop runs (or ran): wait for it, within this caller's bound.
            try
            {
                await _stopped.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            return;
        }

        using var limit = new CancellationTokenSource(_options.ShutdownTimeout, _time);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, limit.Token);
        var stuck = false;
        try
        {
            // Callbacks registered on the lifetime token belong to providers (creations in flight): one that blocks must
            // not block the stop, so cancel asynchronously and wait within the bound.
            await _shutdown.CancelAsync().WaitAsync(bound.Token).ConfigureAwait(false);

            // Sweep every slot no one owns. Busy/Assigned ones are destroyed by their owner on release, Provisioning ones
            // by their creator, Recycling ones by the retiring maintenance pass, warm ones popped by a health check by
            // that check: each of them checks the flag after publishing.
            DrainWarm("shutdown");
            foreach (var slot in _slots.Slots)
            {
                var word = slot.Word;
                if (InstanceSlot.StateOf(word) == InstanceState.Loaded && slot.TryTransition(word, InstanceState.Destroyed, out _))
                {
                    Destroy(slot, "shutdown");
                }
            }

            while (!_background.IsEmpty)
            {
                try
                {
                    await Task.WhenAll(_background.Keys).WaitAsync(bound.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (bound.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception)
                {
                    // Failures were logged where they happened; stopping goes on.
                }
            }
        }
        catch (OperationCanceledException) when (bound.IsCancellationRequested)
        {
            stuck = true;
        }

        if (stuck)
        {
            AbandonStuck();
        }

        Log.PoolStopped(_logger, Volatile.Read(ref _destroyed));
        _stopped.TrySetResult();
    }

    /// <summary>
    /// The stop's bound passed with work still in flight: counts and logs what is abandoned, and disposes every instance a
    /// slot still holds (busy with a call that ignores cancellation, loading, recycling, under a health check).
    /// </summary>
    private void AbandonStuck()
    {
        var operations = _background.Count;
        var disposed = 0;
        foreach (var slot in _slots.Slots)
        {
            var state = slot.State;
            if (state is InstanceState.Destroyed || slot.Instance is not { } instance)
            {
                continue;
            }

            if (_disposeClaims.TryAdd(instance, 0))
            {
                disposed++;
                _metrics.StopAbandoned.Add(1, _providerTag, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.ReasonTag, StateName(state)));
                Log.InstanceAbandonedAtStop(_logger, instance.Id, StateName(state));
                _ = DisposeCoreAsync(instance); // not awaited: a disposal that hangs is the provider's, not the stop's
            }
        }

        if (operations > 0)
        {
            _metrics.StopAbandoned.Add(operations, _providerTag, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.ReasonTag, "operation"));
        }

        Log.StopAbandoned(_logger, operations, disposed);
    }

    private static string StateName(InstanceState state) => state switch
    {
        InstanceState.Busy => "busy",
        InstanceState.Assigned => "loading",
        InstanceState.Recycling => "recycling",
        InstanceState.Loaded => "idle",
        InstanceState.Provisioning => "provisioning",
        _ => "warm",
    };
}
