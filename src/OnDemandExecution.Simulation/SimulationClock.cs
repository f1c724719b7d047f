namespace OnDemandExecution.Simulation;

/// <summary>
/// A virtual-time <see cref="TimeProvider"/> whose timers fire only when it is advanced, in a fixed order: by due time,
/// then by the order they were armed in, one at a time, with an optional step between callbacks. A replay advances it
/// from one due timer (or trace event) to the next and runs what each callback started before the next one fires.
/// </summary>
/// <remarks>
/// <para>Timers are kept in a binary heap (<see cref="PriorityQueue{TElement, TPriority}"/>): arming, re-arming and
/// firing cost O(log n); a disarmed or re-armed timer leaves its old entry behind, skipped when it surfaces and swept
/// when stale entries outnumber live ones, so a replay that arms and disposes a timer per call stays fast.</para>
/// <para>Timestamps (<see cref="GetTimestamp"/>) are the clock's ticks (<see cref="TimeSpan.TicksPerSecond"/> per
/// second). Thread-safe; callbacks run on the thread that advances the clock.</para>
/// </remarks>
public sealed class SimulationClock : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly PriorityQueue<SimulationTimer, (long Due, long Sequence)> _heap = new();
    private long _now;
    private long _nextSequence;
    private int _armed;

    /// <summary>Creates a clock that starts at <paramref name="start"/>.</summary>
    /// <param name="start">The initial time.</param>
    public SimulationClock(DateTimeOffset start)
    {
        _now = start.UtcTicks;
    }

    /// <summary>How many timers are armed.</summary>
    public int ArmedTimers
    {
        get
        {
            lock (_gate)
            {
                return _armed;
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
                return TryPeekDue(out var due) ? new DateTimeOffset(due, TimeSpan.Zero) : null;
            }
        }
    }

    /// <inheritdoc />
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => new(Volatile.Read(ref _now), TimeSpan.Zero);

    /// <inheritdoc />
    public override long GetTimestamp() => Volatile.Read(ref _now);

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new SimulationTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Advances the clock by <paramref name="delta"/>, firing the timers due on the way in order.</summary>
    /// <param name="delta">How far to move (not negative).</param>
    public void Advance(TimeSpan delta) => AdvanceTo(GetUtcNow() + delta);

    /// <summary>Sets the clock, firing the timers due on the way in order.</summary>
    /// <param name="value">The new time (not earlier than now).</param>
    public void SetUtcNow(DateTimeOffset value) => AdvanceTo(value);

    /// <summary>
    /// Fires, one at a time, every timer due at or before <paramref name="target"/> (the clock set to each one's due
    /// time, ties in the order they were armed), calling <paramref name="afterEach"/> after each callback, then sets the
    /// clock to <paramref name="target"/>.
    /// </summary>
    /// <param name="target">The new time (not earlier than now).</param>
    /// <param name="afterEach">Runs after every callback, for example to run work the callback started.</param>
    public void AdvanceTo(DateTimeOffset target, Action? afterEach = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(target, GetUtcNow());
        var ticks = target.UtcTicks;
        while (FireNext(ticks))
        {
            afterEach?.Invoke();
        }

        lock (_gate)
        {
            if (ticks > _now)
            {
                Volatile.Write(ref _now, ticks);
            }
        }
    }

    /// <summary>
    /// Fires the earliest timer due at or before <paramref name="limitTicks"/> (UTC ticks), setting the clock to its due
    /// time first; false when none is due by then (the clock does not move).
    /// </summary>
    internal bool FireNext(long limitTicks)
    {
        SimulationTimer timer;
        lock (_gate)
        {
            if (!TryPeekDue(out var due) || due > limitTicks)
            {
                return false;
            }

            timer = _heap.Dequeue();
            _armed--;
            timer.Sequence = -1;
            if (due > _now)
            {
                Volatile.Write(ref _now, due);
            }

            if (timer.Period > TimeSpan.Zero && timer.Period != Timeout.InfiniteTimeSpan)
            {
                Arm(timer, due + timer.Period.Ticks);
            }
        }

        timer.Callback(timer.State);
        return true;
    }

    /// <summary>The due time (UTC ticks) of the earliest armed timer; false when none. Caller holds the lock.</summary>
    internal bool TryPeekDue(out long due)
    {
        // Stale entries (disarmed or re-armed timers) are dropped as they surface.
        while (_heap.TryPeek(out var timer, out var key))
        {
            if (timer.Sequence == key.Sequence)
            {
                due = key.Due;
                return true;
            }

            _heap.Dequeue();
        }

        due = 0;
        return false;
    }

    /// <summary>Arms a timer at an absolute due time. Caller holds the lock.</summary>
    private void Arm(SimulationTimer timer, long due)
    {
        timer.Sequence = ++_nextSequence;
        _heap.Enqueue(timer, (due, timer.Sequence));
        _armed++;
    }

    /// <summary>Disarms a timer (its heap entry goes stale). Caller holds the lock.</summary>
    private void Disarm(SimulationTimer timer)
    {
        if (timer.Sequence < 0)
        {
            return;
        }

        timer.Sequence = -1;
        _armed--;
        if (_heap.Count > 1024 && _heap.Count > 4 * _armed)
        {
            Sweep();
        }
    }

    /// <summary>Rebuilds the heap from its live entries. Caller holds the lock.</summary>
    private void Sweep()
    {
        var live = new List<(SimulationTimer, (long, long))>(_armed);
        foreach (var (timer, key) in _heap.UnorderedItems)
        {
            if (timer.Sequence == key.Sequence)
            {
                live.Add((timer, key));
            }
        }

        _heap.Clear();
        _heap.EnqueueRange(live);
    }

    private sealed class SimulationTimer(SimulationClock clock, TimerCallback callback, object? state) : ITimer
    {
        private bool _disposed;

        public TimerCallback Callback { get; } = callback;

        public object? State { get; } = state;

        public long Sequence { get; set; } = -1;

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
                    clock.Arm(this, clock._now + dueTime.Ticks);
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
