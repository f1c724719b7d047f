using System.Text.Json;

namespace OnDemandExecution.Oci.Runtime;

/// <summary>
/// Writes an OCI runtime spec (config.json, spec 1.0.2) for one container, isolated by default: new pid, mount, ipc,
/// uts and (unless asked otherwise) network namespaces, a user namespace where given, a read-only root file system
/// with tmpfs <c>/tmp</c> and <c>/run</c> and one writable bind-mounted <c>/work</c>, no capabilities in any set,
/// no new privileges, a non-root uid, masked and read-only /proc paths, no devices beyond runc's defaults, a seccomp
/// profile (<see cref="SeccompProfile"/>) and cgroup memory/CPU/pids limits when given.
/// </summary>
internal static class OciSpecWriter
{
    /// <summary>Writes config.json into <paramref name="bundleDirectory"/>.</summary>
    public static void Write(string bundleDirectory, ContainerConfig config)
    {
        using var file = File.Create(Path.Combine(bundleDirectory, "config.json"));
        using var w = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
        Write(w, config);
    }

    /// <summary>Writes the spec as one JSON object.</summary>
    public static void Write(Utf8JsonWriter w, ContainerConfig config)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(config);
        w.WriteStartObject();
        w.WriteString("ociVersion", "1.0.2");

        w.WriteStartObject("process");
        w.WriteBoolean("terminal", false);
        w.WriteStartObject("user");
        w.WriteNumber("uid", config.Uid);
        w.WriteNumber("gid", config.Uid);
        w.WriteEndObject();
        Strings(w, "args", config.Args);
        Strings(w, "env", ["PATH=/bin:/usr/bin:/sbin:/usr/sbin", "HOME=/work", "TMPDIR=/tmp"]);
        w.WriteString("cwd", "/work");
        w.WriteStartObject("capabilities");
        foreach (var set in new[] { "bounding", "effective", "inheritable", "permitted", "ambient" })
        {
            Strings(w, set, []);
        }

        w.WriteEndObject();
        w.WriteStartArray("rlimits");
        Rlimit(w, "RLIMIT_NOFILE", 1024);
        Rlimit(w, "RLIMIT_CORE", 0);
        w.WriteEndArray();
        w.WriteBoolean("noNewPrivileges", true);
        w.WriteEndObject();

        w.WriteStartObject("root");
        w.WriteString("path", config.RootFs);
        w.WriteBoolean("readonly", true);
        w.WriteEndObject();
        w.WriteString("hostname", config.Hostname);

        w.WriteStartArray("mounts");
        Mount(w, "/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]);
        Mount(w, "/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]);
        Mount(w, "/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]);
        Mount(w, "/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]);
        Mount(w, "/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]);
        var owner = $"uid={config.Uid}";
        var group = $"gid={config.Uid}";
        Mount(w, "/tmp", "tmpfs", "tmpfs", ["nosuid", "nodev", "mode=1777", owner, group, $"size={config.TmpSizeMb}m"]);
        Mount(w, "/run", "tmpfs", "tmpfs", ["nosuid", "nodev", "noexec", "mode=0700", owner, group, "size=16m"]);
        Mount(w, "/work", "bind", config.WorkDirectory, ["rbind", "rw", "nosuid", "nodev"]);
        Mount(w, "/odx", "bind", config.SocketDirectory, ["rbind", "ro", "nosuid", "nodev", "noexec"]);
        w.WriteEndArray();

        w.WriteStartObject("linux");
        w.WriteStartArray("namespaces");
        foreach (var ns in new[] { "pid", "ipc", "uts", "mount" })
        {
            Namespace(w, ns);
        }

        if (config.IsolateNetwork)
        {
            Namespace(w, "network");
        }

        if (config.UserNamespaceHostBase is not null)
        {
            Namespace(w, "user");
        }

        w.WriteEndArray();
        if (config.UserNamespaceHostBase is { } hostBase)
        {
            foreach (var mapping in new[] { "uidMappings", "gidMappings" })
            {
                w.WriteStartArray(mapping);
                w.WriteStartObject();
                w.WriteNumber("containerID", 0);
                w.WriteNumber("hostID", hostBase);
                w.WriteNumber("size", 65536);
                w.WriteEndObject();
                w.WriteEndArray();
            }
        }

        w.WriteString("cgroupsPath", config.CgroupsPath);
        w.WriteStartObject("resources");
        w.WriteStartArray("devices");
        w.WriteStartObject();
        w.WriteBoolean("allow", false);
        w.WriteString("access", "rwm");
        w.WriteEndObject();
        w.WriteEndArray();
        if (config.MemoryLimitBytes is { } memory)
        {
            w.WriteStartObject("memory");
            w.WriteNumber("limit", memory);
            w.WriteNumber("swap", memory); // memory+swap: no swap on top of the limit
            w.WriteEndObject();
        }

        if (config.CpuLimit is { } cpus)
        {
            w.WriteStartObject("cpu");
            w.WriteNumber("quota", cpus * 100_000L);
            w.WriteNumber("period", 100_000);
            w.WriteEndObject();
        }

        if (config.PidsLimit is { } pids)
        {
            w.WriteStartObject("pids");
            w.WriteNumber("limit", pids);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        Strings(w, "maskedPaths", ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"]);
        Strings(w, "readonlyPaths", ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]);
        if (config.Seccomp)
        {
            SeccompProfile.Write(w);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    }

    private static void Rlimit(Utf8JsonWriter w, string type, long value)
    {
        w.WriteStartObject();
        w.WriteString("type", type);
        w.WriteNumber("hard", value);
        w.WriteNumber("soft", value);
        w.WriteEndObject();
    }

    private static void Mount(Utf8JsonWriter w, string destination, string type, string source, string[] options)
    {
        w.WriteStartObject();
        w.WriteString("destination", destination);
        w.WriteString("type", type);
        w.WriteString("source", source);
        Strings(w, "options", options);
        w.WriteEndObject();
    }

    private static void Namespace(Utf8JsonWriter w, string type)
    {
        w.WriteStartObject();
        w.WriteString("type", type);
        w.WriteEndObject();
    }
}
