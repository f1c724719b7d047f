namespace OnDemandExecution.HyperV;

/// <summary>How a Hyper-V guest boots.</summary>
public enum HyperVBootMode
{
    /// <summary>
    /// A Linux kernel and initramfs loaded directly, without firmware (<c>Chipset.LinuxKernelDirect</c>, as hcsshim
    /// boots Linux utility VMs): <see cref="HyperVProviderOptions.KernelPath"/> and <see cref="HyperVProviderOptions.InitrdPath"/>.
    /// </summary>
    LinuxKernelDirect = 0,

    /// <summary>UEFI firmware booting from <see cref="HyperVProviderOptions.VhdxPath"/> on the first SCSI controller (<c>Chipset.Uefi.BootThis</c>).</summary>
    Uefi = 1,
}
