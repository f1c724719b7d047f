using Microsoft.Extensions.Options;

namespace OnDemandExecution.Health;

/// <summary>Validates <see cref="OnDemandExecutionHealthCheckOptions"/>; each failure names the option and the bad value.</summary>
internal sealed class OnDemandExecutionHealthCheckOptionsValidator : IValidateOptions<OnDemandExecutionHealthCheckOptions>
{
    private const string Prefix = nameof(OnDemandExecutionHealthCheckOptions) + ".";

    public ValidateOptionsResult Validate(string? name, OnDemandExecutionHealthCheckOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.WarmingPoolBelowTargetFor <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}{nameof(options.WarmingPoolBelowTargetFor)} must be greater than zero (was {options.WarmingPoolBelowTargetFor}).");
        }

        void AtLeastOne(string option, int value)
        {
            if (value < 1)
            {
                failures.Add($"{Prefix}{option} must be at least 1 (was {value}).");
            }
        }

        AtLeastOne(nameof(options.DegradedAfterCreateFailures), options.DegradedAfterCreateFailures);
        AtLeastOne(nameof(options.UnhealthyAfterCreateFailures), options.UnhealthyAfterCreateFailures);
        AtLeastOne(nameof(options.MaintenanceLateIntervals), options.MaintenanceLateIntervals);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
