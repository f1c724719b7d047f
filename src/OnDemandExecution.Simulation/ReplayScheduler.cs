namespace OnDemandExecution.Simulation;

/// <summary>
/// The scheduler a replay gives the pools for their background work (<c>UseBackgroundScheduler</c>): it queues what it
/// is given and runs it, in the order queued, when the replay's thread calls <see cref="RunPending"/>, which the replay
/// does after every trace event and every timer callback, before virtual time moves. So background work runs at the
/// virtual instant it was started, on the replay's thread, in a fixed order.
/// </summary>
internal sealed class ReplayScheduler : TaskScheduler
{
    private readonly Queue<Task> _queue = new();
    private readonly Lock _gate = new();
    private int _count; // read without the lock: RunPending runs after every event, and almost always finds nothing

    /// <summary>Tasks run so far.</summary>
    public long Executed { get; private set; }

    /// <summary>Runs every queued task, and the tasks they queue, in order.</summary>
    public void RunPending()
    {
        while (Volatile.Read(ref _count) != 0)
        {
            Task? task;
            lock (_gate)
            {
                if (!_queue.TryDequeue(out task))
                {
                    return;
                }

                _count--;
            }

            Executed++;
            TryExecuteTask(task);
        }
    }

    /// <inheritdoc />
    protected override void QueueTask(Task task)
    {
        lock (_gate)
        {
            _queue.Enqueue(task);
            _count++;
        }
    }

    /// <inheritdoc />
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false; // keep the queue's order

    /// <inheritdoc />
    protected override IEnumerable<Task> GetScheduledTasks()
    {
        lock (_gate)
        {
            return _queue.ToArray();
        }
    }
}
