namespace OnDemandExecution.Simulation;

/// <summary>The score of one policy on one trace.</summary>
/// <param name="Policy">The policy's name.</param>
/// <param name="Invocations">Invocations replayed.</param>
/// <param name="Failures">Invocations that failed (should be zero).</param>
/// <param name="ColdStarts">Invocations served by a new instance (<see cref="StartKind.Cold"/>).</param>
/// <param name="WarmPoolStarts">Invocations served by a warming-pool instance loaded on demand (<see cref="StartKind.WarmPool"/>).</param>
/// <param name="WarmHits">Invocations served by an idle loaded instance (<see cref="StartKind.Warm"/>).</param>
/// <param name="Provider">The provider's accounting (idle time, memory, instances).</param>
/// <param name="FunctionColdStartP50">
/// Median, over the functions with at least one successful call, of each function's cold-start percentage (cold starts
/// as in <see cref="ReplayResult.ColdStartPercent"/>: <see cref="StartKind.Cold"/> + <see cref="StartKind.WarmPool"/>).
/// </param>
/// <param name="FunctionColdStartP75">75th percentile of the same.</param>
/// <param name="FunctionColdStartP99">99th percentile of the same.</param>
/// <param name="SimulatedTime">The accounting horizon: the trace's end (<see cref="TraceSource.Duration"/>).</param>
/// <param name="Functions">The start kinds per function.</param>
public sealed record ReplayResult(
    string Policy,
    long Invocations,
    long Failures,
    long ColdStarts,
    long WarmPoolStarts,
    long WarmHits,
    ProviderStatistics Provider,
    double FunctionColdStartP50,
    double FunctionColdStartP75,
    double FunctionColdStartP99,
    TimeSpan SimulatedTime,
    IReadOnlyDictionary<string, FunctionStarts> Functions)
{
    /// <summary>
    /// Cold starts, in percent of invocations: calls whose function's code was not loaded in an idle instance when they
    /// arrived, that is <see cref="ColdStarts"/> (new instance) + <see cref="WarmPoolStarts"/> (warming-pool instance,
    /// code loaded on demand).
    /// </summary>
    public double ColdStartPercent => Percent(ColdStarts + WarmPoolStarts);

    /// <summary>Calls served by a new instance (<see cref="StartKind.Cold"/>), in percent of invocations.</summary>
    public double NewInstanceStartPercent => Percent(ColdStarts);

    /// <summary>Warming-pool starts, in percent of invocations.</summary>
    public double WarmPoolStartPercent => Percent(WarmPoolStarts);

    /// <summary>Warm hits, in percent of invocations.</summary>
    public double WarmHitPercent => Percent(WarmHits);

    private double Percent(long count) => Invocations == 0 ? 0 : 100.0 * count / Invocations;
}

/// <summary>How one function's invocations were started.</summary>
/// <param name="Cold">Cold starts.</param>
/// <param name="WarmPool">Warming-pool starts.</param>
/// <param name="Warm">Warm hits.</param>
public readonly record struct FunctionStarts(long Cold, long WarmPool, long Warm)
{
    /// <summary>Invocations that succeeded.</summary>
    public long Total => Cold + WarmPool + Warm;
}
