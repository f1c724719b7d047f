namespace OnDemandExecution.Oci;

/// <summary>What network an OCI container gets.</summary>
public enum OciNetwork
{
    /// <summary>A network namespace of its own with only a loopback interface: no network at all (the default).</summary>
    None = 0,

    /// <summary>The host's network namespace: the function can reach whatever the host can. Use only for functions that need the network.</summary>
    Host = 1,
}
