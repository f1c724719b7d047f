using Microsoft.Extensions.Options;

namespace OnDemandExecution.Placement;

/// <summary>Validates <see cref="ChannelQualityPlacementOptions"/>; each failure names the option and the bad value.</summary>
internal sealed class ChannelQualityPlacementOptionsValidator : IValidateOptions<ChannelQualityPlacementOptions>
{
    private const string Prefix = nameof(ChannelQualityPlacementOptions) + ".";

    public ValidateOptionsResult Validate(string? name, ChannelQualityPlacementOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        void Between(string option, double value, double min, double max, bool minExclusive = false)
        {
            if (double.IsNaN(value) || value > max || value < min || (minExclusive && value == min))
            {
                failures.Add($"{Prefix}{option} must be {(minExclusive ? "greater than" : "at least")} {min} and at most {max} (was {value}).");
            }
        }

        void Positive(string option, TimeSpan value, TimeSpan max)
        {
            if (value <= TimeSpan.Zero || value > max)
            {
                failures.Add($"{Prefix}{option} must be greater than zero and at most {max} (was {value}).");
            }
        }

        void NotNegative(string option, TimeSpan value, TimeSpan max)
        {
            if (value < TimeSpan.Zero || value > max)
            {
                failures.Add($"{Prefix}{option} must be zero or positive and at most {max} (was {value}).");
            }
        }

        Between(nameof(options.LikelihoodThreshold), options.LikelihoodThreshold, 0, 1, minExclusive: true);
        Between(nameof(options.SmoothingFactor), options.SmoothingFactor, 0, 1, minExclusive: true);
        Between(nameof(options.WarmPoolSearchDepth), options.WarmPoolSearchDepth, 1, 64);
        Between(nameof(options.MinObservedExecutions), options.MinObservedExecutions, 1, 1_000_000);
        Positive(nameof(options.ProbeInterval), options.ProbeInterval, TimeSpan.FromHours(1));
        Positive(nameof(options.ProbeTimeout), options.ProbeTimeout, TimeSpan.FromMinutes(1));
        Positive(nameof(options.StaleAfter), options.StaleAfter, TimeSpan.FromDays(1));
        NotNegative(nameof(options.FailurePenalty), options.FailurePenalty, TimeSpan.FromHours(1));
        NotNegative(nameof(options.ColdStartEstimate), options.ColdStartEstimate, TimeSpan.FromHours(1));
        NotNegative(nameof(options.PoolStartEstimate), options.PoolStartEstimate, TimeSpan.FromHours(1));
        if (options.LocalLocation is null)
        {
            failures.Add($"{Prefix}{nameof(options.LocalLocation)} is required (was null).");
        }

        if (options.ProbeTimeout > options.ProbeInterval)
        {
            failures.Add($"{Prefix}{nameof(options.ProbeTimeout)} ({options.ProbeTimeout}) must not exceed {nameof(options.ProbeInterval)} ({options.ProbeInterval}).");
        }

        foreach (var route in options.ProbeRoutes)
        {
            if (route is null || route.Location is null || string.IsNullOrEmpty(route.Endpoint) || route.Address is null || !route.Address.IsAbsoluteUri)
            {
                failures.Add($"{Prefix}{nameof(options.ProbeRoutes)} holds an incomplete route (was {route?.ToString() ?? "null"}): a location, an endpoint and an absolute address are required.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
