namespace OnDemandExecution;

/// <summary>The shape of an instance a provider is asked to create.</summary>
/// <remarks>
/// Warming-pool instances are created from <see cref="OnDemandExecutionOptions.WarmInstance"/>; a function whose
/// <see cref="FunctionDefinition.MemoryMb"/> exceeds it is served by a cold start sized for it.
/// </remarks>
public sealed record InstanceSpec
{
    /// <summary>Memory of the instance, in MiB. KVM and Hyper-V size the guest with it; in-process ignores it.</summary>
    public int MemoryMb { get; init; } = 256;

    /// <summary>Virtual CPUs of the instance. KVM and Hyper-V size the guest with it; in-process ignores it.</summary>
    public int VCpuCount { get; init; } = 1;

    /// <summary>Free-form labels a provider may use (image name, network segment, host affinity).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = EmptyLabels;

    /// <summary>
    /// Where the instance should run, when the placer asked for a cold start at the location with the best channel to
    /// a function's auxiliary services; null when any location will do. A provider that can place instances honours
    /// it; others ignore it (the instance's <see cref="IInstance.Location"/> says where it really runs).
    /// </summary>
    public InstanceLocation? PreferredLocation { get; init; }

    private static readonly IReadOnlyDictionary<string, string> EmptyLabels = new Dictionary<string, string>();
}
