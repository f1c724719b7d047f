namespace OnDemandExecution.Kvm;

/// <summary>How QEMU runs the guest's CPUs.</summary>
public enum KvmAccelerator
{
    /// <summary>KVM (<c>-accel kvm -cpu host</c>) when <c>/dev/kvm</c> can be opened; TCG otherwise, or when QEMU cannot start a guest on KVM.</summary>
    Auto = 0,

    /// <summary>Always KVM: creation fails when KVM is unusable.</summary>
    Kvm = 1,

    /// <summary>Always TCG, QEMU's software emulation (about 5-10x slower to boot; no special device needed).</summary>
    Tcg = 2,
}
