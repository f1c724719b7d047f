using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Placement;

namespace OnDemandExecution.Pooling;

/// <summary>The acquire path: warm hit, else a warming-pool instance loaded now, else a cold start.</summary>
internal sealed partial class PoolManager
{
    /// <summary>
    /// Gets a busy instance holding <paramref name="function"/>'s code for <paramref name="tenant"/>: an idle one of the
    /// active pool (warm hit), else a warming-pool one assigned and loaded now, else a new one (cold start).
    /// </summary>
    public async ValueTask<PoolLease> AcquireAsync(FunctionDefinition function, TenantId tenant, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (_placer is { } placer && placer.TryGetPlan(function.Name, out var plan))
        {
            if (TryAcquirePlacedIdle(placer, plan, function, tenant, out var placed))
            {
                return placed;
            }

            return await AcquirePlacedAsync(placer, plan, function, tenant, cancellationToken).ConfigureAwait(false);
        }

        if (_slots.TryGetKey(tenant, function.Name, out var key))
        {
            // An idle instance that died while idle (its provider already knows) is destroyed and the next one tried;
            // bounded, then a fresh start: the call never fails for an instance it did not use.
            for (var attempt = 0; attempt < 4 && _slots.TryAcquire(key, out var idle); attempt++)
            {
                if (IsClaimedAlive(idle))
                {
                    return new PoolLease(idle, StartKind.Warm, TimeSpan.Zero, TimeSpan.Zero);
                }
            }
        }

        return await AcquireFreshAsync(function, tenant, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reserves one of the tenant's <see cref="OnDemandExecutionOptions.MaxInstancesPerTenant"/> instances for a start;
    /// at the limit, evicts the tenant's own least recently used idle instance and tries again. False when all of them
    /// are in use.
    /// </summary>
    private bool ReserveForTenant(PoolKey key)
    {
        var limit = _options.InstancesPerTenantLimit;
        for (var attempt = 0; attempt < 8; attempt++)
        {
            if (key.Usage.TryReserve(limit))
            {
                return true;
            }

            if (!TryEvictIdleOf(key.Tenant))
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>Destroys the tenant's least recently used idle instance; false when it has none.</summary>
    private bool TryEvictIdleOf(TenantId tenant)
    {
        InstanceSlot? oldest = null;
        long oldestWord = 0;
        foreach (var key in _slots.Keys)
        {
            if (key.Tenant != tenant)
            {
                continue;
            }

            foreach (var member in key.Members)
            {
                var word = member.Word;
                if (InstanceSlot.LowMatches(word, key.LoadedLow) && !member.Provisioned && (oldest is null || member.LastUsedTimestamp < oldest.LastUsedTimestamp)) // a provisioned floor is never evicted
                {
                    oldest = member;
                    oldestWord = word;
                }
            }
        }

        if (oldest is not null && oldest.TryTransition(oldestWord, InstanceState.Destroyed, out _))
        {
            Destroy(oldest, "evicted_tenant_limit");
            return true;
        }

        return oldest is not null; // lost a race for it: worth another look
    }

    /// <summary>
    /// Whether a just-claimed idle instance is alive (<see cref="IInstance.IsAlive"/>, a cheap flag); a dead one is
    /// destroyed here and false returned.
    /// </summary>
    private bool IsClaimedAlive(InstanceSlot claimed)
    {
        var instance = claimed.Instance!;
        bool alive;
        try
        {
            alive = instance.IsAlive;
        }
        catch (Exception)
        {
            alive = false; // a liveness flag that throws says nothing good
        }

        if (alive && HoldsDrained(claimed))
        {
            // Loaded with a function that was removed or replaced since: never used again.
            claimed.Transition(InstanceState.Busy, InstanceState.Destroyed);
            Destroy(claimed, "function_drained");
            return false;
        }

        if (alive)
        {
            return true;
        }

        Log.IdleInstanceDead(_logger, instance.Id);
        claimed.Transition(InstanceState.Busy, InstanceState.Destroyed);
        Destroy(claimed, "died_idle");
        return false;
    }

    /// <summary>A warming-pool instance assigned and loaded now, else a cold start; busy and owned by the caller.</summary>
    /// <param name="function">The function.</param>
    /// <param name="tenant">The tenant.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <param name="taken">A warm slot the placer already popped (owned, still Warm): assigned instead of popping one.</param>
    /// <param name="coldAt">The placer chose a cold start at this location (passed as <see cref="InstanceSpec.PreferredLocation"/>).</param>
    /// <param name="deadWarmRetries">How many more warm instances to try when the one taken turns out to have died.</param>
    private async ValueTask<PoolLease> AcquireFreshAsync(FunctionDefinition function, TenantId tenant, CancellationToken cancellationToken, InstanceSlot? taken = null, InstanceLocation? coldAt = null, int deadWarmRetries = 2)
    {
        var key = _slots.GetOrAddKey(tenant, function.Name);
        if (!ReserveForTenant(key))
        {
            if (taken is not null)
            {
                _slots.RepoolWarm(taken);
            }

            var limit = _options.InstancesPerTenantLimit;
            if (limit >= _options.MaxInstances)
            {
                // The tenant's share is the whole host: that is the host's limit.
                throw new InstanceCapacityExceededException(
                    $"A new instance is needed but {nameof(OnDemandExecutionOptions.MaxInstances)} ({_options.MaxInstances}) instances exist and none is idle. Raise {nameof(OnDemandExecutionOptions.MaxInstances)} or lower the functions' MaxConcurrency.")
                {
                    MaxInstances = _options.MaxInstances,
                };
            }

            throw new TenantLimitExceededException(
                $"Tenant '{tenant}' holds {limit} instances ({nameof(OnDemandExecutionOptions.MaxInstancesPerTenant)}) and none of them is idle; function '{function.Name}' cannot start another. Retry later, or raise {nameof(OnDemandExecutionOptions.MaxInstancesPerTenant)}.")
            {
                Tenant = tenant,
                LimitName = nameof(OnDemandExecutionOptions.MaxInstancesPerTenant),
                Limit = limit,
            };
        }

        var kind = StartKind.WarmPool;
        var provisioning = TimeSpan.Zero;
        var requiredMemory = function.MemoryMb ?? 0;
        InstanceSlot slot;
        if (taken is not null)
        {
            slot = taken;
            _slots.Assign(slot, key, InstanceState.Warm);
        }
        else if (coldAt is not null || requiredMemory > _options.WarmInstance.MemoryMb || !_slots.TryTakeWarm(key, out slot))
        {
            kind = StartKind.Cold;
            var started = _time.GetTimestamp();
            var spec = requiredMemory > _options.WarmInstance.MemoryMb ? _options.WarmInstance with { MemoryMb = requiredMemory } : _options.WarmInstance;
            if (coldAt is not null)
            {
                spec = spec with { PreferredLocation = coldAt };
            }

            try
            {
                slot = await CreateSlotAsync(spec, "cold start", mayEvict: true, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                key.Usage.Release(); // it never joined the key
                throw;
            }

            _slots.Assign(slot, key, InstanceState.Provisioning);
            provisioning = _time.GetElapsedTime(started);
        }

        _ = StartRefill(); // in the background: this start does not wait for it
        var loadStarted = _time.GetTimestamp();
        try
        {
            await LoadAsync(slot, function, tenant, cancellationToken).ConfigureAwait(false);
        }
        catch (InstanceProviderException ex) when (kind == StartKind.WarmPool && ex.InnerException is InstanceDiedException && deadWarmRetries > 0)
        {
            // The warm instance died while it waited (maintenance had not checked it yet); LoadAsync destroyed it.
            // Take another one (or cold-start) rather than fail this call for an instance it never used.
            return await AcquireFreshAsync(function, tenant, cancellationToken, deadWarmRetries: deadWarmRetries - 1).ConfigureAwait(false);
        }

        var load = _time.GetElapsedTime(loadStarted);
        slot.Transition(InstanceState.Assigned, InstanceState.Busy);
        _placer?.RecordStart(kind, provisioning + load);
        _metrics.StartDuration.Record(
            (provisioning + load).TotalSeconds,
            new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.StartKindTag, OnDemandMetrics.StartKindName(kind)));
        return new PoolLease(slot, kind, provisioning, load);
    }
}
