namespace OnDemandExecution;

/// <summary>How strongly a provider isolates instances from each other and from the host.</summary>
public enum IsolationLevel
{
    /// <summary>No isolation: code runs in the host process (the in-process provider). Only for trusted code.</summary>
    None = 0,

    /// <summary>A separate OS process or container per instance.</summary>
    Process = 1,

    /// <summary>A virtual machine per instance (KVM/QEMU microVMs, Hyper-V).</summary>
    Hypervisor = 2,
}
