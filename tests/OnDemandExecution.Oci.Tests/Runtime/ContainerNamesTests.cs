using OnDemandExecution.Oci.Runtime;

namespace OnDemandExecution.Oci.Tests.Runtime;

public class ContainerNamesTests
{
    [Fact]
    public void Owner_IsReadBackFromAMadeId()
    {
        var id = ContainerNames.Make("4242-abc", "beef", 17);
        Assert.Equal("odx-4242-abc-beef-17", id);
        Assert.Equal("4242-abc", ContainerNames.Owner(id));
    }

    [Theory]
    [InlineData("mycontainer")]
    [InlineData("odx-")]
    [InlineData("odx-x-abc-beef-1")]
    [InlineData("odx-12-abc-beef")]
    public void Owner_IsNullForNamesThisProviderDidNotMake(string id) => Assert.Null(ContainerNames.Owner(id));

    [Fact]
    public void ThisProcess_IsAlive_AndAStaleTagOfAReusedPidIsNot()
    {
        var tag = HostIdentity.CurrentOwnerTag();
        Assert.True(HostIdentity.IsOwnerAlive(tag));
        var pid = tag.Split('-')[0];
        Assert.False(HostIdentity.IsOwnerAlive(pid + "-zzzzzz")); // same pid, another start time: a reused pid
        Assert.False(HostIdentity.IsOwnerAlive("2147483646-1")); // no such process
    }

    [Theory]
    [InlineData("bin/run", "bin/run")]
    [InlineData("/work/a/b", "a/b")]
    [InlineData("/tmp/x", null)]
    [InlineData("../etc/passwd", null)]
    [InlineData("a/../../b", null)]
    [InlineData("/work/", null)]
    [InlineData("a//b", null)]
    public void WorkRelative_AcceptsOnlyPathsInsideWork(string path, string? expected) => Assert.Equal(expected, OciInstance.WorkRelative(path));
}
