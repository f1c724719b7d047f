using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Placement;

namespace OnDemandExecution.Pooling;

/// <summary>Creating, loading, evicting and destroying instances through the provider.</summary>
internal sealed partial class PoolManager
{
    private async ValueTask LoadAsync(InstanceSlot slot, FunctionDefinition function, TenantId tenant, CancellationToken cancellationToken)
    {
        var instance = slot.Instance!;
        using var activity = OnDemandMetrics.ActivitySource.StartActivity(OnDemandExecutionDiagnostics.LoadActivity);
        activity?.SetTag(OnDemandExecutionDiagnostics.FunctionNameTag, function.Name);
        activity?.SetTag(OnDemandExecutionDiagnostics.InstanceTag, instance.Id);
        // Loading is part of the start: bounded by InstanceStartTimeout, the caller's token and the stop, on the caller's
        // side (a provider that ignores its token does not hold the call; the instance is destroyed instead).
        using var timeout = new CancellationTokenSource(_options.InstanceStartTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, _shutdown.Token);
        try
        {
            var loading = instance.LoadAsync(function, tenant, linked.Token);
            if (loading.IsCompleted)
            {
                await loading.ConfigureAwait(false);
            }
            else
            {
                var task = loading.AsTask();
                try
                {
                    await task.WaitAsync(linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!task.IsCompleted)
                {
                    _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    throw;
                }
            }
        }
        catch (Exception ex)
        {
            activity.Fail(ex);
            slot.Transition(InstanceState.Assigned, InstanceState.Destroyed);
            Destroy(slot, "load_failed");
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            Log.LoadFailed(_logger, function.Name, instance.Id, ex);
            if (ex is OperationCanceledException && timeout.IsCancellationRequested)
            {
                throw new InstanceProviderException(
                    $"Provider '{_provider.Name}' did not load function '{function.Name}' into instance {instance.Id} within {nameof(OnDemandExecutionOptions.InstanceStartTimeout)} ({_options.InstanceStartTimeout}).",
                    ex)
                {
                    FunctionName = function.Name,
                    ProviderName = _provider.Name,
                };
            }

            if (ex is InstanceProviderException)
            {
                throw;
            }

            throw new InstanceProviderException(
                $"Provider '{_provider.Name}' could not load function '{function.Name}' ({function.Code.Kind} code) into instance {instance.Id}: {ex.Message}",
                ex)
            {
                FunctionName = function.Name,
                ProviderName = _provider.Name,
            };
        }

        slot.Function = function;
    }

    /// <summary>Creates an instance in a new slot that the caller owns in state <see cref="InstanceState.Provisioning"/>.</summary>
    private async ValueTask<InstanceSlot> CreateSlotAsync(InstanceSpec spec, string purpose, bool mayEvict, CancellationToken cancellationToken)
    {
        ReserveCapacity(mayEvict);
        var slot = _slots.Rent();
        using var activity = OnDemandMetrics.ActivitySource.StartActivity(OnDemandExecutionDiagnostics.CreateInstanceActivity);
        activity?.SetTag(OnDemandExecutionDiagnostics.ProviderTag, _provider.Name);
        var started = _time.GetTimestamp();
        using var timeout = new CancellationTokenSource(_options.InstanceStartTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, _shutdown.Token);
        try
        {
            slot.Instance = await CreateWithinAsync(spec, linked.Token).ConfigureAwait(false)
                ?? throw new InstanceProviderException($"Provider '{_provider.Name}' returned no instance.") { ProviderName = _provider.Name };
        }
        catch (Exception ex)
        {
            activity.Fail(ex);
            slot.Transition(InstanceState.Provisioning, InstanceState.Destroyed);
            _slots.Return(slot);
            Interlocked.Decrement(ref _liveInstances);
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("Instance creation was cancelled by the caller.", ex, cancellationToken);
            }

            Log.InstanceCreateFailed(_logger, _provider.Name, ex);
            NoteCreateFailed(ex);
            if (ex is OperationCanceledException && timeout.IsCancellationRequested)
            {
                throw new InstanceProviderException(
                    $"Provider '{_provider.Name}' did not create an instance within {nameof(OnDemandExecutionOptions.InstanceStartTimeout)} ({_options.InstanceStartTimeout}).",
                    ex)
                { ProviderName = _provider.Name };
            }

            if (ex is OperationCanceledException && IsDisposed)
            {
                throw new InstanceProviderException($"Provider '{_provider.Name}': instance creation stopped because the pools are stopping.", ex)
                { ProviderName = _provider.Name };
            }

            if (ex is InstanceProviderException)
            {
                throw;
            }

            throw new InstanceProviderException($"Provider '{_provider.Name}' failed to create an instance: {ex.Message}", ex)
            {
                ProviderName = _provider.Name,
            };
        }

        Interlocked.Increment(ref _created);
        NoteCreateSucceeded();
        _placer?.NoteLocation(slot.Instance.Location);
        _metrics.InstancesCreated.Add(1, _providerTag);
        activity?.SetTag(OnDemandExecutionDiagnostics.InstanceTag, slot.Instance.Id);
        Log.InstanceCreated(_logger, slot.Instance.Id, _provider.Name, _time.GetElapsedTime(started).TotalMilliseconds, purpose);
        return slot;
    }

    /// <summary>
    /// The provider's creation, given up on the caller's side when <paramref name="cancellationToken"/> fires (start
    /// timeout, caller, stop) even if the provider ignores the token; an instance that arrives later is disposed.
    /// </summary>
    private async ValueTask<IInstance> CreateWithinAsync(InstanceSpec spec, CancellationToken cancellationToken)
    {
        var creating = _provider.CreateAsync(spec, cancellationToken);
        if (creating.IsCompleted)
        {
            return await creating.ConfigureAwait(false);
        }

        var task = creating.AsTask();
        try
        {
            return await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Given up on: whatever the creation still yields is disposed. Not filtered on the task's state: a creation
            // that completes between the token firing and this handler would otherwise leak its instance.
            Track(DisposeLateAsync(task));
            throw;
        }
    }

    private async Task DisposeLateAsync(Task<IInstance> creating)
    {
        IInstance? late;
        try
        {
            late = await creating.ConfigureAwait(false);
        }
        catch (Exception)
        {
            return; // it failed after all: nothing to dispose
        }

        if (late is not null)
        {
            Log.LateInstanceDisposed(_logger, late.Id, _provider.Name);
            await DisposeCoreAsync(late).ConfigureAwait(false);
        }
    }

    /// <summary>Reserves room for one more instance; at the limit, a demand (<paramref name="mayEvict"/>) evicts the least recently used idle one.</summary>
    /// <param name="mayEvict">
    /// True for a cold start, which may evict an idle instance, then a warm one. False for the warming pool's refill: it
    /// never evicts (evicting an active instance to make a warm one trades a warm hit for a pool start, and evicting a
    /// warm one to make another never ends); at the limit it gives up until the next maintenance pass.
    /// </param>
    private void ReserveCapacity(bool mayEvict)
    {
        var max = _options.MaxInstances;
        for (var attempt = 0; attempt < 8; attempt++)
        {
            if (Interlocked.Increment(ref _liveInstances) <= max)
            {
                return;
            }

            Interlocked.Decrement(ref _liveInstances);
            if (!mayEvict || !TryEvictOne())
            {
                break;
            }
        }

        throw new InstanceCapacityExceededException(
            $"A new instance is needed but {nameof(OnDemandExecutionOptions.MaxInstances)} ({max}) instances exist and none is idle. Raise {nameof(OnDemandExecutionOptions.MaxInstances)} or lower the functions' MaxConcurrency.")
        {
            MaxInstances = max,
        };
    }

    private bool TryEvictOne()
    {
        // Prefer the least recently used idle instance of the active pool, then an unassigned warm one.
        InstanceSlot? oldest = null;
        long oldestWord = 0;
        foreach (var slot in _slots.Slots)
        {
            var word = slot.Word;
            // Provisioned instances are a floor, not a cache: never evicted for another's start.
            if (InstanceSlot.StateOf(word) == InstanceState.Loaded && !slot.Provisioned && (oldest is null || slot.LastUsedTimestamp < oldest.LastUsedTimestamp))
            {
                oldest = slot;
                oldestWord = word;
            }
        }

        if (oldest is not null && oldest.TryTransition(oldestWord, InstanceState.Destroyed, out _))
        {
            Destroy(oldest, "evicted");
            return true;
        }

        if (_slots.TryPopWarm(out var warm))
        {
            warm.Transition(InstanceState.Warm, InstanceState.Destroyed);
            Destroy(warm, "evicted");
            return true;
        }

        return oldest is not null; // lost a race for it: someone else freed or took it, worth another try
    }

    /// <summary>Releases a slot already moved to <see cref="InstanceState.Destroyed"/> by its owner.</summary>
    private void Destroy(InstanceSlot slot, string reason)
    {
        var instance = slot.Instance;
        ClearProvisioned(slot);
        _slots.Return(slot); // reusable from here on: only the captured instance is used below
        Interlocked.Decrement(ref _liveInstances);
        Interlocked.Increment(ref _destroyed);
        _metrics.InstancesDestroyed.Add(1, _providerTag, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.ReasonTag, reason));
        if (instance is not null)
        {
            Log.InstanceDestroyed(_logger, instance.Id, reason);
            InstanceRetired?.Invoke(instance.Id);
            Track(DisposeInstanceAsync(instance));
        }
    }

    private Task DisposeInstanceAsync(IInstance instance) =>
        IsDisposed && !_disposeClaims.TryAdd(instance, 0)
            ? Task.CompletedTask // the stop already disposed it (its owner was stuck then)
            : DisposeCoreAsync(instance);

    private async Task DisposeCoreAsync(IInstance instance)
    {
        try
        {
            await instance.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.InstanceDisposeFailed(_logger, instance.Id, ex);
        }
    }
}
