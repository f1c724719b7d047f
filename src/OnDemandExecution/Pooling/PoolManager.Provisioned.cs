using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using OnDemandExecution.Diagnostics;

namespace OnDemandExecution.Pooling;

/// <summary>
/// Provisioned concurrency: per function (and tenant), a floor of instances kept loaded and idle-ready by maintenance,
/// never expired and never evicted. See docs/pools.md#provisioned-concurrency.
/// </summary>
internal sealed partial class PoolManager
{
    private readonly ConcurrentDictionary<string, FunctionDefinition> _provisioned = new(StringComparer.Ordinal);

    /// <summary>Keeps <paramref name="function"/>'s provisioned floor from the next maintenance pass on (replacing an earlier definition of the same name).</summary>
    public void TrackProvisioned(FunctionDefinition function)
    {
        if (function.ProvisionedConcurrency is null)
        {
            _provisioned.TryRemove(function.Name, out _);
        }
        else
        {
            _provisioned[function.Name] = function;
        }
    }

    /// <summary>Stops keeping the floor of the function named <paramref name="name"/>; its instances become on-demand at the next pass.</summary>
    public void UntrackProvisioned(string name) => _provisioned.TryRemove(name, out _);

    /// <summary>The floors this pool keeps (for validation: their sum must fit <see cref="OnDemandExecutionOptions.MaxInstances"/>).</summary>
    public ICollection<FunctionDefinition> ProvisionedFunctions => _provisioned.Values;

    private Task _provisioning = Task.CompletedTask; // the floors' pass in flight (one at a time)

    /// <summary>Starts a pass over the floors unless one is running (or there is nothing to do); returns the pass in flight.</summary>
    private Task StartProvisioning()
    {
        while (true)
        {
            var current = Volatile.Read(ref _provisioning);
            if (!current.IsCompleted)
            {
                return current;
            }

            if ((_provisioned.IsEmpty && Volatile.Read(ref _provisionedLive) == 0) || IsDisposed)
            {
                return Task.CompletedTask; // nothing provisioned, nothing to release: allocate nothing
            }

            var starter = new Task<Task>(() => MaintainProvisionedAsync(_shutdown.Token).AsTask());
            var pass = starter.Unwrap();
            if (Interlocked.CompareExchange(ref _provisioning, pass, current) == current)
            {
                Track(pass);
                starter.Start(TaskScheduler.Default);
                return pass;
            }
        }
    }

    /// <summary>
    /// One pass over the floors: the surplus of a lowered or closed floor becomes on-demand (idle ones now, busy ones at a
    /// later pass), idle on-demand instances of a floor short of its count are adopted, and the rest are loaded.
    /// </summary>
    private async ValueTask MaintainProvisionedAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetLocalNow();
        var wanted = new Dictionary<(TenantId, string), (FunctionDefinition Function, int Count)>();
        foreach (var function in _provisioned.Values)
        {
            var floor = function.ProvisionedConcurrency!;
            var count = floor.CountAt(now);
            foreach (var tenant in floor.EffectiveTenants)
            {
                wanted[(tenant, function.Name)] = (function, count);
            }
        }

        // Lower first: capacity freed here may be needed below.
        foreach (var key in _slots.Keys)
        {
            var target = wanted.TryGetValue((key.Tenant, key.Function), out var w) ? w.Count : 0;
            var surplus = CountProvisioned(key) - target;
            foreach (var member in key.Members)
            {
                if (surplus <= 0)
                {
                    break;
                }

                var word = member.Word;
                if (!InstanceSlot.LowMatches(word, key.LoadedLow) || !member.Provisioned || !member.TryClaim(word))
                {
                    continue;
                }

                // Owned now, so the flag read below is the one its last owner published (the one above was a hint).
                if (member.Provisioned)
                {
                    ClearProvisioned(member);
                    surplus--;
                    Release(member, keep: true, "unprovisioned", member.Function?.KeepAlive ?? _options.KeepAlive);
                }
                else
                {
                    PutBack(member);
                }
            }
        }

        foreach (var ((tenant, _), (function, count)) in wanted)
        {
            if (count == 0 || IsDisposed)
            {
                continue;
            }

            var key = _slots.GetOrAddKey(tenant, function.Name);
            var missing = count - CountProvisioned(key);
            foreach (var member in key.Members)
            {
                if (missing <= 0)
                {
                    break;
                }

                var word = member.Word;
                if (!InstanceSlot.LowMatches(word, key.LoadedLow) || member.Provisioned || !member.TryClaim(word))
                {
                    continue;
                }

                if (member.Provisioned || member.Function?.Code != function.Code)
                {
                    // Flagged after all, or loaded with other code (an older definition of the function): not adopted.
                    PutBack(member);
                    continue;
                }

                MarkProvisioned(member);
                missing--;
                Release(member, keep: true, "provisioned", Timeout.InfiniteTimeSpan);
            }

            try
            {
                while (missing > 0 && !IsDisposed)
                {
                    var batch = Math.Min(missing, _options.MaxConcurrentProvisioning);
                    var starts = new Task[batch];
                    for (var i = 0; i < batch; i++)
                    {
                        starts[i] = ProvisionOneAsync(function, tenant, cancellationToken);
                    }

                    try
                    {
                        await Task.WhenAll(starts).ConfigureAwait(false);
                    }
                    finally
                    {
                        missing -= starts.Count(t => t.IsCompletedSuccessfully);
                    }
                }
            }
            catch (Exception ex) when (ex is OnDemandExecutionException or ObjectDisposedException or OperationCanceledException)
            {
                // The next pass retries; the failure is logged (and counted for the health check) where it happened.
                Log.ProvisioningFailed(_logger, function.Name, tenant.Value, missing, ex);
            }
        }
    }

    private async Task ProvisionOneAsync(FunctionDefinition function, TenantId tenant, CancellationToken cancellationToken)
    {
        var lease = await AcquireFreshAsync(function, tenant, cancellationToken).ConfigureAwait(false);
        MarkProvisioned(lease.Slot);
        Release(lease.Slot, keep: true, "provisioned", Timeout.InfiniteTimeSpan);
        _metrics.InstancesPreloaded.Add(1, _providerTag, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.CapacityTag, "provisioned"));
    }

    /// <summary>Returns a slot claimed only to look at it, leaving its keep-alive and last use as they were.</summary>
    private void PutBack(InstanceSlot slot)
    {
        var word = _slots.Release(slot);
        if (IsDisposed && slot.TryTransition(word, InstanceState.Destroyed, out _))
        {
            Destroy(slot, "shutdown");
        }
    }

    /// <summary>Flags an owned (busy) slot as provisioned.</summary>
    private void MarkProvisioned(InstanceSlot slot)
    {
        slot.Provisioned = true;
        Interlocked.Increment(ref _provisionedLive);
    }

    /// <summary>Clears the flag of a slot leaving its key (destroyed or retired) so a reused slot never inherits it.</summary>
    private void ClearProvisioned(InstanceSlot slot)
    {
        if (slot.Provisioned)
        {
            slot.Provisioned = false;
            Interlocked.Decrement(ref _provisionedLive);
        }
    }

    private static int CountProvisioned(PoolKey key)
    {
        var count = 0;
        foreach (var member in key.Members)
        {
            if (member.Provisioned)
            {
                count++;
            }
        }

        return count;
    }
}
