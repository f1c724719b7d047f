namespace OnDemandExecution.Kvm.Tests;

public class KvmProviderOptionsValidatorTests
{
    [Fact]
    public void MissingQemuAndImage_AreEachNamed()
    {
        var result = new KvmProviderOptionsValidator().Validate(null, new KvmProviderOptions { QemuPath = "/nonexistent/qemu", KernelPath = "", InitrdPath = "/nonexistent/initrd" });

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("QemuPath", StringComparison.Ordinal) && f.Contains("qemu-system-x86", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("KernelPath is required", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("InitrdPath", StringComparison.Ordinal) && f.Contains("does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public void OutOfRangeLimits_AreRejected_WithTheBadValue()
    {
        var result = new KvmProviderOptionsValidator().Validate(null, new KvmProviderOptions { MaxMemoryMb = 1, MaxVCpuCount = 0, AgentTimeout = TimeSpan.Zero, StandbyClones = -1 });

        Assert.Contains(result.Failures!, f => f.Contains("MaxMemoryMb", StringComparison.Ordinal) && f.Contains("was 1", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("MaxVCpuCount", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("AgentTimeout", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("StandbyClones must be between 0 and 64", StringComparison.Ordinal) && f.Contains("was -1", StringComparison.Ordinal));
    }

    [Fact]
    public void NegativeQemuIds_AreRejected_WithTheBadValue()
    {
        var result = new KvmProviderOptionsValidator().Validate(null, new KvmProviderOptions { QemuUserId = -1, QemuGroupId = -5 });

        Assert.Contains(result.Failures!, f => f.Contains("QemuUserId", StringComparison.Ordinal) && f.Contains("was -1", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("QemuGroupId", StringComparison.Ordinal) && f.Contains("was -5", StringComparison.Ordinal));
    }
}
