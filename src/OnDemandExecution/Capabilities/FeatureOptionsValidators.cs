using Microsoft.Extensions.Options;

namespace OnDemandExecution.Capabilities;

/// <summary>Validates <see cref="CapabilityOptions"/>; each failure names the option and the bad value.</summary>
internal sealed class CapabilityOptionsValidator : IValidateOptions<CapabilityOptions>
{
    public ValidateOptionsResult Validate(string? name, CapabilityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        void NotNegative(string option, TimeSpan value)
        {
            if (value < TimeSpan.Zero)
            {
                failures.Add($"CapabilityOptions.{option} must not be negative (was {value}).");
            }
        }

        NotNegative(nameof(options.DefaultExecutionCost), options.DefaultExecutionCost);
        NotNegative(nameof(options.DefaultCodeLoadCost), options.DefaultCodeLoadCost);
        NotNegative(nameof(options.DefaultProvisioningCost), options.DefaultProvisioningCost);
        if (!(options.LearningRate is > 0 and <= 1))
        {
            failures.Add($"CapabilityOptions.LearningRate must be greater than 0 and at most 1 (was {options.LearningRate}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Validates <see cref="IdempotencyOptions"/>; each failure names the option and the bad value.</summary>
internal sealed class IdempotencyOptionsValidator : IValidateOptions<IdempotencyOptions>
{
    public ValidateOptionsResult Validate(string? name, IdempotencyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.CacheCapacity < 1)
        {
            failures.Add($"IdempotencyOptions.CacheCapacity must be at least 1 (was {options.CacheCapacity}).");
        }

        if (options.CacheMaxBytes < 1)
        {
            failures.Add($"IdempotencyOptions.CacheMaxBytes must be at least 1 (was {options.CacheMaxBytes}).");
        }

        if (options.MaxResultBytes < 0)
        {
            failures.Add($"IdempotencyOptions.MaxResultBytes must not be negative (was {options.MaxResultBytes}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
