using OnDemandExecution.Kvm.Qemu;
using OnDemandExecution.Kvm.Sandbox;

namespace OnDemandExecution.Kvm.Tests;

public class QemuCommandLineTests
{
    private static QemuLaunch Launch(string? memory, bool shared, bool incoming, bool sandbox)
        => new(false, 256, 1, "vmlinuz", "initrd", "console=hvc0", "/d/console.log", "/d/agent.sock", "/d/qmp.sock", memory, shared, incoming, sandbox);

    [Fact]
    public void Clone_MapsTheTemplateRamPrivately_WaitsForIncomingState_AndIsSandboxed()
    {
        var args = string.Join(' ', QemuCommandLine.Build(Launch("/t/guest.ram", shared: false, incoming: true, sandbox: true)));

        Assert.Contains("-M microvm,x-option-roms=off,pit=off,pic=off,memory-backend=mem0", args, StringComparison.Ordinal);
        Assert.Contains("memory-backend-file,id=mem0,size=256M,mem-path=/t/guest.ram,share=off", args, StringComparison.Ordinal);
        Assert.Contains("-incoming defer", args, StringComparison.Ordinal);
        Assert.Contains("-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny", args, StringComparison.Ordinal);
        Assert.Contains("-device virtio-rng-device", args, StringComparison.Ordinal);
        Assert.DoesNotContain("exec:", args, StringComparison.Ordinal);
    }

    [Fact]
    public void Template_SharesItsRamFile_AndBootWithoutTemplate_UsesAnonymousRam()
    {
        var template = string.Join(' ', QemuCommandLine.Build(Launch("/t/guest.ram", shared: true, incoming: false, sandbox: false)));
        Assert.Contains("share=on", template, StringComparison.Ordinal);
        Assert.DoesNotContain("-incoming", template, StringComparison.Ordinal);
        Assert.DoesNotContain("-sandbox", template, StringComparison.Ordinal);

        var boot = string.Join(' ', QemuCommandLine.Build(Launch(null, shared: false, incoming: false, sandbox: true)));
        Assert.DoesNotContain("memory-backend", boot, StringComparison.Ordinal);
    }

    [Fact]
    public void ProcessIdentity_RoundTrips_AndTellsARecycledPidApart()
    {
        var me = ProcessIdentity.Of(Environment.ProcessId)!.Value;
        Assert.Equal(me, ProcessIdentity.Parse(me.ToString()));
        Assert.True(me.IsRunning);
        Assert.False((me with { StartTime = me.StartTime + 1 }).IsRunning);
        Assert.Null(ProcessIdentity.Parse("garbage"));
    }
}
