using Microsoft.Extensions.Options;
using OnDemandExecution.Kvm.Qemu;

namespace OnDemandExecution.Kvm;

/// <summary>Validates <see cref="KvmProviderOptions"/>: each failure names the option, the bad value and what to do.</summary>
internal sealed class KvmProviderOptionsValidator : IValidateOptions<KvmProviderOptions>
{
    private const string Prefix = nameof(KvmProviderOptions) + ".";

    public ValidateOptionsResult Validate(string? name, KvmProviderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (QemuCommandLine.ResolveExecutable(options.QemuPath) is null)
        {
            failures.Add($"{Prefix}{nameof(options.QemuPath)}: QEMU '{options.QemuPath}' was not found (install the Debian package qemu-system-x86 or set the full path).");
        }

        RequireFile(nameof(options.KernelPath), options.KernelPath);
        RequireFile(nameof(options.InitrdPath), options.InitrdPath);
        Range(nameof(options.MaxMemoryMb), options.MaxMemoryMb, 64, 1 << 20);
        Range(nameof(options.MaxVCpuCount), options.MaxVCpuCount, 1, 255);
        Range(nameof(options.MaxFrameBytes), options.MaxFrameBytes, 4096, int.MaxValue);
        Range(nameof(options.StandbyClones), options.StandbyClones, 0, 64);
        Positive(nameof(options.BootTimeout), options.BootTimeout);
        Positive(nameof(options.RestoreTimeout), options.RestoreTimeout);
        Positive(nameof(options.AgentTimeout), options.AgentTimeout);
        if (options.QemuUserId is < 0)
        {
            failures.Add($"{Prefix}{nameof(options.QemuUserId)} must be a uid (0 or more) or null (was {options.QemuUserId}).");
        }

        if (options.QemuGroupId is < 0)
        {
            failures.Add($"{Prefix}{nameof(options.QemuGroupId)} must be a gid (0 or more) or null (was {options.QemuGroupId}).");
        }

        if (!Enum.IsDefined(options.Accelerator))
        {
            failures.Add($"{Prefix}{nameof(options.Accelerator)} must be Auto, Kvm or Tcg (was {(int)options.Accelerator}).");
        }

        if (options.Accelerator == KvmAccelerator.Kvm && !QemuCommandLine.KvmDeviceUsable())
        {
            failures.Add($"{Prefix}{nameof(options.Accelerator)} is Kvm but /dev/kvm cannot be opened for reading and writing; use Auto or Tcg, or give this user access to /dev/kvm.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void RequireFile(string option, string? path)
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                failures.Add($"{Prefix}{option} is required: build a guest image with tools/build-guest-image.sh and point {option} at it.");
            }
            else if (!File.Exists(path))
            {
                failures.Add($"{Prefix}{option}: '{path}' does not exist (build the guest image with tools/build-guest-image.sh).");
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
}
