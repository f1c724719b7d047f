using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;

namespace OnDemandExecution.HyperV;

/// <summary>
/// Validates <see cref="HyperVProviderOptions"/>: each failure names the option, the bad value and what to do. On an OS
/// other than Windows the first failure says so, which makes <c>AddHyperVProvider</c> fail at host start-up
/// (ValidateOnStart) rather than at the first instance.
/// </summary>
internal sealed class HyperVProviderOptionsValidator : IValidateOptions<HyperVProviderOptions>
{
    private const string Prefix = nameof(HyperVProviderOptions) + ".";

    /// <summary>Whether this is Windows (replaceable so that tests can check the other rules anywhere).</summary>
    internal Func<bool> IsWindows { get; init; } = OperatingSystem.IsWindows;

    /// <summary>Whether computecore.dll (the Host Compute Service API) loads; only asked on Windows.</summary>
    internal Func<bool> HcsAvailable { get; init; } = ComputeCoreLoads;

    /// <summary>Whether a file exists (replaceable so tests can use Windows paths on Linux).</summary>
    internal Func<string, bool> FileExists { get; init; } = File.Exists;

    public ValidateOptionsResult Validate(string? name, HyperVProviderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (!IsWindows())
        {
            failures.Add($"The Hyper-V provider runs only on Windows with Hyper-V (this is {RuntimeInformation.OSDescription}); use AddKvmProvider on Linux, or AddInProcessProvider.");
        }
        else if (!HcsAvailable())
        {
            failures.Add("The Host Compute Service API (computecore.dll) is not available: the Hyper-V provider needs Windows 10 1809 / Windows Server 2019 or later with the Hyper-V feature enabled.");
        }

        if (!Enum.IsDefined(options.BootMode))
        {
            failures.Add($"{Prefix}{nameof(options.BootMode)} must be LinuxKernelDirect or Uefi (was {(int)options.BootMode}).");
        }
        else if (options.BootMode == HyperVBootMode.LinuxKernelDirect)
        {
            RequireFile(nameof(options.KernelPath), options.KernelPath);
            RequireFile(nameof(options.InitrdPath), options.InitrdPath);
            if (!string.IsNullOrWhiteSpace(options.VhdxPath))
            {
                RequireFile(nameof(options.VhdxPath), options.VhdxPath);
            }
        }
        else
        {
            RequireFile(nameof(options.VhdxPath), options.VhdxPath);
        }

        if (string.IsNullOrWhiteSpace(options.Owner))
        {
            failures.Add($"{Prefix}{nameof(options.Owner)} must not be empty.");
        }

        Range(nameof(options.AgentPort), options.AgentPort, 1, int.MaxValue);
        Range(nameof(options.MaxMemoryMb), options.MaxMemoryMb, 64, 1 << 20);
        Range(nameof(options.MaxVCpuCount), options.MaxVCpuCount, 1, 240);
        Range(nameof(options.MaxFrameBytes), options.MaxFrameBytes, 4096, int.MaxValue);
        Positive(nameof(options.BootTimeout), options.BootTimeout);
        Positive(nameof(options.OperationTimeout), options.OperationTimeout);
        Positive(nameof(options.AgentTimeout), options.AgentTimeout);

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void RequireFile(string option, string? path)
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                failures.Add($"{Prefix}{option} is required for {options.BootMode} boot: point it at the guest image (see docs/providers/hyper-v.md).");
            }
            else if (!FileExists(path))
            {
                failures.Add($"{Prefix}{option}: '{path}' does not exist.");
            }
        }

        void Range(string option, long value, long min, long max)
        {
            if (value < min || value > max)
            {
                failures.Add($"{Prefix}{option} must be between {min} and {max} (was {value}).");
            }
        }

        void Positive(string option, TimeSpan value)
        {
            if (value <= TimeSpan.Zero || value > TimeSpan.FromHours(1))
            {
                failures.Add($"{Prefix}{option} must be greater than zero and at most 1 hour (was {value}).");
            }
        }
    }

    private static bool ComputeCoreLoads()
    {
        if (!NativeLibrary.TryLoad("computecore.dll", typeof(HyperVProviderOptionsValidator).Assembly, DllImportSearchPath.System32, out var handle))
        {
            return false;
        }

        NativeLibrary.Free(handle);
        return true;
    }
}
