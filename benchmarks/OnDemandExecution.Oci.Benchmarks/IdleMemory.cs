using System.Globalization;
using OnDemandExecution.Kvm;

namespace OnDemandExecution.Oci.Benchmarks;

/// <summary>
/// Memory per idle instance (not a BenchmarkDotNet run: a footprint, not a time): starts N ready instances of each
/// provider and sums the proportional set size (Pss, /proc/PID/smaps_rollup) of the processes that make each one up
/// (the container's processes found through its init's pid namespace; the QEMU process of a guest). Pss splits shared
/// pages (busybox, the agent, QEMU's libraries) among their users, so the sum over N instances is what they cost together.
/// </summary>
internal static class IdleMemory
{
    public static async Task RunAsync(int count)
    {
        var snapshots = Directory.CreateTempSubdirectory("odx-bench-snap").FullName;
        await using var oci = Providers.Oci();
        await using var kvm = Providers.Kvm(snapshots);
        var ociInstances = new List<OciInstance>();
        var kvmInstances = new List<IInstance>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                ociInstances.Add(await oci.CreateContainerAsync(new InstanceSpec(), default));
                kvmInstances.Add(await kvm.CreateAsync(new InstanceSpec(), default));
            }

            await Task.Delay(TimeSpan.FromSeconds(2)); // let the guests settle after restore
            var ociKb = ociInstances.Select(i => ContainerPssKb(i.Pid)).ToList();
            var kvmKb = QemuPssKb(kvmInstances.Count);
            Console.WriteLine($"| provider | instances | Pss per idle instance, KiB (min / median / max) |");
            Console.WriteLine($"|---|---|---|");
            Console.WriteLine($"| OCI container (agent as init, {string.Join(", ", ociInstances.Select(i => i.AgentVersion).Distinct())}) | {count} | {Stats(ociKb)} |");
            Console.WriteLine($"| KVM guest (QEMU process, 256 MiB guest, restored) | {count} | {Stats(kvmKb)} |");
        }
        finally
        {
            foreach (var i in ociInstances)
            {
                await i.DisposeAsync();
            }

            foreach (var i in kvmInstances)
            {
                await i.DisposeAsync();
            }

            await kvm.DisposeAsync();
            Directory.Delete(snapshots, recursive: true);
        }
    }

    private static string Stats(List<long> values)
    {
        values.Sort();
        return string.Create(CultureInfo.InvariantCulture, $"{values[0]} / {values[values.Count / 2]} / {values[^1]}");
    }

    /// <summary>Pss of every host process in the same pid namespace as the container's init.</summary>
    private static long ContainerPssKb(int initPid)
    {
        var ns = PidNamespace(initPid);
        long total = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && PidNamespace(pid) == ns)
            {
                total += PssKb(pid);
            }
        }

        return total;
    }

    private static List<long> QemuPssKb(int expected)
    {
        var result = new List<long>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && ReadOrEmpty($"/proc/{pid}/cmdline").Contains("odx-kvm", StringComparison.Ordinal)
                && ReadOrEmpty($"/proc/{pid}/comm").StartsWith("qemu", StringComparison.Ordinal))
            {
                result.Add(PssKb(pid));
            }
        }

        if (result.Count != expected)
        {
            Console.WriteLine($"(found {result.Count} QEMU processes of this run, expected {expected})");
        }

        return result;
    }

    private static string? PidNamespace(int pid)
    {
        try
        {
            return new FileInfo($"/proc/{pid}/ns/pid").LinkTarget;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long PssKb(int pid)
    {
        foreach (var line in ReadOrEmpty($"/proc/{pid}/smaps_rollup").Split('\n'))
        {
            if (line.StartsWith("Pss:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }
}
