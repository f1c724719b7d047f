using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>
/// Options of <see cref="HybridHistogramKeepAlivePolicy"/>. The defaults are those of Shahrad et al., "Serverless in
/// the Wild" (USENIX ATC 2020): a 4-hour range in 1-minute bins, head and tail at the 5th and 99th percentiles with a
/// 10% margin, a coefficient-of-variation threshold of 2, and a time-series forecast with a 15% margin when half the
/// idle times fall beyond the range.
/// </summary>
public sealed class HybridHistogramOptions
{
    /// <summary>The range of the idle-time histogram. Default 4 hours.</summary>
    public TimeSpan Range { get; set; } = TimeSpan.FromHours(4);

    /// <summary>The width of one bin. Default 1 minute.</summary>
    public TimeSpan BinWidth { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The percentile of idle times at which an unloaded instance is pre-warmed again (the head). Default 0.05.</summary>
    public double HeadPercentile { get; set; } = 0.05;

    /// <summary>The percentile of idle times until which an instance is kept (the tail). Default 0.99.</summary>
    public double TailPercentile { get; set; } = 0.99;

    /// <summary>The margin: the head is lowered and the tail raised by this fraction. Default 0.10.</summary>
    public double HistogramMargin { get; set; } = 0.10;

    /// <summary>
    /// The histogram is representative when the coefficient of variation of its bin counts is at least this (idle times
    /// concentrated in few bins). Default 2.
    /// </summary>
    public double CoefficientOfVariationThreshold { get; set; } = 2;

    /// <summary>The histogram is not representative before this many idle times were seen. Default 5.</summary>
    public int MinimumSamples { get; set; } = 5;

    /// <summary>When at least this share of idle times falls beyond <see cref="Range"/>, the forecast is used. Default 0.5.</summary>
    public double OutOfBoundsThreshold { get; set; } = 0.5;

    /// <summary>The forecast's margin: pre-warm at forecast x (1 - margin), keep until forecast x (1 + margin). Default 0.15.</summary>
    public double ForecastMargin { get; set; } = 0.15;

    /// <summary>How many recent idle times the forecast uses (2 to 1024). Default 32.</summary>
    public int ForecastHistory { get; set; } = 32;

    /// <summary>
    /// The fixed keep-alive used while the histogram is not representative; null uses <see cref="Range"/> (as the
    /// paper does: keep the instance for the whole range). Default null.
    /// </summary>
    public TimeSpan? FallbackKeepAlive { get; set; }

    /// <summary>Pre-warm windows shorter than this are not worth unloading for: the instance is kept instead. Default 1 minute.</summary>
    public TimeSpan MinimumPrewarmWindow { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Validates <see cref="HybridHistogramOptions"/>; each failure names the option and the bad value.</summary>
internal sealed class HybridHistogramOptionsValidator : IValidateOptions<HybridHistogramOptions>
{
    private const string Prefix = nameof(HybridHistogramOptions) + ".";

    public ValidateOptionsResult Validate(string? name, HybridHistogramOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.BinWidth <= TimeSpan.Zero || options.BinWidth > TimeSpan.FromDays(1))
        {
            failures.Add($"{Prefix}{nameof(options.BinWidth)} must be greater than zero and at most one day (was {options.BinWidth}).");
        }
        else if (options.Range < options.BinWidth || options.Range.Ticks / options.BinWidth.Ticks > 100_000)
        {
            failures.Add($"{Prefix}{nameof(options.Range)} must hold between 1 and 100000 bins of {nameof(options.BinWidth)} (was {options.Range}).");
        }

        Fraction(failures, nameof(options.HeadPercentile), options.HeadPercentile);
        Fraction(failures, nameof(options.TailPercentile), options.TailPercentile);
        if (options.HeadPercentile > options.TailPercentile)
        {
            failures.Add($"{Prefix}{nameof(options.HeadPercentile)} ({options.HeadPercentile}) must not exceed {nameof(options.TailPercentile)} ({options.TailPercentile}).");
        }

        Fraction(failures, nameof(options.HistogramMargin), options.HistogramMargin);
        Fraction(failures, nameof(options.ForecastMargin), options.ForecastMargin);
        Fraction(failures, nameof(options.OutOfBoundsThreshold), options.OutOfBoundsThreshold);
        if (!(options.CoefficientOfVariationThreshold is >= 0 and <= 1000))
        {
            failures.Add($"{Prefix}{nameof(options.CoefficientOfVariationThreshold)} must be between 0 and 1000 (was {options.CoefficientOfVariationThreshold}).");
        }

        if (options.MinimumSamples is < 1 or > 1_000_000)
        {
            failures.Add($"{Prefix}{nameof(options.MinimumSamples)} must be between 1 and 1000000 (was {options.MinimumSamples}).");
        }

        if (options.ForecastHistory is < 2 or > 1024)
        {
            failures.Add($"{Prefix}{nameof(options.ForecastHistory)} must be between 2 and 1024 (was {options.ForecastHistory}).");
        }

        if (options.FallbackKeepAlive is { } fallback && fallback != Timeout.InfiniteTimeSpan && (fallback < TimeSpan.Zero || fallback > TimeSpan.FromDays(7)))
        {
            failures.Add($"{Prefix}{nameof(options.FallbackKeepAlive)} must be between zero and 7 days, or infinite (was {fallback}).");
        }

        if (options.MinimumPrewarmWindow < TimeSpan.Zero || options.MinimumPrewarmWindow > TimeSpan.FromDays(1))
        {
            failures.Add($"{Prefix}{nameof(options.MinimumPrewarmWindow)} must be between zero and one day (was {options.MinimumPrewarmWindow}).");
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
}
