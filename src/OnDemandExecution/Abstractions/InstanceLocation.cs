namespace OnDemandExecution;

/// <summary>
/// Where an instance runs, for placement: the host and the network segment. Two instances with equal
/// locations are assumed to have the same channels to auxiliary services.
/// </summary>
/// <param name="Host">The machine (or hypervisor host) running the instance.</param>
/// <param name="Segment">The network segment, zone or rack; empty when unknown.</param>
public sealed record InstanceLocation(string Host, string Segment = "")
{
    /// <summary>The local machine (used by the in-process provider).</summary>
    public static InstanceLocation Local { get; } = new(Environment.MachineName, "local");

    /// <inheritdoc/>
    public override string ToString() => Segment.Length == 0 ? Host : Host + "/" + Segment;
}
