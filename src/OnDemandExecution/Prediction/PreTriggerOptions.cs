using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>Options of the pre-trigger correlator and of its history stores. Validated at start-up.</summary>
public sealed class PreTriggerOptions
{
    /// <summary>The key prefix of implicit pre-triggers: an invocation of function A is the pre-trigger <c>invocation:A</c>.</summary>
    public const string ImplicitKeyPrefix = "invocation:";

    /// <summary>How long after a pre-trigger its followers are counted (and the longest delay a prediction can have). Default 30 seconds.</summary>
    public TimeSpan ObservationWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Functions whose invocations are implicit pre-triggers (ordinal names). Default none.</summary>
    public ISet<string> ImplicitFunctions { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Whether every function's invocations are implicit pre-triggers. Default false (opt in per function).</summary>
    public bool ImplicitForAllFunctions { get; set; }

    /// <summary>The fewest past windows of a key before it is acted on. Default 3.</summary>
    public int MinimumObservations { get; set; } = 3;

    /// <summary>The smallest share (0 to 1) of past windows in which a function followed the key for the key to predict it. Default 0.8.</summary>
    public double ConfidenceThreshold { get; set; } = 0.8;

    /// <summary>
    /// The quantile of past counts and of past peak concurrency (windows without the function count as zero) taken as
    /// the requests expected and the instances pre-initialized. Default 0.9.
    /// </summary>
    public double CountQuantile { get; set; } = 0.9;

    /// <summary>The quantile of past first delays taken as the start of the requests (low: be early). Default 0.1.</summary>
    public double StartQuantile { get; set; } = 0.1;

    /// <summary>The quantile of past last delays taken as the end of the requests. Default 0.9.</summary>
    public double EndQuantile { get; set; } = 0.9;

    /// <summary>
    /// How many times more requests must follow the key than the function's base rate predicts over the same span
    /// (from the start to the end of the requests, plus one second) before the key predicts it: the guard against
    /// spurious correlations with functions that run anyway. Default 4.
    /// </summary>
    public double MinimumLift { get; set; } = 4;

    /// <summary>How long before the first expected request the instances are pre-initialized (creation and code load). Default 1 second.</summary>
    public TimeSpan PreloadLead { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long after the last expected request an unused pre-initialized instance waits before it is released. Default 2 seconds.</summary>
    public TimeSpan GraceWindow { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The half-life of the functions' base-rate counts (older arrivals weigh less). Default 1 hour.</summary>
    public TimeSpan BaseRateHalfLife { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The most instances one prediction pre-initializes. Default 64.</summary>
    public int MaxInstancesPerPrediction { get; set; } = 64;

    /// <summary>The most (key, tenant) pairs kept; beyond it the least recently triggered is evicted. Default 10000.</summary>
    public int MaxTrackedKeys { get; set; } = 10_000;

    /// <summary>The most windows kept per (key, tenant): the newest. Default 32.</summary>
    public int MaxWindowsPerKey { get; set; } = 32;

    /// <summary>The most distinct follower functions counted in one window (the first to arrive). Default 16.</summary>
    public int MaxFollowersPerWindow { get; set; } = 16;

    /// <summary>The most delays kept per follower and window (the count stays exact). Default 64.</summary>
    public int MaxDelaysPerFollower { get; set; } = 64;

    /// <summary>The most windows open at once; pre-triggers beyond it are still acted on but not learned from. Default 4096.</summary>
    public int MaxOpenWindows { get; set; } = 4096;

    /// <summary>The most base rates (tenant, function) kept; beyond it the least recently updated is evicted. Default 10000.</summary>
    public int MaxTrackedFunctions { get; set; } = 10_000;

    /// <summary>Windows older than this (before the newest window stored) are dropped. Default 7 days.</summary>
    public TimeSpan HistoryRetention { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>Validates <see cref="PreTriggerOptions"/>; each failure names the option and the bad value.</summary>
internal sealed class PreTriggerOptionsValidator : IValidateOptions<PreTriggerOptions>
{
    private const string Prefix = nameof(PreTriggerOptions) + ".";

    public ValidateOptionsResult Validate(string? name, PreTriggerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Span(failures, nameof(options.ObservationWindow), options.ObservationWindow, TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(1));
        Span(failures, nameof(options.PreloadLead), options.PreloadLead, TimeSpan.Zero, TimeSpan.FromHours(1));
        Span(failures, nameof(options.GraceWindow), options.GraceWindow, TimeSpan.Zero, TimeSpan.FromHours(1));
        Span(failures, nameof(options.BaseRateHalfLife), options.BaseRateHalfLife, TimeSpan.FromSeconds(1), TimeSpan.FromDays(365));
        Span(failures, nameof(options.HistoryRetention), options.HistoryRetention, TimeSpan.FromSeconds(1), TimeSpan.FromDays(3650));
        Fraction(failures, nameof(options.ConfidenceThreshold), options.ConfidenceThreshold);
        Fraction(failures, nameof(options.CountQuantile), options.CountQuantile);
        Fraction(failures, nameof(options.StartQuantile), options.StartQuantile);
        Fraction(failures, nameof(options.EndQuantile), options.EndQuantile);
        if (!(options.MinimumLift is >= 1 and <= 1_000_000))
        {
            failures.Add($"{Prefix}{nameof(options.MinimumLift)} must be between 1 and 1000000 (was {options.MinimumLift}).");
        }

        Range(failures, nameof(options.MinimumObservations), options.MinimumObservations, 1, 100_000);
        Range(failures, nameof(options.MaxInstancesPerPrediction), options.MaxInstancesPerPrediction, 1, 100_000);
        Range(failures, nameof(options.MaxTrackedKeys), options.MaxTrackedKeys, 1, 10_000_000);
        Range(failures, nameof(options.MaxWindowsPerKey), options.MaxWindowsPerKey, 1, 100_000);
        Range(failures, nameof(options.MaxFollowersPerWindow), options.MaxFollowersPerWindow, 1, 10_000);
        Range(failures, nameof(options.MaxDelaysPerFollower), options.MaxDelaysPerFollower, 1, 100_000);
        Range(failures, nameof(options.MaxOpenWindows), options.MaxOpenWindows, 1, 10_000_000);
        Range(failures, nameof(options.MaxTrackedFunctions), options.MaxTrackedFunctions, 1, 10_000_000);
        if (options.MinimumObservations > options.MaxWindowsPerKey)
        {
            failures.Add($"{Prefix}{nameof(options.MinimumObservations)} ({options.MinimumObservations}) must not exceed {nameof(options.MaxWindowsPerKey)} ({options.MaxWindowsPerKey}).");
        }

        if (options.ImplicitFunctions.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add($"{Prefix}{nameof(options.ImplicitFunctions)} must not contain empty names.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Fraction(List<string> failures, string option, double value)
    {
        if (!(value is >= 0 and <= 1))
        {
            failures.Add($"{Prefix}{option} must be between 0 and 1 (was {value}).");
        }
    }

    private static void Range(List<string> failures, string option, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{Prefix}{option} must be between {min} and {max} (was {value}).");
        }
    }

    private static void Span(List<string> failures, string option, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{Prefix}{option} must be between {min} and {max} (was {value}).");
        }
    }
}
