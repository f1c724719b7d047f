using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OnDemandExecution.HyperV.Tests;

public class OptionsAndDependencyInjectionTests
{
    private static HyperVProviderOptionsValidator OnWindows(params string[] existingFiles) => new()
    {
        IsWindows = () => true,
        HcsAvailable = () => true,
        FileExists = existingFiles.Contains,
    };

    [Fact]
    public void NotWindows_IsTheFirstFailure()
    {
        var result = new HyperVProviderOptionsValidator { IsWindows = () => false, FileExists = _ => true }.Validate(null, new HyperVProviderOptions { KernelPath = "k", InitrdPath = "i" });

        var failure = Assert.Single(result.Failures!);
        Assert.StartsWith("The Hyper-V provider runs only on Windows with Hyper-V", failure, StringComparison.Ordinal);
        Assert.Contains("AddKvmProvider", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void WindowsWithoutHcs_SaysToEnableHyperV()
    {
        var result = new HyperVProviderOptionsValidator { IsWindows = () => true, HcsAvailable = () => false, FileExists = _ => true }.Validate(null, new HyperVProviderOptions { KernelPath = "k", InitrdPath = "i" });

        Assert.Contains("computecore.dll", Assert.Single(result.Failures!), StringComparison.Ordinal);
    }

    [Fact]
    public void GoodOptions_OnWindows_Pass()
        => Assert.True(OnWindows(@"C:\k", @"C:\i").Validate(null, new HyperVProviderOptions { KernelPath = @"C:\k", InitrdPath = @"C:\i" }).Succeeded);

    [Fact]
    public void MissingImages_AreNamed_PerBootMode()
    {
        var kernelDirect = OnWindows().Validate(null, new HyperVProviderOptions { KernelPath = "", InitrdPath = @"C:\nope" });
        Assert.Contains(kernelDirect.Failures!, f => f.Contains("KernelPath is required for LinuxKernelDirect boot", StringComparison.Ordinal));
        Assert.Contains(kernelDirect.Failures!, f => f.Contains(@"InitrdPath: 'C:\nope' does not exist", StringComparison.Ordinal));

        var uefi = OnWindows().Validate(null, new HyperVProviderOptions { BootMode = HyperVBootMode.Uefi });
        Assert.Contains("VhdxPath is required for Uefi boot", Assert.Single(uefi.Failures!), StringComparison.Ordinal);
    }

    [Fact]
    public void OutOfRangeValues_AreRejected_WithTheBadValue()
    {
        var result = OnWindows("k", "i").Validate(null, new HyperVProviderOptions
        {
            KernelPath = "k",
            InitrdPath = "i",
            MaxMemoryMb = 1,
            MaxVCpuCount = 0,
            AgentPort = 0,
            BootTimeout = TimeSpan.Zero,
            BootMode = (HyperVBootMode)7,
            Owner = " ",
        });

        Assert.Contains(result.Failures!, f => f.Contains("MaxMemoryMb", StringComparison.Ordinal) && f.Contains("was 1", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("MaxVCpuCount", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("AgentPort", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("BootTimeout", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("BootMode must be LinuxKernelDirect or Uefi (was 7)", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("Owner", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddHyperVProvider_OnAnOsOtherThanWindows_FailsAtHostStart_NotAtFirstUse()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // the point is the start-up failure elsewhere
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddOnDemandExecution(o => o.WarmingPoolSize = 1)
            .AddHyperVProvider(o =>
            {
                o.KernelPath = "/nonexistent/vmlinux";
                o.InitrdPath = "/nonexistent/initrd";
            });
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(ex.Failures, f => f.StartsWith("The Hyper-V provider runs only on Windows with Hyper-V", StringComparison.Ordinal));
        Assert.Equal(typeof(HyperVProviderOptions), ex.OptionsType);
    }

    [Fact]
    public void AddHyperVProvider_RegistersTheProviderAsTheInstanceProvider_AndIsIdempotent()
    {
        var services = new ServiceCollection();
        var builder = services.AddOnDemandExecution();
        builder.AddHyperVProvider(o => o.KernelPath = "a").AddHyperVProvider(o => o.InitrdPath = "b");

        Assert.Single(services, d => d.ServiceType == typeof(HyperVInstanceProvider));
        Assert.Single(services, d => d.ServiceType == typeof(IValidateOptions<HyperVProviderOptions>));
        Assert.Single(services, d => d.ServiceType == typeof(IInstanceProvider));
        using var sp = services.BuildServiceProvider();
        var options = new HyperVProviderOptions();
        foreach (var configure in sp.GetServices<IConfigureOptions<HyperVProviderOptions>>())
        {
            configure.Configure(options);
        }

        Assert.Equal(("a", "b"), (options.KernelPath, options.InitrdPath));
    }

    [Fact]
    public void PublicConstructor_OnLinux_ThrowsTheValidationError()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var ex = Assert.Throws<OptionsValidationException>(() => new HyperVInstanceProvider(Microsoft.Extensions.Options.Options.Create(new HyperVProviderOptions())));
        Assert.Contains("only on Windows", ex.Message, StringComparison.Ordinal);
    }
}
