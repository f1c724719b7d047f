using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Placement;

namespace OnDemandExecution.Pooling;

/// <summary>Preloads: instances assigned and loaded ahead of expected calls.</summary>
internal sealed partial class PoolManager
{
    public async ValueTask<int> PreloadAsync(FunctionDefinition definition, TenantId tenant, int count, TimeSpan keepAlive, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var function = definition;
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (keepAlive < TimeSpan.Zero && keepAlive != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(keepAlive), keepAlive, "The keep-alive must be zero or positive, or Timeout.InfiniteTimeSpan.");
        }

        if (IsDrained(definition))
        {
            return 0; // a policy's pre-load of a function removed or replaced since
        }

        if (Registry?.For(definition) is { } owner && !ReferenceEquals(owner, this))
        {
            // A policy holding the default pool preloads a function of another provider: its own pool does it.
            return await owner.PreloadAsync(definition, tenant, count, keepAlive, cancellationToken).ConfigureAwait(false);
        }

        ObjectDisposedException.ThrowIf(IsDisposed, this);

        // A preload is background work a policy starts, often from inside a call: a trace of its own, linked to that call.
        using var activity = ActivityExtensions.StartBackground(OnDemandExecutionDiagnostics.PreloadActivity);
        activity?.SetTag(OnDemandExecutionDiagnostics.FunctionNameTag, function.Name);
        var missing = count - (_slots.TryGetKey(tenant, function.Name, out var key) ? SlotAllocator.CountKey(key).Idle : 0);
        var loaded = 0;

        // In parallel, at most MaxConcurrentProvisioning at a time: instances wanted for one expected wave must be ready
        // together, not one start time after another. Each one is released as soon as it is loaded, so a failure of
        // one leaves the others in the pool.
        while (loaded < missing)
        {
            var batch = Math.Min(missing - loaded, _options.MaxConcurrentProvisioning);
            var starts = new Task[batch];
            for (var i = 0; i < batch; i++)
            {
                starts[i] = PreloadOneAsync(function, tenant, keepAlive, cancellationToken);
            }

            try
            {
                await Task.WhenAll(starts).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                activity.Fail(ex);
                throw;
            }
            finally
            {
                loaded += starts.Count(t => t.IsCompletedSuccessfully);
            }
        }

        return Math.Max(loaded, 0);
    }

    private async Task PreloadOneAsync(FunctionDefinition function, TenantId tenant, TimeSpan keepAlive, CancellationToken cancellationToken)
    {
        var lease = await AcquireFreshAsync(function, tenant, cancellationToken).ConfigureAwait(false);
        Release(lease.Slot, keep: true, "preloaded", keepAlive);
        _metrics.InstancesPreloaded.Add(1, _providerTag);
    }
}
