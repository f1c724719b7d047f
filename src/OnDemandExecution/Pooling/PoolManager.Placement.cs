using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Placement;

namespace OnDemandExecution.Pooling;

/// <summary>Acquire when a channel-quality placement plan applies to the function.</summary>
internal sealed partial class PoolManager
{
    /// <summary>
    /// The synchronous part of a placed acquire: claims the idle instance with the lowest penalty when its location is as
    /// good as the best one (the common case once placement has settled). False when there is none (or it kept losing
    /// races): the full decision follows.
    /// </summary>
    private bool TryAcquirePlacedIdle(ChannelQualityPlacer placer, PlacementPlan plan, FunctionDefinition function, TenantId tenant, out PoolLease lease)
    {
        for (var attempt = 0; attempt < 4 && _slots.TryGetKey(tenant, function.Name, out var key); attempt++)
        {
            var idle = BestIdle(plan, key, out var idleWord, out var idleCost);
            if (idle is null || idleCost > plan.BestPenaltyMs)
            {
                break;
            }

            if (idle.TryClaim(idleWord))
            {
                if (!IsClaimedAlive(idle))
                {
                    continue;
                }

                placer.RecordDecision(plan, PlacementKind.WarmBest, idle.Instance, idle.Instance?.Location, idleCost, double.NaN);
                lease = new PoolLease(idle, StartKind.Warm, TimeSpan.Zero, TimeSpan.Zero);
                return true;
            }
        }

        lease = default;
        return false;
    }

    /// <summary>The idle member of <paramref name="key"/> whose location has the lowest penalty (nothing is claimed).</summary>
    private static InstanceSlot? BestIdle(PlacementPlan plan, PoolKey key, out long idleWord, out double idleCost)
    {
        InstanceSlot? idle = null;
        idleWord = 0;
        idleCost = double.PositiveInfinity;
        foreach (var member in key.Members)
        {
            var word = member.Word;
            if (!InstanceSlot.LowMatches(word, key.LoadedLow))
            {
                continue;
            }

            var penalty = plan.PenaltyOf(member.Instance?.Location);
            if (penalty < idleCost)
            {
                idle = member;
                idleWord = word;
                idleCost = penalty;
            }
        }

        return idle;
    }

    /// <summary>
    /// Acquire for a function with a placement plan: the candidate with the lowest expected cost for this call, where an
    /// idle instance costs its location's channel penalty, a warming-pool instance the load time plus its penalty, and a
    /// cold start at the best location the cold-start time plus the best penalty. See docs/placement.md.
    /// </summary>
    private async ValueTask<PoolLease> AcquirePlacedAsync(ChannelQualityPlacer placer, PlacementPlan plan, FunctionDefinition function, TenantId tenant, CancellationToken cancellationToken)
    {
        var options = placer.Options;
        for (var attempt = 0; attempt < 4; attempt++)
        {
            // 1. The idle member at the best-scored location (a scan of the key's members; nothing is claimed yet).
            InstanceSlot? idle = null;
            long idleWord = 0;
            var idleCost = double.PositiveInfinity;
            if (_slots.TryGetKey(tenant, function.Name, out var key))
            {
                idle = BestIdle(plan, key, out idleWord, out idleCost);
            }

            var coldCost = options.AllowColdStartAtBestLocation && plan.Best is not null ? placer.ColdStartMs + plan.BestPenaltyMs : double.PositiveInfinity;
            if (idle is not null && idleCost <= plan.BestPenaltyMs)
            {
                if (idle.TryClaim(idleWord))
                {
                    if (!IsClaimedAlive(idle))
                    {
                        continue;
                    }

                    placer.RecordDecision(plan, PlacementKind.WarmBest, idle.Instance, idle.Instance?.Location, idleCost, coldCost);
                    return new PoolLease(idle, StartKind.Warm, TimeSpan.Zero, TimeSpan.Zero);
                }

                continue; // somebody took it: look again
            }

            // 2. A bounded search of the warming pool for an instance cheaper than both the idle one and a cold start.
            var poolStart = placer.PoolStartMs;
            var fitsWarm = (function.MemoryMb ?? 0) <= _options.WarmInstance.MemoryMb;
            if (fitsWarm && _slots.WarmCount > 0 &&
                _slots.TryTakeBestWarm(plan, options.WarmPoolSearchDepth, Math.Min(idleCost, coldCost) - poolStart, out var warm, out var warmPenalty))
            {
                if (IsDisposed)
                {
                    _slots.RepoolWarm(warm);
                    DrainWarm("shutdown");
                    ObjectDisposedException.ThrowIf(true, this);
                }

                placer.RecordDecision(plan, PlacementKind.Pool, warm.Instance, warm.Instance?.Location, poolStart + warmPenalty, Math.Min(idleCost, coldCost));
                return await AcquireFreshAsync(function, tenant, cancellationToken, taken: warm).ConfigureAwait(false);
            }

            if (IsDisposed)
            {
                DrainWarm("shutdown");
                ObjectDisposedException.ThrowIf(true, this);
            }

            // 3. The idle instance elsewhere, unless a cold start at the best location is expected to be faster.
            if (idle is not null && idleCost <= coldCost)
            {
                if (idle.TryClaim(idleWord))
                {
                    if (!IsClaimedAlive(idle))
                    {
                        continue;
                    }

                    placer.RecordDecision(plan, PlacementKind.WarmOther, idle.Instance, idle.Instance?.Location, idleCost, coldCost);
                    return new PoolLease(idle, StartKind.Warm, TimeSpan.Zero, TimeSpan.Zero);
                }

                continue;
            }

            // 4. A cold start asked at the best location (it was going to be cold anyway, or it is cheaper than the rest).
            if (!double.IsPositiveInfinity(coldCost))
            {
                placer.RecordDecision(plan, PlacementKind.ColdAtBest, null, plan.Best, coldCost, idleCost);
                return await AcquireFreshAsync(function, tenant, cancellationToken, coldAt: plan.Best).ConfigureAwait(false);
            }

            break; // no cold start at a location: the default choice below
        }

        placer.RecordDecision(plan, PlacementKind.Fallback, null, null, double.NaN, double.NaN);
        if (_slots.TryGetKey(tenant, function.Name, out var fallbackKey) && _slots.TryAcquire(fallbackKey, out var any) && IsClaimedAlive(any))
        {
            return new PoolLease(any, StartKind.Warm, TimeSpan.Zero, TimeSpan.Zero);
        }

        return await AcquireFreshAsync(function, tenant, cancellationToken).ConfigureAwait(false);
    }
}
