using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>Validates <see cref="OnDemandExecutionOptions"/>; each failure names the option and the bad value.</summary>
internal sealed class OnDemandExecutionOptionsValidator : IValidateOptions<OnDemandExecutionOptions>
{
    private const string Prefix = nameof(OnDemandExecutionOptions) + ".";

    public ValidateOptionsResult Validate(string? name, OnDemandExecutionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        void Range(string option, long value, long min, long max)
        {
            if (value < min || value > max)
            {
                failures.Add($"{Prefix}{option} must be between {min} and {max} (was {value}).");
            }
        }

        void Positive(string option, TimeSpan value, TimeSpan max)
        {
            if (value <= TimeSpan.Zero || value > max)
            {
                failures.Add($"{Prefix}{option} must be greater than zero and at most {max} (was {value}).");
            }
        }

        Range(nameof(options.WarmingPoolSize), options.WarmingPoolSize, 0, 100_000);
        Range(nameof(options.MaxInstances), options.MaxInstances, 1, 1_000_000);
        Range(nameof(options.MaxConcurrentProvisioning), options.MaxConcurrentProvisioning, 1, 1024);
        Range(nameof(options.DefaultMaxConcurrency), options.DefaultMaxConcurrency, 1, 1_000_000);
        Range(nameof(options.DefaultMaxQueueLength), options.DefaultMaxQueueLength, 0, 10_000_000);
        Range(nameof(options.DefaultMaxPayloadBytes), options.DefaultMaxPayloadBytes, 1, int.MaxValue);
        Positive(nameof(options.KeepAlive), options.KeepAlive, TimeSpan.FromDays(7));
        Positive(nameof(options.MaintenanceInterval), options.MaintenanceInterval, TimeSpan.FromHours(1));
        Positive(nameof(options.InstanceStartTimeout), options.InstanceStartTimeout, TimeSpan.FromHours(1));
        Positive(nameof(options.DefaultTimeout), options.DefaultTimeout, TimeSpan.FromDays(1));
        Positive(nameof(options.StopWorkTimeout), options.StopWorkTimeout, TimeSpan.FromHours(1));
        Positive(nameof(options.HealthCheckTimeout), options.HealthCheckTimeout, TimeSpan.FromHours(1));
        Positive(nameof(options.HealthCheckInterval), options.HealthCheckInterval, TimeSpan.FromDays(1));
        Positive(nameof(options.ShutdownTimeout), options.ShutdownTimeout, TimeSpan.FromHours(1));
        Range(nameof(options.MaxConcurrentHealthChecks), options.MaxConcurrentHealthChecks, 1, 1024);
        if (options.MaxInstancesPerTenant is { } perTenant)
        {
            Range(nameof(options.MaxInstancesPerTenant), perTenant, 1, options.MaxInstances);
        }

        if (options.MaxConcurrentCallsPerTenant is { } callsPerTenant)
        {
            Range(nameof(options.MaxConcurrentCallsPerTenant), callsPerTenant, 1, 10_000_000);
        }

        if (options.WarmInstance is null)
        {
            failures.Add($"{Prefix}{nameof(options.WarmInstance)} is required.");
        }
        else
        {
            Range(nameof(options.WarmInstance) + "." + nameof(InstanceSpec.MemoryMb), options.WarmInstance.MemoryMb, 1, 1 << 24);
            Range(nameof(options.WarmInstance) + "." + nameof(InstanceSpec.VCpuCount), options.WarmInstance.VCpuCount, 1, 1024);
        }

        if (options.WarmingPoolSize > options.MaxInstances)
        {
            failures.Add($"{Prefix}{nameof(options.WarmingPoolSize)} ({options.WarmingPoolSize}) must not exceed {nameof(options.MaxInstances)} ({options.MaxInstances}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
