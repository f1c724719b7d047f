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

    private static readonly IReadOnlyDictionary<string, string> EmptyLabels = new Dictionary<string, string>();
}
