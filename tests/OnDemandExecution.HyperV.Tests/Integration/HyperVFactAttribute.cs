namespace OnDemandExecution.HyperV.Tests.Integration;

/// <summary>
/// A test that needs a real Hyper-V host: skipped unless this is Windows and ODX_HYPERV_KERNEL and ODX_HYPERV_INITRD
/// point at a guest image (docs/providers/hyper-v.md says how to run them).
/// </summary>
public sealed class HyperVFactAttribute : FactAttribute
{
    public HyperVFactAttribute()
    {
        if (!OperatingSystem.IsWindows())
        {
            Skip = "Needs Windows with Hyper-V (docs/providers/hyper-v.md).";
        }
        else if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ODX_HYPERV_KERNEL")) || string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ODX_HYPERV_INITRD")))
        {
            Skip = "Set ODX_HYPERV_KERNEL and ODX_HYPERV_INITRD to a guest image whose agent listens on AF_VSOCK (docs/providers/hyper-v.md).";
        }
    }
}
