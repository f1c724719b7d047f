// Measures the KVM provider's VM templating through its public API, in one run on one machine:
//   1. cold boot -> first answer (UseSnapshots = false), n runs;
//   2. clone of the template -> first answer, n runs;
//   3. a warming pool of 8 filled: 8 clones created at once -> all ready, r rounds, against one clone -> ready;
//   4. PSS of each of 8 idle clones (from /proc/PID/smaps_rollup), against the guest's RAM.
// Steps 2-4 run for two providers: without standby clones (StandbyClones = 0: every clone starts its own QEMU) and
// with the given number (--standby, default 1, the library's default). Runs interleave a boot and a clone of each, so
// the machine's load drifts over all alike, and each run gives a clone/boot ratio of its own. Before each measured
// clone and pool fill the program waits 1 s (for every configuration), so that the standbys launched after the
// previous clone are ready, as they are when clones are not back to back.
// "First answer" = CreateAsync + LoadAsync(cat) + the first InvokeAsync. Runs are sequential except the pool fills.
//
//   dotnet run -c Release --project benchmarks/OnDemandExecution.Kvm.Benchmarks -- [--runs 5] [--rounds 3] [--standby 1] [--image artifacts/guest] [--accel Tcg]
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.Kvm;

var runs = 5;
var rounds = 3;
var image = "artifacts/guest";
var accel = KvmAccelerator.Tcg;
var standby = 1;
const int PoolSize = 8;
const int MemoryMb = 256;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--runs": runs = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--rounds": rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--image": image = args[i + 1]; break;
        case "--standby": standby = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--accel": accel = Enum.Parse<KvmAccelerator>(args[i + 1], ignoreCase: true); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

var templates = Directory.CreateTempSubdirectory("odx-kvm-bench-").FullName;
var function = new FunctionDefinition("echo", new ProgramFunctionCode("cat"));
var tenant = new TenantId("bench");
var spec = new InstanceSpec { MemoryMb = MemoryMb };

KvmInstanceProvider Provider(bool templating, int standbyClones = 0) => new(Options.Create(new KvmProviderOptions
{
    StandbyClones = standbyClones,
    KernelPath = Path.Combine(image, "vmlinuz"),
    InitrdPath = Path.Combine(image, "initrd.cpio.gz"),
    Accelerator = accel,
    UseSnapshots = templating,
    SnapshotDirectory = templating ? templates : null,
}));

async Task<double> FirstAnswerAsync(KvmInstanceProvider provider)
{
    var t0 = Stopwatch.GetTimestamp();
    await using var instance = await provider.CreateAsync(spec, CancellationToken.None);
    await instance.LoadAsync(function, tenant, CancellationToken.None);
    var output = await instance.InvokeAsync(new InvocationRequest("echo", "ping"u8.ToArray(), tenant), CancellationToken.None);
    var ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    return output.Span.SequenceEqual("ping"u8) ? ms : throw new InvalidOperationException("unexpected output");
}

static string Row(string what, IReadOnlyList<double> xs, string unit)
{
    var s = xs.Order().ToArray();
    var median = s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
    return string.Create(CultureInfo.InvariantCulture, $"| {what} | {s.Length} | {s[0]:F0} | {median:F0} | {s[^1]:F0} | {unit} |");
}

static double Median(IReadOnlyList<double> xs)
{
    var s = xs.Order().ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
}

// user + system CPU time of a process so far, from /proc/PID/stat (fields 14 and 15, in clock ticks of 10 ms)
static double CpuMs(int pid)
{
    var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
    var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)) * 10.0;
}

// QEMU processes whose parent is this process (the sandbox's setpriv/unshare exec QEMU in place)
static IEnumerable<int> ChildQemus()
{
    var self = Environment.ProcessId;
    foreach (var dir in Directory.EnumerateDirectories("/proc"))
    {
        if (!int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out var pid))
        {
            continue;
        }

        string stat;
        try
        {
            stat = File.ReadAllText(Path.Combine(dir, "stat"));
        }
        catch (IOException)
        {
            continue;
        }

        var name = stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')];
        var ppid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
        if (ppid == self && name.StartsWith("qemu", StringComparison.Ordinal))
        {
            yield return pid;
        }
    }
}

static double PssMiB(int pid)
{
    foreach (var line in File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/smaps_rollup"))
    {
        if (line.StartsWith("Pss:", StringComparison.Ordinal))
        {
            return double.Parse(line[4..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
        }
    }

    throw new InvalidOperationException("no Pss line");
}

try
{
    // One provider per configuration, all alive at once; each run measures a boot and then a clone of each
    // configuration, so that the machine's load drifts over all three alike.
    var boots = new List<double>();
    await using var booting = Provider(templating: false);
    await using var plain = Provider(templating: true, standbyClones: 0);
    await using var standing = Provider(templating: true, standbyClones: standby);
    var configs = new[] { (Provider: plain, Measured: new Measured(0)), (Provider: standing, Measured: new Measured(standby)) };
    foreach (var (provider, _) in configs)
    {
        await (await provider.CreateAsync(spec, CancellationToken.None)).DisposeAsync(); // makes or verifies the template
    }

    var settle = TimeSpan.FromSeconds(1);
    for (var i = 0; i < runs; i++)
    {
        await Task.Delay(settle, TimeProvider.System);
        boots.Add(await FirstAnswerAsync(booting));
        foreach (var (provider, m) in configs)
        {
            await Task.Delay(settle, TimeProvider.System);
            m.Clones.Add(await FirstAnswerAsync(provider));
            m.Ratios.Add(m.Clones[^1] / boots[^1]);
            await Task.Delay(settle, TimeProvider.System);
            var t = Stopwatch.GetTimestamp();
            var one = await provider.CreateAsync(spec, CancellationToken.None);
            m.Ready.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            m.Cpu.Add(CpuMs(ProcessId(one)));
            await one.DisposeAsync();
        }
    }

    foreach (var (provider, m) in configs)
    {
        await MeasurePoolAsync(provider, m);
    }

    Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Trim()}, accelerator {accel}, {MemoryMb} MiB / 1 vCPU guests");
    Console.WriteLine();
    Console.WriteLine("| Measure | n | Min | Median | Max | Unit |");
    Console.WriteLine("| --- | ---: | ---: | ---: | ---: | --- |");
    Console.WriteLine(Row("cold boot -> first answer", boots, "ms"));
    foreach (var (_, m) in configs)
    {
        Console.WriteLine(Row($"clone -> first answer ({m.Label})", m.Clones, "ms"));
        Console.WriteLine(Row($"clone / boot to first answer, same run ({m.Label})", m.Ratios.Select(r => r * 1000).ToList(), "0.001 x"));
        Console.WriteLine(Row($"clone -> ready, CreateAsync ({m.Label})", m.Ready, "ms"));
        Console.WriteLine(Row($"QEMU CPU time of one clone at ready ({m.Label})", m.Cpu, "ms"));
        Console.WriteLine(Row($"pool of {PoolSize} filled, parallel CreateAsync ({m.Label})", m.Fills, "ms"));
        Console.WriteLine(Row($"PSS per idle clone, {PoolSize} running ({m.Label})", m.Pss, "MiB"));
        if (m.StandbyPss.Count > 0)
        {
            Console.WriteLine(Row($"PSS per standby QEMU ({m.Label})", m.StandbyPss, "MiB"));
            Console.WriteLine(Row($"QEMU CPU time of a waiting standby ({m.Label})", m.StandbyCpu, "ms"));
        }
    }

    Console.WriteLine();
    foreach (var (_, m) in configs)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{m.Label}: clone/boot to first answer (medians): {Median(m.Clones) / Median(boots):F3} (target <= 0.10)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{m.Label}: PSS per idle clone / guest RAM (median): {Median(m.Pss) / MemoryMb:F3} (target <= 0.5)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{m.Label}: pool of {PoolSize} / one clone to ready (medians): {Median(m.Fills) / Median(m.Ready):F2} (target <= 1.5)"));
        // with standbys for the whole pool, a clone's QEMU CPU after the request is its CPU at ready minus what its standby spent waiting
        var perClone = Median(m.Cpu) - (m.Standby >= PoolSize && m.StandbyCpu.Count > 0 ? Median(m.StandbyCpu) : 0);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{m.Label}: CPU floor of a pool fill: {PoolSize} x {perClone:F0} ms QEMU CPU after the request / {Environment.ProcessorCount} cores = {PoolSize * perClone / Environment.ProcessorCount:F0} ms = {PoolSize * perClone / Environment.ProcessorCount / Median(m.Ready):F2} x one clone to ready, before any load"));
    }

    return 0;
}
finally
{
    Directory.Delete(templates, recursive: true);
}

static int ProcessId(IInstance instance) => (int)instance.GetType().GetProperty("ProcessId")!.GetValue(instance)!;

async Task MeasurePoolAsync(KvmInstanceProvider provider, Measured m)
{
    for (var r = 0; r < rounds; r++)
    {
        await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
        var t = Stopwatch.GetTimestamp();
        var pool = await Task.WhenAll(Enumerable.Range(0, PoolSize).Select(_ => provider.CreateAsync(spec, CancellationToken.None).AsTask()));
        m.Fills.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        if (r == rounds - 1)
        {
            // idle for a while (the guests' own background work settles), then read what each QEMU costs
            await Task.Delay(TimeSpan.FromSeconds(5), TimeProvider.System);
            var pids = pool.Select(ProcessId).ToHashSet();
            m.Pss.AddRange(pids.Select(PssMiB));

            // the other QEMUs this process started are the standbys (of this provider: the others have none, or idle)
            foreach (var pid in ChildQemus().Where(p => !pids.Contains(p)))
            {
                if (m.Standby > 0)
                {
                    m.StandbyPss.Add(PssMiB(pid));
                    m.StandbyCpu.Add(CpuMs(pid));
                }
            }
        }

        await Task.WhenAll(pool.Select(i => i.DisposeAsync().AsTask()));
    }
}

internal sealed record Measured(int Standby)
{
    public string Label => Standby == 0 ? "no standby" : $"{Standby} standby";

    public List<double> Clones { get; } = [];

    public List<double> Ratios { get; } = [];

    public List<double> Ready { get; } = [];

    public List<double> Cpu { get; } = [];

    public List<double> Fills { get; } = [];

    public List<double> Pss { get; } = [];

    public List<double> StandbyPss { get; } = [];

    public List<double> StandbyCpu { get; } = [];
}
