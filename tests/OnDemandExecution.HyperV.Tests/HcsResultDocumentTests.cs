using OnDemandExecution.HyperV.Hcs;

namespace OnDemandExecution.HyperV.Tests;

public class HcsResultDocumentTests
{
    [Fact]
    public void ErrorDocument_IsDescribed_WithMessageAndEvents()
    {
        const string doc = """{"Error":-2143878898,"ErrorMessage":"A virtual machine or container with the specified identifier does not exist.","ErrorEvents":[{"Message":"The system cannot find the file specified.","Provider":"x"}]}""";

        Assert.Equal("A virtual machine or container with the specified identifier does not exist. [The system cannot find the file specified.]", HcsResultDocument.Describe(doc));
        Assert.Equal(HcsErrors.HCS_E_SYSTEM_NOT_FOUND, HcsResultDocument.ErrorCode(doc));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("{}")]
    public void EmptyDocuments_SayNothing(string? doc)
    {
        Assert.Null(HcsResultDocument.Describe(doc));
        Assert.Null(HcsResultDocument.ErrorCode(doc));
    }

    [Fact]
    public void NonJsonDocument_IsQuotedAsIs()
        => Assert.Equal("not json at all", HcsResultDocument.Describe(" not json at all "));

    [Fact]
    public void RuntimeId_IsReadFromProperties_OrFailsClearly()
    {
        Assert.Equal(Guid.Parse("6f1c0a52-3b4e-4f7a-9d2c-1e5b7a9c0d11"), HcsResultDocument.RuntimeId("""{"Id":"x","RuntimeId":"6f1c0a52-3b4e-4f7a-9d2c-1e5b7a9c0d11"}"""));
        var ex = Assert.Throws<HcsException>(() => HcsResultDocument.RuntimeId("""{"Id":"x"}"""));
        Assert.Contains("RuntimeId", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExitStatus_IsRead()
    {
        var status = HcsResultDocument.ExitStatus("""{"Status":-2143878906,"ExitType":"UnexpectedExit"}""");

        Assert.Equal(HcsErrors.HCS_E_UNEXPECTED_EXIT, status!.Status);
        Assert.Equal("UnexpectedExit", status.ExitType);
    }

    [Fact]
    public void HcsException_NamesTheCall_TheHresult_AndWhatToDo()
    {
        var ex = new HcsException("HcsCreateComputeSystem", HcsErrors.HCS_E_ACCESS_DENIED, """{"ErrorMessage":"Access is denied."}""");

        Assert.Equal("HcsCreateComputeSystem failed with HCS_E_ACCESS_DENIED (0x8037011B): Access is denied. Run the host as an administrator or as a member of the Hyper-V Administrators group.", ex.Message);
        Assert.Equal(HcsErrors.HCS_E_ACCESS_DENIED, ex.HResult);
    }
}
