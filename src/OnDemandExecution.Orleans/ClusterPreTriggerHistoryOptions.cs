using Microsoft.Extensions.Options;

namespace OnDemandExecution.Orleans;

/// <summary>Options of the cluster-wide pre-trigger history (<c>UseClusterPreTriggerHistory</c>), validated at start-up.</summary>
public sealed class ClusterPreTriggerHistoryOptions
{
    /// <summary>The default <see cref="StorageName"/>.</summary>
    public const string DefaultStorageName = "PreTriggerHistory";

    /// <summary>
    /// The name of the Orleans grain storage provider the history is written to (register one with that name on every
    /// silo: ADO.NET, Azure Table, Redis, ...; in-memory grain storage keeps it only while the silo holding it lives).
    /// Default <see cref="DefaultStorageName"/>.
    /// </summary>
    public string StorageName { get; set; } = DefaultStorageName;

    /// <summary>
    /// How often the history's index (each key's last trigger, the base rates) is written when it changed; a key's
    /// windows are written at every change regardless. <see cref="TimeSpan.Zero"/> writes the index at every change
    /// too. Default 5 s: a silo that dies loses at most this much of the index (see docs/cluster.md).
    /// </summary>
    public TimeSpan IndexWriteInterval { get; set; } = TimeSpan.FromSeconds(5);
}

internal sealed class ClusterPreTriggerHistoryOptionsValidator : IValidateOptions<ClusterPreTriggerHistoryOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterPreTriggerHistoryOptions options)
    {
        List<string>? failures = null;
        if (string.IsNullOrWhiteSpace(options.StorageName))
        {
            (failures ??= []).Add("ClusterPreTriggerHistoryOptions.StorageName must name a grain storage provider (was empty).");
        }

        if (options.IndexWriteInterval < TimeSpan.Zero)
        {
            (failures ??= []).Add($"ClusterPreTriggerHistoryOptions.IndexWriteInterval must be zero or positive (was {options.IndexWriteInterval}).");
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
