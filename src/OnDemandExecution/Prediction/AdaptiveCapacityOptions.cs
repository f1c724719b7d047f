using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>
/// Options of <see cref="AdaptiveCapacityPolicy"/>. <see cref="ColdStartCost"/> is the one knob that moves it along the
/// trade-off between cold starts and idle memory; the others rarely need changing. Validated when the policy is created.
/// </summary>
public sealed class AdaptiveCapacityOptions
{
    /// <summary>
    /// The price of one cold start, in GB-seconds of idle memory: a cold start is worth keeping this many GB of
    /// instances loaded and idle for one second. Higher keeps more (fewer cold starts, more idle memory); lower keeps
    /// less. With no history a function's instance is kept for this divided by its memory in GB (the break-even time).
    /// Default 60 (a 256 MiB instance: 4 minutes).
    /// </summary>
    public double ColdStartCost { get; set; } = 60;

    /// <summary>
    /// The price of pre-loading an instance ahead of an expected arrival (its creation and load), as a fraction of
    /// <see cref="ColdStartCost"/>. Default 0.1.
    /// </summary>
    public double PreloadCostRatio { get; set; } = 0.1;

    /// <summary>The longest an idle instance is kept, and the latest a pre-load window ends after a call. Default 2 hours.</summary>
    public TimeSpan MaxKeepAlive { get; set; } = TimeSpan.FromHours(2);

    /// <summary>
    /// The least time any instance stays loaded after a call, whatever its level's plan says (hysteresis: a busy
    /// function's concurrency swings within seconds, and an instance given up at once is missed by the next swing).
    /// Default 2 minutes: on the real day (docs/prediction.md) it cut the policy's cold starts by a third to a half at
    /// every cost setting; <see cref="TimeSpan.Zero"/> lets the plans decide alone.
    /// </summary>
    public TimeSpan MinimumKeepAlive { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long before its window a pre-load starts (it should cover creating and loading an instance). Default 2 seconds.</summary>
    public TimeSpan PreloadLead { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How many idle gaps an instance level needs before its own histogram decides. Default 4.</summary>
    public int MinimumSamples { get; set; } = 4;

    /// <summary>
    /// How many recent idle gaps weigh most: each level's histogram halves its counts when it reaches twice this, so
    /// older behaviour fades. Default 64.
    /// </summary>
    public int HistoryHalfLife { get; set; } = 64;

    /// <summary>Whether periodic functions (by <see cref="PeriodicityDetector"/>) time their pre-loads on the fitted clock. Default true.</summary>
    public bool UsePeriodicity { get; set; } = true;

    /// <summary>The degree of periodicity (0 to 1) from which pre-loads follow the fitted clock. Default 0.8.</summary>
    public double PeriodicityThreshold { get; set; } = 0.8;

    /// <summary>A pre-load on the fitted clock spans this many standard deviations of the beats' jitter either side. Default 3.</summary>
    public double JitterAllowanceFactor { get; set; } = 3;

    /// <summary>The smallest half-width of a pre-load window on the fitted clock. Default 5 seconds.</summary>
    public TimeSpan MinimumJitterAllowance { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many expected beats in a row a periodic function may miss before pre-loading waits for its next call. Default 2.</summary>
    public int MaxMissedBeats { get; set; } = 2;
}

/// <summary>Validates <see cref="AdaptiveCapacityOptions"/>; each failure names the option and the bad value.</summary>
internal sealed class AdaptiveCapacityOptionsValidator : IValidateOptions<AdaptiveCapacityOptions>
{
    private const string Prefix = nameof(AdaptiveCapacityOptions) + ".";

    public ValidateOptionsResult Validate(string? name, AdaptiveCapacityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!(options.ColdStartCost is > 0 and <= 1e9))
        {
            failures.Add($"{Prefix}{nameof(options.ColdStartCost)} must be greater than 0 and at most 1e9 GB-seconds (was {options.ColdStartCost}).");
        }

        if (!(options.PreloadCostRatio is >= 0 and <= 1))
        {
            failures.Add($"{Prefix}{nameof(options.PreloadCostRatio)} must be between 0 and 1 (was {options.PreloadCostRatio}).");
        }

        if (!(options.PeriodicityThreshold is > 0 and <= 1))
        {
            failures.Add($"{Prefix}{nameof(options.PeriodicityThreshold)} must be greater than 0 and at most 1 (was {options.PeriodicityThreshold}).");
        }

        if (!(options.JitterAllowanceFactor is >= 0 and <= 100))
        {
            failures.Add($"{Prefix}{nameof(options.JitterAllowanceFactor)} must be between 0 and 100 (was {options.JitterAllowanceFactor}).");
        }

        Range(failures, nameof(options.MinimumSamples), options.MinimumSamples, 1, 10_000);
        Range(failures, nameof(options.HistoryHalfLife), options.HistoryHalfLife, 4, 1_000_000);
        Range(failures, nameof(options.MaxMissedBeats), options.MaxMissedBeats, 0, 1000);
        if (options.MinimumKeepAlive < TimeSpan.Zero || options.MinimumKeepAlive > options.MaxKeepAlive)
        {
            failures.Add($"{Prefix}{nameof(options.MinimumKeepAlive)} must be zero or more and at most MaxKeepAlive (was {options.MinimumKeepAlive}).");
        }

        if (options.MaxKeepAlive <= TimeSpan.Zero || options.MaxKeepAlive > TimeSpan.FromDays(1))
        {
            failures.Add($"{Prefix}{nameof(options.MaxKeepAlive)} must be greater than zero and at most one day (was {options.MaxKeepAlive}).");
        }

        NonNegative(failures, nameof(options.PreloadLead), options.PreloadLead);
        NonNegative(failures, nameof(options.MinimumJitterAllowance), options.MinimumJitterAllowance);
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
        if (value < TimeSpan.Zero || value > TimeSpan.FromHours(1))
        {
            failures.Add($"{Prefix}{option} must be between zero and one hour (was {value}).");
        }
    }
}
