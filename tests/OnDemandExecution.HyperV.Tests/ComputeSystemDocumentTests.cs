using OnDemandExecution.HyperV.Hcs;
using OnDemandExecution.HyperV.Tests.TestSupport;

namespace OnDemandExecution.HyperV.Tests;

public class ComputeSystemDocumentTests
{
    [Fact]
    public void LinuxKernelDirect_MatchesGoldenFile()
    {
        var json = ComputeSystemDocumentBuilder.Serialize(ComputeSystemDocumentBuilder.Build(TestProvider.Options(), 512, 2));

        Golden.AssertMatches("linux-kernel-direct.json", json);
    }

    [Fact]
    public void UefiFromVhdx_MatchesGoldenFile()
    {
        var options = new HyperVProviderOptions
        {
            BootMode = HyperVBootMode.Uefi,
            VhdxPath = @"C:\odx\guest.vhdx",
            AgentPort = 8080,
            Owner = "odx-tests",
            AllowMemoryOvercommit = false,
        };

        var json = ComputeSystemDocumentBuilder.Serialize(ComputeSystemDocumentBuilder.Build(options, 1024, 1));

        Golden.AssertMatches("uefi-vhdx.json", json);
    }

    [Fact]
    public void PauseAndSaveOptions_MatchGoldenFiles()
    {
        Golden.AssertMatches("pause-for-save.json", ComputeSystemDocumentBuilder.PauseOptions(forSave: true));
        Golden.AssertMatches("save-to-file.json", ComputeSystemDocumentBuilder.SaveOptions(@"C:\odx\state\guest.vmrs"));
    }

    [Fact]
    public void Document_OmitsNullMembers_AndUsesHcsPropertyNames()
    {
        var json = ComputeSystemDocumentBuilder.Serialize(ComputeSystemDocumentBuilder.Build(TestProvider.Options(), 256, 1));

        Assert.DoesNotContain("null", json, StringComparison.Ordinal);
        Assert.Contains("\"SizeInMB\":256", json, StringComparison.Ordinal);
        Assert.Contains("\"InitRdPath\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"Scsi\"", json, StringComparison.Ordinal);
    }
}
