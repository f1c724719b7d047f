using Microsoft.Extensions.Options;

namespace OnDemandExecution.Orleans;

/// <summary>Options of the cluster layer (<c>UseOnDemandExecutionCluster</c>), validated at start-up.</summary>
public sealed class OnDemandClusterOptions
{
    /// <summary>
    /// How often a host compares its pools with what it last published and, when they changed, publishes its capacity
    /// report (one message per host per interval, never per call), then pulls the cluster view. Default 1 s.
    /// <see cref="Timeout.InfiniteTimeSpan"/> disables the loop (reports are then published only on demand).
    /// </summary>
    public TimeSpan PublishInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A host republishes its report after this many unchanged intervals even if nothing changed, so that a capacity
    /// directory that moved to another silo (and lost its state) is refilled. Default 10.
    /// </summary>
    public int RepublishEvery { get; set; } = 10;

    /// <summary>
    /// A report the directory has not heard again for this long is dropped from every view, in addition to the
    /// membership-driven removal of dead silos. Default 30 s.
    /// </summary>
    public TimeSpan ReportTimeToLive { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// At most this many (tenant, function) entries per host report, the ones with the most idle instances first.
    /// Default 4,096.
    /// </summary>
    public int MaxFunctionsPerReport { get; set; } = 4096;
}

internal sealed class OnDemandClusterOptionsValidator : IValidateOptions<OnDemandClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, OnDemandClusterOptions options)
    {
        List<string>? failures = null;
        if (options.PublishInterval <= TimeSpan.Zero && options.PublishInterval != Timeout.InfiniteTimeSpan)
        {
            (failures ??= []).Add($"OnDemandClusterOptions.PublishInterval must be positive or Timeout.InfiniteTimeSpan (was {options.PublishInterval}).");
        }

        if (options.RepublishEvery < 1)
        {
            (failures ??= []).Add($"OnDemandClusterOptions.RepublishEvery must be at least 1 (was {options.RepublishEvery}).");
        }

        if (options.ReportTimeToLive <= TimeSpan.Zero)
        {
            (failures ??= []).Add($"OnDemandClusterOptions.ReportTimeToLive must be positive (was {options.ReportTimeToLive}).");
        }

        if (options.MaxFunctionsPerReport < 1)
        {
            (failures ??= []).Add($"OnDemandClusterOptions.MaxFunctionsPerReport must be at least 1 (was {options.MaxFunctionsPerReport}).");
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
