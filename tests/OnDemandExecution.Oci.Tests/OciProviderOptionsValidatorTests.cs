namespace OnDemandExecution.Oci.Tests;

public class OciProviderOptionsValidatorTests
{
    [Fact]
    public void BadOptions_AreAllReported_EachNamingTheOptionAndValue()
    {
        var result = new OciProviderOptionsValidator().Validate(null, new OciProviderOptions
        {
            RuntimePath = "no-such-runtime-binary",
            BundlePath = string.Empty,
            AgentPath = "bin/odx-agent",
            StateDirectory = "relative/state",
            ContainerUid = 0,
            PidsLimit = 1,
            AgentTimeout = TimeSpan.Zero,
            Network = (OciNetwork)7,
        });

        Assert.True(result.Failed);
        var text = string.Join("\n", result.Failures!);
        foreach (var expected in new[]
        {
            "OciProviderOptions.RuntimePath: the OCI runtime 'no-such-runtime-binary' was not found",
            "OciProviderOptions.BundlePath is required",
            "OciProviderOptions.AgentPath must be an absolute path inside the container (was 'bin/odx-agent')",
            "OciProviderOptions.StateDirectory must be an absolute directory path (was 'relative/state')",
            "OciProviderOptions.ContainerUid must be between 1 and 65535 (was 0)",
            "OciProviderOptions.PidsLimit must be between 8 and 4194304 (was 1)",
            "OciProviderOptions.AgentTimeout must be greater than zero",
            "OciProviderOptions.Network must be None or Host (was 7)",
        })
        {
            Assert.Contains(expected, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ABundleDirectoryWithoutRootfs_IsRefused()
    {
        var dir = Directory.CreateTempSubdirectory("odx-empty-bundle").FullName;
        try
        {
            var result = new OciProviderOptionsValidator().Validate(null, new OciProviderOptions { BundlePath = dir });
            Assert.Contains(result.Failures!, f => f.Contains("is neither a bundle (rootfs/)", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir);
        }
    }
}
