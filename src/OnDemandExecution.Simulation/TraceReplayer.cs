namespace OnDemandExecution.Simulation;

/// <summary>
/// Replays a trace against the real executor, pools and keep-alive policy on virtual time, with a
/// <see cref="SimulatedInstanceProvider"/>, and scores the policy.
/// </summary>
/// <remarks>
/// <para>The replay builds the services as an application would (<c>AddOnDemandExecution</c>, <c>AddProvider</c>, the
/// policy, a <see cref="SimulationClock"/> as the <see cref="TimeProvider"/>), registers the trace's functions, runs the
/// maintenance loop the hosted service would run (a pass, then a wait of the maintenance interval, on the clock), and
/// then moves virtual time from one instant to the next: the next trace arrival or the next armed timer, whichever comes
/// first (timers first at equal times), firing due timers one at a time. Each invocation's execution, each creation and
/// each load is a delay on the clock, so concurrency is a matter of virtual time: two calls overlap exactly when their
/// delays do.</para>
/// <para>Exactness: a replay runs on one thread of its own. Continuations of completed delays run inline on it, and the
/// pools' background work (the warming-pool refill) runs on a scheduler the replay drains after every event and every
/// timer callback (<c>UseBackgroundScheduler</c>), before virtual time moves. Nothing depends on wall time or on other
/// threads, so the same trace, options and policy give the same result to the last digit, run after run, and whether
/// policies are replayed one after another or in parallel.</para>
/// <para>Accounting (docs/simulator.md): a call is a cold start when its function's code was not loaded in an idle
/// instance when it arrived (<see cref="StartKind.Cold"/> or <see cref="StartKind.WarmPool"/>); idle GB-s count loaded-idle
/// instance time times the function's memory, plus warming-pool time times the instance's memory, up to the trace's end
/// (<see cref="TraceSource.Duration"/>), not after.</para>
/// </remarks>
public static class TraceReplayer
{
    // Continuations run inline, one inside another; a deep stack makes .NET queue one to the thread pool instead, which
    // would break exactness. A large stack keeps that from happening.
    private const int ReplayThreadStackBytes = 64 * 1024 * 1024;

    /// <summary>
    /// Replays <paramref name="trace"/> once per policy, up to <see cref="ReplayOptions.MaxDegreeOfParallelism"/> policies
    /// at a time, each on a thread of its own. Each replay reads the trace on its own pass.
    /// </summary>
    /// <param name="trace">The trace.</param>
    /// <param name="policies">The policies.</param>
    /// <param name="options">The platform; defaults when null.</param>
    /// <returns>One result per policy, in order.</returns>
    /// <exception cref="InvalidOperationException">A replay failed (the message names the policy).</exception>
    public static IReadOnlyList<ReplayResult> ReplayAll(TraceSource trace, IEnumerable<KeepAlivePolicySpec> policies, ReplayOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentNullException.ThrowIfNull(policies);
        options ??= new ReplayOptions();
        var specs = policies.ToList();
        var results = new ReplayResult[specs.Count];
        var failures = new Exception?[specs.Count];
        var parallelism = Math.Max(1, Math.Min(options.MaxDegreeOfParallelism ?? Environment.ProcessorCount, specs.Count));
        using var slots = new SemaphoreSlim(parallelism, parallelism);
        var threads = new List<Thread>(specs.Count);
        for (var i = 0; i < specs.Count; i++)
        {
            var index = i;
            slots.Wait();
            var thread = new Thread(
                () =>
                {
                    try
                    {
                        results[index] = new ReplayRun(trace, specs[index], options).Execute();
                    }
                    catch (Exception ex)
                    {
                        failures[index] = ex;
                    }
                    finally
                    {
                        slots.Release();
                    }
                },
                ReplayThreadStackBytes)
            {
                IsBackground = true,
                Name = "trace-replay " + specs[index].Name,
            };
            thread.Start();
            threads.Add(thread);
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        for (var i = 0; i < specs.Count; i++)
        {
            if (failures[i] is { } failure)
            {
                throw new InvalidOperationException($"Replaying the trace with policy '{specs[i].Name}' failed: {failure.Message}", failure);
            }
        }

        return results;
    }

    /// <summary>Replays <paramref name="trace"/> with one policy, on a thread of its own; returns when the replay is done.</summary>
    /// <param name="trace">The trace.</param>
    /// <param name="policy">The policy.</param>
    /// <param name="options">The platform; defaults when null.</param>
    /// <returns>The result.</returns>
    /// <exception cref="InvalidOperationException">The replay failed (the message names the policy).</exception>
    public static ReplayResult Replay(TraceSource trace, KeepAlivePolicySpec policy, ReplayOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return ReplayAll(trace, [policy], options)[0];
    }
}
