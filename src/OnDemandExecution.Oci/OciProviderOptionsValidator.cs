using Microsoft.Extensions.Options;
using OnDemandExecution.Oci.Runtime;

namespace OnDemandExecution.Oci;

/// <summary>Validates <see cref="OciProviderOptions"/>: each failure names the option, the bad value and what to do.</summary>
internal sealed class OciProviderOptionsValidator : IValidateOptions<OciProviderOptions>
{
    private const string Prefix = nameof(OciProviderOptions) + ".";

    public ValidateOptionsResult Validate(string? name, OciProviderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (!OperatingSystem.IsLinux())
        {
            failures.Add($"{Prefix}: the OCI provider runs Linux containers and needs a Linux host (this is {System.Runtime.InteropServices.RuntimeInformation.OSDescription}).");
        }
        else if (HostIdentity.EffectiveUserId() != 0)
        {
            failures.Add($"{Prefix}: the OCI provider drives the runtime as root (rootless runc is not supported); this process runs as uid {HostIdentity.EffectiveUserId()}.");
        }

        if (string.IsNullOrWhiteSpace(options.RuntimePath) || RuntimeCli.ResolveExecutable(options.RuntimePath) is null)
        {
            failures.Add($"{Prefix}{nameof(options.RuntimePath)}: the OCI runtime '{options.RuntimePath}' was not found (install the Debian package runc or set the full path).");
        }

        if (string.IsNullOrWhiteSpace(options.BundlePath))
        {
            failures.Add($"{Prefix}{nameof(options.BundlePath)} is required: build a bundle with tools/build-oci-bundle.sh and point {nameof(options.BundlePath)} at it.");
        }
        else if (!Directory.Exists(options.BundlePath))
        {
            failures.Add($"{Prefix}{nameof(options.BundlePath)}: '{options.BundlePath}' does not exist (build the bundle with tools/build-oci-bundle.sh).");
        }
        else if (BundleSource.Classify(options.BundlePath) == BundleKind.Unknown)
        {
            failures.Add($"{Prefix}{nameof(options.BundlePath)}: '{options.BundlePath}' is neither a bundle (rootfs/), a root file system (bin/) nor an OCI image layout (oci-layout, index.json).");
        }

        if (string.IsNullOrWhiteSpace(options.AgentPath) || !options.AgentPath.StartsWith('/'))
        {
            failures.Add($"{Prefix}{nameof(options.AgentPath)} must be an absolute path inside the container (was '{options.AgentPath}').");
        }

        Absolute(nameof(options.StateDirectory), options.StateDirectory);
        Absolute(nameof(options.WorkingDirectory), options.WorkingDirectory);
        if (!string.IsNullOrEmpty(options.WorkingDirectory) && options.WorkingDirectory.Length > 60)
        {
            failures.Add($"{Prefix}{nameof(options.WorkingDirectory)} is {options.WorkingDirectory.Length} characters long; keep it under 60 (Unix socket paths below it are limited to 107 bytes).");
        }

        Range(nameof(options.ContainerUid), options.ContainerUid, 1, 65535);
        Range(nameof(options.HostIdBase), options.HostIdBase, 1000, int.MaxValue - 65536);
        Range(nameof(options.PidsLimit), options.PidsLimit, 8, 1 << 22);
        Range(nameof(options.TmpSizeMb), options.TmpSizeMb, 1, 1 << 20);
        Range(nameof(options.MaxMemoryMb), options.MaxMemoryMb, 16, 1 << 24);
        Range(nameof(options.MaxVCpuCount), options.MaxVCpuCount, 1, 1024);
        Range(nameof(options.MaxFrameBytes), options.MaxFrameBytes, 4096, int.MaxValue);
        Positive(nameof(options.StartTimeout), options.StartTimeout);
        Positive(nameof(options.AgentTimeout), options.AgentTimeout);
        if (!Enum.IsDefined(options.Network))
        {
            failures.Add($"{Prefix}{nameof(options.Network)} must be None or Host (was {(int)options.Network}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Absolute(string option, string? path)
        {
            if (string.IsNullOrWhiteSpace(path) || !Path.IsPathRooted(path))
            {
                failures.Add($"{Prefix}{option} must be an absolute directory path (was '{path}').");
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
