using System.Text.Json;
using OnDemandExecution.Oci.Runtime;

namespace OnDemandExecution.Oci.Tests.Runtime;

public class OciSpecWriterTests
{
    private static JsonElement Spec(ContainerConfig config)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            OciSpecWriter.Write(w, config);
        }

        return JsonDocument.Parse(stream.ToArray()).RootElement.Clone();
    }

    private static ContainerConfig Config() => new()
    {
        RootFs = "/b/rootfs",
        WorkDirectory = "/w/c1/work",
        SocketDirectory = "/w/c1/sock",
        Args = ["/bin/odx-agent", "--connect", "/odx/agent.sock"],
        Uid = 1000,
        UserNamespaceHostBase = 100000,
        CgroupsPath = "/c1",
        MemoryLimitBytes = 256L << 20,
        CpuLimit = 2,
        PidsLimit = 64,
    };

    private static string[] Names(JsonElement array, string property = "type")
        => array.EnumerateArray().Select(e => e.GetProperty(property).GetString()!).ToArray();

    [Fact]
    public void DefaultSpec_IsolatesEverything()
    {
        var spec = Spec(Config());
        var process = spec.GetProperty("process");
        Assert.True(process.GetProperty("noNewPrivileges").GetBoolean());
        Assert.Equal(1000, process.GetProperty("user").GetProperty("uid").GetInt32());
        foreach (var set in process.GetProperty("capabilities").EnumerateObject())
        {
            Assert.Equal(0, set.Value.GetArrayLength()); // no capability in any set
        }

        Assert.True(spec.GetProperty("root").GetProperty("readonly").GetBoolean());
        var linux = spec.GetProperty("linux");
        Assert.Equal(["pid", "ipc", "uts", "mount", "network", "user"], Names(linux.GetProperty("namespaces")));
        Assert.Equal(100000, linux.GetProperty("uidMappings")[0].GetProperty("hostID").GetInt32());
        Assert.Equal(100000, linux.GetProperty("gidMappings")[0].GetProperty("hostID").GetInt32());
        var resources = linux.GetProperty("resources");
        Assert.Equal(256L << 20, resources.GetProperty("memory").GetProperty("limit").GetInt64());
        Assert.Equal(200_000, resources.GetProperty("cpu").GetProperty("quota").GetInt64());
        Assert.Equal(64, resources.GetProperty("pids").GetProperty("limit").GetInt32());
        Assert.Equal("SCMP_ACT_ALLOW", linux.GetProperty("seccomp").GetProperty("defaultAction").GetString());

        var mounts = spec.GetProperty("mounts").EnumerateArray().ToDictionary(m => m.GetProperty("destination").GetString()!);
        Assert.Equal("/w/c1/work", mounts["/work"].GetProperty("source").GetString());
        Assert.Contains("ro", mounts["/odx"].GetProperty("options").EnumerateArray().Select(o => o.GetString()));
        Assert.Equal("tmpfs", mounts["/tmp"].GetProperty("type").GetString());
    }

    [Fact]
    public void HostNetworkNoUserNamespaceNoLimitsNoSeccomp_LeaveThoseOut()
    {
        var spec = Spec(Config() with { IsolateNetwork = false, UserNamespaceHostBase = null, MemoryLimitBytes = null, CpuLimit = null, PidsLimit = null, Seccomp = false });
        var linux = spec.GetProperty("linux");
        Assert.Equal(["pid", "ipc", "uts", "mount"], Names(linux.GetProperty("namespaces")));
        Assert.False(linux.TryGetProperty("uidMappings", out _));
        Assert.False(linux.TryGetProperty("seccomp", out _));
        Assert.False(linux.GetProperty("resources").TryGetProperty("memory", out _));
        Assert.False(linux.GetProperty("resources").TryGetProperty("pids", out _));
    }

    [Fact]
    public void Seccomp_RefusesNamespaceCreationAndKernelAdministration()
    {
        var seccomp = Spec(Config()).GetProperty("linux").GetProperty("seccomp");
        var denied = seccomp.GetProperty("syscalls").EnumerateArray()
            .Where(r => r.GetProperty("action").GetString() == "SCMP_ACT_ERRNO")
            .SelectMany(r => r.GetProperty("names").EnumerateArray().Select(n => n.GetString()))
            .ToHashSet();
        foreach (var call in new[] { "unshare", "setns", "mount", "ptrace", "bpf", "init_module", "kexec_load", "keyctl", "clone3" })
        {
            Assert.Contains(call, denied);
        }

        // clone is refused only with a CLONE_NEW* flag: plain fork/threads still work
        var cloneRules = seccomp.GetProperty("syscalls").EnumerateArray().Where(r => r.GetProperty("names")[0].GetString() == "clone").ToList();
        Assert.Equal(7, cloneRules.Count);
        Assert.All(cloneRules, r => Assert.Equal("SCMP_CMP_MASKED_EQ", r.GetProperty("args")[0].GetProperty("op").GetString()));
        Assert.Contains(cloneRules, r => r.GetProperty("args")[0].GetProperty("value").GetInt64() == 0x10000000); // CLONE_NEWUSER
    }
}
