using OnDemandExecution.Execution;

namespace OnDemandExecution.Tests.Execution;

public class FunctionGateTests
{
    // A guard against a hung test, never a timing assertion: every awaited task is expected to be complete or to
    // complete on its own at once.
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public void EnterAsync_BelowLimit_CompletesSynchronously()
    {
        var gate = new FunctionGate("f", maxConcurrency: 2, maxQueueLength: 0);

        var first = Enter(gate, CancellationToken.None);
        var second = Enter(gate, CancellationToken.None);

        Assert.True(first.IsCompletedSuccessfully);
        Assert.True(second.IsCompletedSuccessfully);
        Assert.Equal(2, gate.InFlight);
        Assert.Equal(0, gate.Queued);
    }

    [Fact]
    public void Exit_AfterFastPath_ReturnsThePermit()
    {
        var gate = new FunctionGate("f", maxConcurrency: 1, maxQueueLength: 0);
        Assert.True(Enter(gate, CancellationToken.None).IsCompletedSuccessfully);

        gate.Exit();

        Assert.Equal(0, gate.InFlight);
        Assert.True(Enter(gate, CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task EnterAsync_AtLimit_WaitsUntilExit()
    {
        var gate = new FunctionGate("f", maxConcurrency: 1, maxQueueLength: 4);
        Assert.True(Enter(gate, CancellationToken.None).IsCompletedSuccessfully);

        var waiting = Enter(gate, CancellationToken.None);

        Assert.False(waiting.IsCompleted);
        Assert.Equal(1, gate.Queued);
        Assert.Equal(1, gate.InFlight);

        gate.Exit();
        await waiting.WaitAsync(HangGuard);

        Assert.Equal(1, gate.InFlight); // the permit was handed over, not returned
        Assert.Equal(0, gate.Queued);
    }

    [Fact]
    public async Task Exit_WithWaiters_GrantsInFifoOrder()
    {
        const int Waiters = 6;
        var gate = new FunctionGate("f", maxConcurrency: 1, maxQueueLength: Waiters);
        Assert.True(Enter(gate, CancellationToken.None).IsCompletedSuccessfully);
        var waiting = new Task[Waiters];
        for (var i = 0; i < Waiters; i++)
        {
            waiting[i] = Enter(gate, CancellationToken.None);
        }

        Assert.Equal(Waiters, gate.Queued);
        for (var i = 0; i < Waiters; i++)
        {
            gate.Exit();
            await waiting[i].WaitAsync(HangGuard);
            for (var j = i + 1; j < Waiters; j++)
            {
                Assert.False(waiting[j].IsCompleted, $"waiter {j} was granted before waiter {i + 1}'s turn");
            }

            Assert.Equal(Waiters - i - 1, gate.Queued);
            Assert.Equal(1, gate.InFlight);
        }

        gate.Exit();
        Assert.Equal(0, gate.InFlight);
    }

    [Fact]
    public async Task EnterAsync_WhileOthersWait_DoesNotBypassTheQueue()
    {
        var gate = new FunctionGate("f", maxConcurrency: 2, maxQueueLength: 4);
        Assert.True(Enter(gate, CancellationToken.None).IsCompletedSuccessfully);
        Assert.True(Enter(gate, CancellationToken.None).IsCompletedSuccessfully);
        var first = Enter(gate, CancellationToken.None);
        var second = Enter(gate, CancellationToken.None);

        gate.Exit();
        await first.WaitAsync(HangGuard);

        Assert.False(second.IsCompleted);
        Assert.Equal(2, gate.InFlight);
        Assert.Equal(1, gate.Queued);
    }

    [Fact]
    public async Task EnterAsync_QueueFull_ThrowsQueueFullException()
    {
        var gate = new FunctionGate("resize", maxConcurrency: 1, maxQueueLength: 2);
        Assert.True(Enter(gate, CancellationToken.None).IsCompletedSuccessfully);
        var w1 = Enter(gate, CancellationToken.None);
        var w2 = Enter(gate, CancellationToken.None);

        var ex = await Assert.ThrowsAsync<QueueFullException>(() => Enter(gate, CancellationToken.None));

        Assert.Equal(2, ex.QueueLength);
        Assert.Equal("resize", ex.FunctionName);
        Assert.Contains("resize", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, gate.Queued); // the rejected request did not take a place
        Assert.Equal(1, gate.InFlight);
        Assert.False(w1.IsCompleted);
        Assert.False(w2.IsCompleted);
    }

    [Fact]
    public async Task EnterAsync_ZeroQueueLengthAtLimit_RejectsAtOnce()
    {
        var gate = new FunctionGate("f", maxConcurrency: 1, maxQueueLength: 0);
        Assert.True(Enter(gate, CancellationToken.None).IsCompletedSuccessfully);

        var ex = await Assert.ThrowsAsync<QueueFullException>(() => Enter(gate, CancellationToken.None));

        Assert.Equal(0, ex.QueueLength);
        Assert.Equal(0, gate.Queued);
    }

    [Fact]
    public async Task EnterAsync_WaiterCancelled_LeavesTheQueueAtOnceAndDoesNotConsumeAPermit()
    {
        var queueChanges = 0L;
        var gate = new FunctionGate("f", maxConcurrency: 1, maxQueueLength: 1, d => Interlocked.Add(ref queueChanges, d));
        Assert.True(Enter(gate, CancellationToken.None).IsCompletedSuccessfully);
        using var cts = new CancellationTokenSource();
        var cancelled = Enter(gate, cts.Token);
        Assert.Equal(1, gate.Queued);
        Assert.Equal(1, Interlocked.Read(ref queueChanges));

        await cts.CancelAsync();

        // Left at once: the queue (length 1) has room again before anyone awaits the cancelled waiter.
        Assert.Equal(0, gate.Queued);
        Assert.Equal(0, Interlocked.Read(ref queueChanges));
        var next = Enter(gate, CancellationToken.None);
        Assert.Equal(1, gate.Queued);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(HangGuard));

        // The permit goes past the dead entry to the live waiter.
        gate.Exit();
        await next.WaitAsync(HangGuard);
        Assert.Equal(1, gate.InFlight);
        Assert.Equal(0, gate.Queued);

        gate.Exit();
        Assert.Equal(0, gate.InFlight);
        Assert.True(Enter(gate, CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task EnterAsync_CancelledWaiterAndNoOtherWaiter_PermitReturnsToTheGate()
    {
        var gate = new FunctionGate("f", maxConcurrency: 1, maxQueueLength: 4);
        Assert.True(Enter(gate, CancellationToken.None).IsCompletedSuccessfully);
        using var cts = new CancellationTokenSource();
        var cancelled = Enter(gate, cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(HangGuard));

        gate.Exit();

        Assert.Equal(0, gate.InFlight);
        Assert.Equal(0, gate.Queued);
        Assert.True(Enter(gate, CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task EnterAsync_AlreadyCancelledTokenAtLimit_ThrowsWithoutQueueing()
    {
        var gate = new FunctionGate("f", maxConcurrency: 1, maxQueueLength: 4);
        Assert.True(Enter(gate, CancellationToken.None).IsCompletedSuccessfully);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Enter(gate, new CancellationToken(canceled: true)));

        Assert.Equal(0, gate.Queued);
        Assert.Equal(1, gate.InFlight);
    }

    [Fact]
    public void Constructor_InvalidLimits_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FunctionGate("f", maxConcurrency: 0, maxQueueLength: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FunctionGate("f", maxConcurrency: 1, maxQueueLength: -1));
    }

    [Fact]
    public async Task EnterExit_ConcurrentBurst_NeverExceedsMaxConcurrencyAndEndsEmpty()
    {
        const int MaxConcurrency = 3;
        const int Tasks = 48;
        const int Iterations = 200;
        var gate = new FunctionGate("f", MaxConcurrency, maxQueueLength: Tasks);
        var inside = 0;
        var maxInside = 0;
        var completed = 0;

        async Task WorkerAsync()
        {
            for (var i = 0; i < Iterations; i++)
            {
                await gate.EnterAsync(CancellationToken.None);
                var now = Interlocked.Increment(ref inside);
                int seen;
                while ((seen = Volatile.Read(ref maxInside)) < now && Interlocked.CompareExchange(ref maxInside, now, seen) != seen)
                {
                }

                if ((i & 1) == 0)
                {
                    await Task.Yield();
                }

                Interlocked.Decrement(ref inside);
                Interlocked.Increment(ref completed);
                gate.Exit();
            }
        }

        var workers = Enumerable.Range(0, Tasks).Select(_ => Task.Run(WorkerAsync)).ToArray();
        await Task.WhenAll(workers).WaitAsync(HangGuard);

        Assert.InRange(maxInside, 1, MaxConcurrency);
        Assert.Equal(Tasks * Iterations, completed);
        Assert.Equal(0, gate.InFlight);
        Assert.Equal(0, gate.Queued);
    }

    [Fact]
    public async Task EnterExit_ConcurrentBurstWithCancellations_EndsEmpty()
    {
        const int MaxConcurrency = 2;
        var gate = new FunctionGate("f", MaxConcurrency, maxQueueLength: 1000);
        var inside = 0;
        var violations = 0;

        async Task WorkerAsync(int seed)
        {
            for (var i = 0; i < 100; i++)
            {
                using var cts = new CancellationTokenSource();
                var enter = Enter(gate, cts.Token);
                if ((seed + i) % 3 == 0)
                {
                    await cts.CancelAsync();
                }

                try
                {
                    await enter;
                }
                catch (OperationCanceledException)
                {
                    continue;
                }

                if (Interlocked.Increment(ref inside) > MaxConcurrency)
                {
                    Interlocked.Increment(ref violations);
                }

                await Task.Yield();
                Interlocked.Decrement(ref inside);
                gate.Exit();
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 32).Select(s => Task.Run(() => WorkerAsync(s)))).WaitAsync(HangGuard);

        Assert.Equal(0, violations);
        Assert.Equal(0, gate.InFlight);
        Assert.Equal(0, gate.Queued);
    }

    /// <summary>Enters as a task, so a test can look at it more than once (a ValueTask may be consumed only once).</summary>
    private static Task Enter(FunctionGate gate, CancellationToken cancellationToken) => gate.EnterAsync(cancellationToken).AsTask();
}
