namespace OnDemandExecution.Pooling;

/// <summary>What the health check reads: maintenance progress, the warming pool against its target, provider failures.</summary>
internal sealed partial class PoolManager
{
    private const long Never = long.MinValue;

    private long _lastMaintenance = Never;      // timestamp of the last completed maintenance pass
    private long _warmBelowTargetSince = Never; // first completed pass that found the warming pool short, until one finds it full
    private int _consecutiveCreateFailures;
    private string? _lastCreateError;
    private long _constructed; // when the pool was built: "late" is measured from here until the first pass completes

    private void NoteMaintenanceCompleted()
    {
        var now = _time.GetTimestamp();
        Volatile.Write(ref _lastMaintenance, now);
        if (WarmCount < WarmingPoolTarget)
        {
            Interlocked.CompareExchange(ref _warmBelowTargetSince, now, Never);
        }
        else
        {
            Volatile.Write(ref _warmBelowTargetSince, Never);
        }
    }

    private void NoteCreateSucceeded() => Volatile.Write(ref _consecutiveCreateFailures, 0);

    private void NoteCreateFailed(Exception ex)
    {
        _lastCreateError = ex.Message;
        Interlocked.Increment(ref _consecutiveCreateFailures);
    }

    /// <summary>The pool's health inputs at this moment.</summary>
    public PoolHealth GetHealth()
    {
        var now = _time.GetTimestamp();
        var last = Volatile.Read(ref _lastMaintenance);
        var below = Volatile.Read(ref _warmBelowTargetSince);
        return new PoolHealth(
            Name,
            _provider.Name,
            WarmCount,
            WarmingPoolTarget,
            below == Never ? null : _time.GetElapsedTime(below, now),
            Volatile.Read(ref _consecutiveCreateFailures),
            _lastCreateError,
            last == Never ? null : _time.GetElapsedTime(last, now),
            _time.GetElapsedTime(_constructed, now),
            _options.MaintenanceInterval,
            GetSnapshot().Live);
    }
}

/// <summary>One pool's health inputs.</summary>
/// <param name="Name">The pool's (provider registration's) name.</param>
/// <param name="ProviderName">The provider's own name.</param>
/// <param name="Warm">Instances in the warming pool.</param>
/// <param name="WarmTarget">The warming pool's target.</param>
/// <param name="WarmBelowTargetFor">How long completed maintenance passes have found the warming pool short (null: it was full at the last one).</param>
/// <param name="ConsecutiveCreateFailures">Instance creations that failed since the last one that succeeded.</param>
/// <param name="LastCreateError">The last creation failure's message.</param>
/// <param name="SinceLastMaintenance">Time since the last completed maintenance pass (null: none yet).</param>
/// <param name="Age">Time since the pool was built.</param>
/// <param name="MaintenanceInterval">The configured interval between passes.</param>
/// <param name="Live">Instances that exist now.</param>
internal readonly record struct PoolHealth(
    string Name,
    string ProviderName,
    long Warm,
    int WarmTarget,
    TimeSpan? WarmBelowTargetFor,
    int ConsecutiveCreateFailures,
    string? LastCreateError,
    TimeSpan? SinceLastMaintenance,
    TimeSpan Age,
    TimeSpan MaintenanceInterval,
    long Live);
