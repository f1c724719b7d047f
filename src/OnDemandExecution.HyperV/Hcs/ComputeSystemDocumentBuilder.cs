using System.Globalization;
using System.Text.Json;
using OnDemandExecution.HyperV.Hcs.Schema;
using OnDemandExecution.HyperV.HvSocket;

namespace OnDemandExecution.HyperV.Hcs;

/// <summary>Builds the compute-system document of one guest from the provider's options and the instance's shape.</summary>
internal static class ComputeSystemDocumentBuilder
{
    /// <summary>SYSTEM and built-in administrators, full access: what hcsshim grants for its utility VMs' Hyper-V sockets.</summary>
    public const string SystemAndAdministrators = "D:P(A;;FA;;;SY)(A;;FA;;;BA)";

    /// <summary>The SCSI controller the disk is attached to (hcsshim names its first controller "0").</summary>
    public const string ScsiController = "0";

    /// <summary>The kernel arguments the provider always passes; <see cref="HyperVProviderOptions.KernelArguments"/> are appended.</summary>
    public const string BaseKernelArguments = "console=ttyS0 quiet panic=-1";

    public static ComputeSystem Build(HyperVProviderOptions options, int memoryMb, int vCpuCount)
    {
        ArgumentNullException.ThrowIfNull(options);
        var agentService = AgentServiceId(options).ToString("D");
        Dictionary<string, Scsi>? scsi = null;
        if (!string.IsNullOrWhiteSpace(options.VhdxPath))
        {
            scsi = new()
            {
                [ScsiController] = new Scsi
                {
                    Attachments = new()
                    {
                        ["0"] = new Attachment { Type = "VirtualDisk", Path = options.VhdxPath, ReadOnly = options.VhdxReadOnly ? true : null },
                    },
                },
            };
        }

        var chipset = options.BootMode == HyperVBootMode.Uefi
            ? new Chipset { Uefi = new Uefi { BootThis = new UefiBootEntry { DeviceType = "ScsiDrive", DevicePath = ScsiController, DiskNumber = 0 } } }
            : new Chipset
            {
                LinuxKernelDirect = new LinuxKernelDirect
                {
                    KernelFilePath = options.KernelPath,
                    InitRdPath = options.InitrdPath,
                    KernelCmdLine = KernelCommandLine(options),
                },
            };

        return new ComputeSystem
        {
            Owner = options.Owner,
            SchemaVersion = SchemaVersion.V21,
            ShouldTerminateOnLastHandleClosed = true,
            VirtualMachine = new VirtualMachine
            {
                StopOnReset = true,
                Chipset = chipset,
                ComputeTopology = new Topology
                {
                    Memory = new VirtualMachineMemory { SizeInMB = memoryMb, AllowOvercommit = options.AllowMemoryOvercommit ? true : null },
                    Processor = new VirtualMachineProcessor { Count = vCpuCount },
                },
                Devices = new Devices
                {
                    Scsi = scsi,
                    HvSocket = new VirtualMachineHvSocket
                    {
                        HvSocketConfig = new HvSocketSystemConfig
                        {
                            DefaultBindSecurityDescriptor = SystemAndAdministrators,
                            ServiceTable = new()
                            {
                                [agentService] = new HvSocketServiceConfig { ConnectSecurityDescriptor = SystemAndAdministrators },
                            },
                        },
                    },
                },
            },
        };
    }

    public static string Serialize(ComputeSystem document) => JsonSerializer.Serialize(document, HcsJsonContext.Default.ComputeSystem);

    /// <summary>The Hyper-V socket service id of the agent's AF_VSOCK port.</summary>
    public static Guid AgentServiceId(HyperVProviderOptions options) => HvSocketEndPoint.VsockServiceId((uint)options.AgentPort);

    public static string KernelCommandLine(HyperVProviderOptions options)
    {
        var cmdline = BaseKernelArguments + " odx.agent_port=" + options.AgentPort.ToString(CultureInfo.InvariantCulture);
        return string.IsNullOrWhiteSpace(options.KernelArguments) ? cmdline : cmdline + " " + options.KernelArguments.Trim();
    }

    /// <summary>The options of a pause that precedes a save (Microsoft's ComputeSystemSample.md), or of a plain pause.</summary>
    public static string PauseOptions(bool forSave) => JsonSerializer.Serialize(
        new PauseOptions { SuspensionLevel = "Suspend", HostedNotification = forSave ? new PauseNotification { Reason = "Save" } : null },
        HcsJsonContext.Default.PauseOptions);

    public static string SaveOptions(string path) => JsonSerializer.Serialize(new SaveOptions { SaveType = "ToFile", SaveStateFilePath = path }, HcsJsonContext.Default.SaveOptions);
}
