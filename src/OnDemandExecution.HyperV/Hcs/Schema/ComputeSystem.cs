// The compute-system document HcsCreateComputeSystem takes, as typed records. Property names and shapes follow
// microsoft/hcsshim internal/hcs/schema2 (compute_system.go, virtual_machine.go, chipset.go, linux_kernel_direct.go,
// uefi.go, uefi_boot_entry.go, topology.go, virtual_machine_memory.go, virtual_machine_processor.go, devices.go,
// scsi.go, attachment.go, virtual_machine_hv_socket.go, hv_socket_system_config.go, hv_socket_service_config.go) and
// Microsoft's sample (virtualization/api/hcs/Reference/HcsCreateComputeSystemJsonSample.md). Only the members this
// provider sets are modelled; null members are omitted from the JSON, as hcsshim's omitempty does.
namespace OnDemandExecution.HyperV.Hcs.Schema;

/// <summary>The root document (<c>ComputeSystem</c>).</summary>
internal sealed record ComputeSystem
{
    public string? Owner { get; init; }

    public SchemaVersion? SchemaVersion { get; init; }

    public VirtualMachine? VirtualMachine { get; init; }

    /// <summary>HCS terminates the VM when its last handle closes, so a crashed host process leaves no VM behind.</summary>
    public bool? ShouldTerminateOnLastHandleClosed { get; init; }
}

/// <summary>The schema version; hcsshim's <c>schemaversion.SchemaV21()</c> is 2.1 (Windows 10 1809 / Server 2019 and later).</summary>
internal sealed record SchemaVersion(int Major, int Minor)
{
    public static SchemaVersion V21 { get; } = new(2, 1);
}

internal sealed record VirtualMachine
{
    /// <summary>A guest reboot stops the VM instead of restarting it (hcsshim sets it for utility VMs); a rebooted guest's agent would be a stranger.</summary>
    public bool? StopOnReset { get; init; }

    public Chipset? Chipset { get; init; }

    public Topology? ComputeTopology { get; init; }

    public Devices? Devices { get; init; }
}

internal sealed record Chipset
{
    public Uefi? Uefi { get; init; }

    public LinuxKernelDirect? LinuxKernelDirect { get; init; }
}

/// <summary>Boots a Linux kernel directly, without firmware (what hcsshim does for LCOW utility VMs with KernelDirect).</summary>
internal sealed record LinuxKernelDirect
{
    public string? KernelFilePath { get; init; }

    public string? InitRdPath { get; init; }

    public string? KernelCmdLine { get; init; }
}

internal sealed record Uefi
{
    public UefiBootEntry? BootThis { get; init; }
}

internal sealed record UefiBootEntry
{
    /// <summary><c>ScsiDrive</c>, <c>VmbFs</c>, <c>Network</c> or <c>File</c> (UefiBootDevice).</summary>
    public string? DeviceType { get; init; }

    /// <summary>For <c>ScsiDrive</c>: the name of the SCSI controller in <see cref="Devices.Scsi"/>.</summary>
    public string? DevicePath { get; init; }

    /// <summary>For <c>ScsiDrive</c>: the LUN on that controller.</summary>
    public int? DiskNumber { get; init; }
}

internal sealed record Topology
{
    public VirtualMachineMemory? Memory { get; init; }

    public VirtualMachineProcessor? Processor { get; init; }
}

internal sealed record VirtualMachineMemory
{
    public long SizeInMB { get; init; }

    /// <summary>Back guest memory with the host's pagefile (virtual) rather than pinned physical pages; lets many idle warm VMs overcommit.</summary>
    public bool? AllowOvercommit { get; init; }
}

internal sealed record VirtualMachineProcessor
{
    public int Count { get; init; }
}

internal sealed record Devices
{
    /// <summary>SCSI controllers by name; each maps LUN numbers (as strings) to attachments.</summary>
    public Dictionary<string, Scsi>? Scsi { get; init; }

    public VirtualMachineHvSocket? HvSocket { get; init; }
}

internal sealed record Scsi
{
    public Dictionary<string, Attachment>? Attachments { get; init; }
}

internal sealed record Attachment
{
    /// <summary><c>VirtualDisk</c>, <c>Iso</c> or <c>PassThru</c> (AttachmentType).</summary>
    public string? Type { get; init; }

    public string? Path { get; init; }

    public bool? ReadOnly { get; init; }
}

internal sealed record VirtualMachineHvSocket
{
    public HvSocketSystemConfig? HvSocketConfig { get; init; }
}

internal sealed record HvSocketSystemConfig
{
    /// <summary>SDDL checked before a host process binds to an unlisted service of this VM (hcsshim: SYSTEM and administrators).</summary>
    public string? DefaultBindSecurityDescriptor { get; init; }

    /// <summary>SDDL checked before a host process connects to an unlisted service in the VM.</summary>
    public string? DefaultConnectSecurityDescriptor { get; init; }

    /// <summary>Per-service settings, keyed by the service GUID.</summary>
    public Dictionary<string, HvSocketServiceConfig>? ServiceTable { get; init; }
}

internal sealed record HvSocketServiceConfig
{
    public string? BindSecurityDescriptor { get; init; }

    public string? ConnectSecurityDescriptor { get; init; }

    public bool? AllowWildcardBinds { get; init; }
}
