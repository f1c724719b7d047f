using Microsoft.Extensions.Time.Testing;

namespace OnDemandExecution.Simulation;

/// <summary>
/// A <see cref="FakeTimeProvider"/> whose timers fire in a fixed order: by due time, then by the order they were armed
/// in, one at a time, with an optional step between callbacks. A replay advances it from one due timer (or trace event)
/// to the next and lets everything a callback started settle before the next callback runs.
/// </summary>
/// <remarks>
/// Advance it through this type's <see cref="Advance(TimeSpan)"/>, <see cref="SetUtcNow(DateTimeOffset)"/> or
/// <see cref="AdvanceTo"/>: its timers are its own, so the base class's methods (called through a
/// <see cref="FakeTimeProvider"/> reference) move the time without firing them.
/// </remarks>
public sealed class SimulationClock : FakeTimeProvider
{
    private readonly object _gate = new();
    private readonly SortedSet<(long Due, long Sequence)> _due = [];
    private readonly Dictionary<long, SimulationTimer> _armed = [];
    private long _nextSequence;

    /// <summary>Creates a clock that starts at <paramref name="start"/>.</summary>
    /// <param name="start">The initial time.</param>
    public SimulationClock(DateTimeOffset start)
        : base(start)
    {
    }

    /// <summary>How many timers are armed.</summary>
    public int ArmedTimers
    {
        get
        {
            lock (_gate)
            {
                return _due.Count;
            }
        }
    }

    /// <summary>When the earliest armed timer is due, or null when none is armed.</summary>
    public DateTimeOffset? NextDue
    {
        get
        {
            lock (_gate)
            {
                return _due.Count == 0 ? null : new DateTimeOffset(_due.Min.Due, TimeSpan.Zero);
            }
        }
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new SimulationTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Advances the clock by <paramref name="delta"/>, firing the timers due on the way in order.</summary>
    /// <param name="delta">How far to move.</param>
    public new void Advance(TimeSpan delta) => AdvanceTo(GetUtcNow() + delta);

    /// <summary>Sets the clock, firing the timers due on the way in order.</summary>
    /// <param name="value">The new time (not earlier than now).</param>
    public new void SetUtcNow(DateTimeOffset value) => AdvanceTo(value);

    /// <summary>
    /// Fires, one at a time, every timer due at or before <paramref name="target"/> (the clock set to each one's due
    /// time, ties in the order they were armed), calling <paramref name="afterEach"/> after each callback, then sets the
    /// clock to <paramref name="target"/>.
    /// </summary>
    /// <param name="target">The new time (not earlier than now).</param>
    /// <param name="afterEach">Runs after every callback, for example to wait for work the callback started.</param>
    public void AdvanceTo(DateTimeOffset target, Action? afterEach = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(target, GetUtcNow());
        while (TryTakeDue(target.UtcTicks, out var timer, out var due))
        {
            if (due > GetUtcNow().UtcTicks)
            {
                base.SetUtcNow(new DateTimeOffset(due, TimeSpan.Zero));
            }

            timer.Callback(timer.State);
            afterEach?.Invoke();
        }

        if (target > GetUtcNow())
        {
            base.SetUtcNow(target);
        }
    }

    private bool TryTakeDue(long target, out SimulationTimer timer, out long due)
    {
        lock (_gate)
        {
            if (_due.Count == 0 || _due.Min.Due > target)
            {
                timer = null!;
                due = 0;
                return false;
            }

            var entry = _due.Min;
            _due.Remove(entry);
            timer = _armed[entry.Sequence];
            _armed.Remove(entry.Sequence);
            due = entry.Due;
            timer.Sequence = -1;
            if (timer.Period > TimeSpan.Zero && timer.Period != Timeout.InfiniteTimeSpan)
            {
                Arm(timer, due + timer.Period.Ticks);
            }

            return true;
        }
    }

    /// <summary>Arms a timer at an absolute due time. Caller holds the lock.</summary>
    private void Arm(SimulationTimer timer, long due)
    {
        timer.Sequence = ++_nextSequence;
        timer.Due = due;
        _due.Add((due, timer.Sequence));
        _armed[timer.Sequence] = timer;
    }

    /// <summary>Disarms a timer. Caller holds the lock.</summary>
    private void Disarm(SimulationTimer timer)
    {
        if (timer.Sequence >= 0)
        {
            _due.Remove((timer.Due, timer.Sequence));
            _armed.Remove(timer.Sequence);
            timer.Sequence = -1;
        }
    }

    private sealed class SimulationTimer(SimulationClock clock, TimerCallback callback, object? state) : ITimer
    {
        private bool _disposed;

        public TimerCallback Callback { get; } = callback;

        public object? State { get; } = state;

        public long Sequence { get; set; } = -1;

        public long Due { get; set; }

        public TimeSpan Period { get; private set; } = Timeout.InfiniteTimeSpan;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime < TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
            {
                throw new ArgumentOutOfRangeException(nameof(dueTime), dueTime, "The due time must be zero or positive, or infinite.");
            }

            lock (clock._gate)
            {
                if (_disposed)
                {
                    return false;
                }

                clock.Disarm(this);
                Period = period;
                if (dueTime != Timeout.InfiniteTimeSpan)
                {
                    clock.Arm(this, clock.GetUtcNow().UtcTicks + dueTime.Ticks);
                }

                return true;
            }
        }

        public void Dispose()
        {
            lock (clock._gate)
            {
                _disposed = true;
                clock.Disarm(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return default;
        }
    }
}
