using System.Globalization;

namespace OnDemandExecution.Oci.Runtime;

/// <summary>Tells whether the memory limit written into a container's spec is in force, by reading it back from the cgroup file system.</summary>
internal static class CgroupProbe
{
    private const string Root = "/sys/fs/cgroup";

    /// <summary>Whether the container's memory cgroup holds <paramref name="expectedBytes"/>, and a description of the layout or why not.</summary>
    public static (bool Applied, string Why) MemoryLimitApplied(string containerId, long expectedBytes)
    {
        // cgroup v1 (alone or in the hybrid layout): the memory controller has its own hierarchy
        var v1 = Path.Combine(Root, "memory", containerId, "memory.limit_in_bytes");
        var v2 = Path.Combine(Root, containerId, "memory.max");
        foreach (var (file, layout) in new[] { (v1, "cgroup v1 memory controller"), (v2, "cgroup v2") })
        {
            if (!File.Exists(file))
            {
                continue;
            }

            var text = File.ReadAllText(file).Trim();
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value == expectedBytes)
            {
                return (true, layout + ", " + file);
            }

            return (false, $"{file} holds {text}, not the {expectedBytes} bytes asked for");
        }

        return (false, $"no memory cgroup for the container at {v1} or {v2} (the runtime did not create one on this host's cgroup layout)");
    }
}
