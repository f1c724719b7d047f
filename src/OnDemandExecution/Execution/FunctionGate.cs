using System.Threading.Channels;

namespace OnDemandExecution.Execution;

/// <summary>
/// A function's concurrency limit with a bounded wait queue. The fast path is one CAS on the in-flight count; only
/// when the limit is reached does a request wait, as a waiter in a <see cref="Channel{T}"/>, for a finishing request
/// to hand its permit over.
/// </summary>
/// <remarks>
/// The channel itself is unbounded; the bound is the live-waiter count (<see cref="Queued"/>), which cancelled
/// waiters leave at once, so a burst of cancellations never fills the queue with the dead. Their entries are
/// skipped when drained.
/// </remarks>
internal sealed class FunctionGate
{
    private readonly Channel<Waiter> _queue = Channel.CreateUnbounded<Waiter>();
    private readonly Action<long> _onQueueChanged;
    private int _inFlight;
    private int _queued;

    public FunctionGate(string functionName, int maxConcurrency, int maxQueueLength, Action<long>? onQueueChanged = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxQueueLength);
        FunctionName = functionName;
        MaxConcurrency = maxConcurrency;
        MaxQueueLength = maxQueueLength;
        _onQueueChanged = onQueueChanged ?? (static _ => { });
    }

    public string FunctionName { get; }

    /// <summary>The pool of the function's provider, resolved once with the gate so a call never looks it up by name.</summary>
    public Pooling.PoolManager? Pool { get; init; }

    public int MaxConcurrency { get; }

    public int MaxQueueLength { get; }

    public int InFlight => Volatile.Read(ref _inFlight);

    public int Queued => Volatile.Read(ref _queued);

    /// <summary>Takes a permit, waiting in the queue when the limit is reached.</summary>
    /// <exception cref="QueueFullException">The limit is reached and <see cref="MaxQueueLength"/> requests already wait.</exception>
    public ValueTask EnterAsync(CancellationToken cancellationToken)
    {
        // Only bypass the queue when nobody waits, so waiters are served first come, first served.
        if (Volatile.Read(ref _queued) == 0 && TryReserve())
        {
            return default;
        }

        return WaitAsync(cancellationToken);
    }

    /// <summary>Returns a permit, handing it to the next live waiter if any.</summary>
    public void Exit()
    {
        Interlocked.Decrement(ref _inFlight);
        Drain();
    }

    private async ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (Interlocked.Increment(ref _queued) > MaxQueueLength)
        {
            Interlocked.Decrement(ref _queued);
            throw new QueueFullException(
                $"Function '{FunctionName}' is running {MaxConcurrency} requests (its MaxConcurrency) and {MaxQueueLength} more wait (its MaxQueueLength); the request was rejected. Retry later or raise those limits.")
            {
                FunctionName = FunctionName,
                QueueLength = MaxQueueLength,
            };
        }

        var waiter = new Waiter(this);
        _onQueueChanged(1);
        _queue.Writer.TryWrite(waiter);

        // A permit may have been returned between our failed reservation and the enqueue: drain so it is not missed.
        Drain();

        using (cancellationToken.UnsafeRegister(static w => ((Waiter)w!).TryCancel(), waiter))
        {
            await waiter.Task.ConfigureAwait(false);
        }

        if (!waiter.Granted)
        {
            // Cancelled before a permit came. (A waiter granted a permit keeps it even if cancelled just after:
            // the caller's release returns it.)
            throw new OperationCanceledException(cancellationToken);
        }
    }

    private bool TryReserve()
    {
        int current;
        while ((current = Volatile.Read(ref _inFlight)) < MaxConcurrency)
        {
            if (Interlocked.CompareExchange(ref _inFlight, current + 1, current) == current)
            {
                return true;
            }
        }

        return false;
    }

    private void Drain()
    {
        while (TryReserve())
        {
            if (_queue.Reader.TryRead(out var waiter))
            {
                if (!waiter.TryGrant())
                {
                    Interlocked.Decrement(ref _inFlight); // it was cancelled: give the permit back and look further
                }

                continue;
            }

            Interlocked.Decrement(ref _inFlight);

            // A waiter that enqueued after our TryRead may have seen our reservation and left it to us: look again.
            // (Both sides use interlocked operations, so one of us sees the other.)
            if (!_queue.Reader.TryPeek(out _))
            {
                return;
            }
        }
    }

    private sealed class Waiter : TaskCompletionSource
    {
        private readonly FunctionGate _gate;
        private int _state; // 0 waiting, 1 granted, 2 cancelled

        public Waiter(FunctionGate gate)
            : base(TaskCreationOptions.RunContinuationsAsynchronously)
        {
            _gate = gate;
        }

        public bool Granted => Volatile.Read(ref _state) == 1;

        public bool TryGrant()
        {
            if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
            {
                return false;
            }

            Left();
            TrySetResult();
            return true;
        }

        public void TryCancel()
        {
            if (Interlocked.CompareExchange(ref _state, 2, 0) != 0)
            {
                return;
            }

            Left();
            TrySetResult(); // the waiter re-checks its token and throws; no exception object is allocated here
        }

        private void Left()
        {
            Interlocked.Decrement(ref _gate._queued);
            _gate._onQueueChanged(-1);
        }
    }
}
