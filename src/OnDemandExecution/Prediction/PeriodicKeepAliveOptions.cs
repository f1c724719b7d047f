using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>Options of <see cref="PeriodicKeepAlivePolicy"/>. Validated when the policy is created.</summary>
public sealed class PeriodicKeepAliveOptions
{
    /// <summary>The degree of periodicity (0 to 1) from which a function is managed as periodic. Default 0.7.</summary>
    public double DegreeThreshold { get; set; } = 0.7;

    /// <summary>How many beats the detector must have seen before a function can be managed as periodic. Default 6.</summary>
    public int MinimumBeats { get; set; } = 6;

    /// <summary>How many recent arrivals each function's <see cref="PeriodicityDetector"/> keeps (8 to 4096). Default 64.</summary>
    public int WindowSize { get; set; } = PeriodicityDetector.DefaultWindowSize;

    /// <summary>
    /// How long before the expected arrival (less the jitter allowance) an instance is pre-loaded. It should cover the
    /// provider's creation and code-load time. Default 5 seconds.
    /// </summary>
    public TimeSpan PreloadLead { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long after the expected arrival (plus the jitter allowance) a pre-loaded instance waits before it is released. Default 10 seconds.</summary>
    public TimeSpan GraceWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The jitter allowance is this many standard deviations of the beats around their clock. Default 3.</summary>
    public double JitterAllowanceFactor { get; set; } = 3;

    /// <summary>The smallest jitter allowance. Default 1 second.</summary>
    public TimeSpan MinimumJitterAllowance { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The fewest idle instances pre-loaded for each expected beat; when the last beats brought more requests at once
    /// (bursts that overlap), their peak concurrency is pre-loaded instead (at most 64). Default 1.
    /// </summary>
    public int InstancesPerBeat { get; set; } = 1;

    /// <summary>How many expected beats in a row may pass without a request before pre-loading stops until the next request. Default 3.</summary>
    public int MaxMissedBeats { get; set; } = 3;

    /// <summary>
    /// The keep-alive of functions that are not periodic (and of functions without a <see cref="FunctionDefinition.KeepAlive"/>);
    /// null uses <see cref="OnDemandExecutionOptions.KeepAlive"/>. Default null.
    /// </summary>
    public TimeSpan? FallbackKeepAlive { get; set; }

    /// <summary>
    /// Whether the policy lowers <see cref="IInstancePoolManager.WarmingPoolTarget"/> by the share of warming-pool demand
    /// periodic functions account for (arrivals that a fixed keep-alive would find no idle instance for). Default true.
    /// </summary>
    public bool AdjustWarmingPool { get; set; } = true;

    /// <summary>The lowest warming-pool target the policy sets. Default 0.</summary>
    public int MinimumWarmingPoolTarget { get; set; }

    /// <summary>How often the periodic share of demand is measured and the warming-pool target set. Default 1 minute.</summary>
    public TimeSpan RebalanceInterval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Validates <see cref="PeriodicKeepAliveOptions"/>; each failure names the option and the bad value.</summary>
internal sealed class PeriodicKeepAliveOptionsValidator : IValidateOptions<PeriodicKeepAliveOptions>
{
    private const string Prefix = nameof(PeriodicKeepAliveOptions) + ".";

    public ValidateOptionsResult Validate(string? name, PeriodicKeepAliveOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!(options.DegreeThreshold is > 0 and <= 1))
        {
            failures.Add($"{Prefix}{nameof(options.DegreeThreshold)} must be greater than 0 and at most 1 (was {options.DegreeThreshold}).");
        }

        Range(failures, nameof(options.MinimumBeats), options.MinimumBeats, 4, 1000);
        Range(failures, nameof(options.WindowSize), options.WindowSize, 8, 4096);
        Range(failures, nameof(options.InstancesPerBeat), options.InstancesPerBeat, 1, 1000);
        Range(failures, nameof(options.MaxMissedBeats), options.MaxMissedBeats, 0, 1000);
        Range(failures, nameof(options.MinimumWarmingPoolTarget), options.MinimumWarmingPoolTarget, 0, 100_000);
        if (!(options.JitterAllowanceFactor is >= 0 and <= 100))
        {
            failures.Add($"{Prefix}{nameof(options.JitterAllowanceFactor)} must be between 0 and 100 (was {options.JitterAllowanceFactor}).");
        }

        NonNegative(failures, nameof(options.PreloadLead), options.PreloadLead);
        NonNegative(failures, nameof(options.GraceWindow), options.GraceWindow);
        NonNegative(failures, nameof(options.MinimumJitterAllowance), options.MinimumJitterAllowance);
        if (options.FallbackKeepAlive is { } fallback && fallback != Timeout.InfiniteTimeSpan)
        {
            NonNegative(failures, nameof(options.FallbackKeepAlive), fallback);
        }

        if (options.RebalanceInterval <= TimeSpan.Zero || options.RebalanceInterval > TimeSpan.FromDays(1))
        {
            failures.Add($"{Prefix}{nameof(options.RebalanceInterval)} must be greater than zero and at most one day (was {options.RebalanceInterval}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Range(List<string> failures, string option, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{Prefix}{option} must be between {min} and {max} (was {value}).");
        }
    }

    private static void NonNegative(List<string> failures, string option, TimeSpan value)
    {
        if (value < TimeSpan.Zero || value > TimeSpan.FromDays(7))
        {
            failures.Add($"{Prefix}{option} must be between zero and 7 days (was {value}).");
        }
    }
}
