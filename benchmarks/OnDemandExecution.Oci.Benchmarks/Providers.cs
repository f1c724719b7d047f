using Microsoft.Extensions.Options;
using OnDemandExecution.Kvm;

namespace OnDemandExecution.Oci.Benchmarks;

/// <summary>
/// The two providers side by side on this machine: OCI containers from artifacts/oci-bundle, KVM guests (KVM when
/// usable, TCG otherwise) restored from a snapshot of artifacts/guest. ODX_OCI_BUNDLE_DIR and ODX_GUEST_IMAGE_DIR
/// override the image locations.
/// </summary>
internal static class Providers
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static OciInstanceProvider Oci() => new(Options.Create(new OciProviderOptions
    {
        BundlePath = Environment.GetEnvironmentVariable("ODX_OCI_BUNDLE_DIR") ?? Path.Combine(RepoRoot, "artifacts", "oci-bundle"),
        StateDirectory = "/run/odx-oci-bench",
        WorkingDirectory = "/var/tmp/odx-oci-bench",
    }));

    public static KvmInstanceProvider Kvm(string snapshotDirectory)
    {
        var image = Environment.GetEnvironmentVariable("ODX_GUEST_IMAGE_DIR") ?? Path.Combine(RepoRoot, "artifacts", "guest");
        return new(Options.Create(new KvmProviderOptions
        {
            KernelPath = Path.Combine(image, "vmlinuz"),
            InitrdPath = Path.Combine(image, "initrd.cpio.gz"),
            SnapshotDirectory = snapshotDirectory,
            MaxMemoryMb = 512,
        }));
    }

    public static FunctionDefinition Echo { get; } = new("echo", new ProgramFunctionCode("cat"));

    public static InvocationRequest Request { get; } = new("echo", "ping"u8.ToArray(), new TenantId("bench"));

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OnDemandExecution.slnx")))
            {
                return dir.FullName;
            }
        }

        return Environment.CurrentDirectory;
    }
}
