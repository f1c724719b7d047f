using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace OnDemandExecution.Capabilities;

/// <summary>
/// Learns, per function, exponential moving averages of execution time and code-load time (from every start that
/// loads code: warming-pool and cold starts), and of provisioning time (cold starts), also across functions as the
/// provider's fallback, from the executor's successful calls.
/// </summary>
/// <remarks>
/// A warming-pool start is expected to cost the code load; a cold start the provisioning and the code load. Each part
/// is learned on its own, so a function seen only on cold starts still has a learned warming-pool cost, and a function
/// never cold-started uses the provisioning time learned from others before the prior.
/// </remarks>
// Averages are kept in ticks (as doubles), so that whole durations average to whole durations.
internal sealed class ExecutionCostModel
{
    private readonly ConcurrentDictionary<string, Stats> _stats = new(StringComparer.Ordinal);
    private readonly Stats _provider = new(); // provisioning across functions
    private readonly CapabilityOptions _options;

    public ExecutionCostModel(IOptions<CapabilityOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
    }

    /// <summary>Records one successful call of <paramref name="functionName"/> (called by the executor).</summary>
    public void Record(string functionName, StartKind kind, InvocationTimings timings)
    {
        var stats = _stats.GetOrAdd(functionName, static _ => new Stats());
        var rate = _options.LearningRate;
        lock (stats)
        {
            stats.Execution = Blend(stats.Execution, timings.Execution.Ticks, rate);
            if (kind != StartKind.Warm)
            {
                stats.CodeLoad = Blend(stats.CodeLoad, timings.CodeLoad.Ticks, rate);
            }

            if (kind == StartKind.Cold)
            {
                stats.Provisioning = Blend(stats.Provisioning, timings.Provisioning.Ticks, rate);
            }
        }

        if (kind == StartKind.Cold)
        {
            lock (_provider)
            {
                _provider.Provisioning = Blend(_provider.Provisioning, timings.Provisioning.Ticks, rate);
            }
        }
    }

    public TimeSpan ExpectedExecution(string functionName) =>
        FromTicks(Read(functionName, static s => s.Execution), _options.DefaultExecutionCost);

    public TimeSpan ExpectedStart(string functionName, StartKind kind)
    {
        if (kind == StartKind.Warm)
        {
            return TimeSpan.Zero;
        }

        var codeLoad = FromTicks(Read(functionName, static s => s.CodeLoad), _options.DefaultCodeLoadCost);
        if (kind == StartKind.WarmPool)
        {
            return codeLoad;
        }

        var provisioning = Read(functionName, static s => s.Provisioning);
        if (double.IsNaN(provisioning))
        {
            lock (_provider)
            {
                provisioning = _provider.Provisioning;
            }
        }

        return FromTicks(provisioning, _options.DefaultProvisioningCost) + codeLoad;
    }

    private double Read(string functionName, Func<Stats, double> field)
    {
        if (!_stats.TryGetValue(functionName, out var stats))
        {
            return double.NaN;
        }

        lock (stats)
        {
            return field(stats);
        }
    }

    private static TimeSpan FromTicks(double ticks, TimeSpan prior) => double.IsNaN(ticks) ? prior : TimeSpan.FromTicks((long)Math.Round(ticks));

    private static double Blend(double current, double sample, double rate) =>
        double.IsNaN(current) ? sample : current + (rate * (sample - current));

    private sealed class Stats
    {
        public double Execution = double.NaN;
        public double CodeLoad = double.NaN;
        public double Provisioning = double.NaN;
    }
}
