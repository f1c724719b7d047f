// Measures the KVM provider's VM templating through its public API, in one run on one machine:
//   1. cold boot -> first answer (UseSnapshots = false), n runs;
//   2. clone of the template -> first answer, n runs;
//   3. a warming pool of 8 filled: 8 clones created at once -> all ready, r rounds, against one clone -> ready;
//   4. PSS of each of 8 idle clones (from /proc/PID/smaps_rollup), against the guest's RAM.
// "First answer" = CreateAsync + LoadAsync(cat) + the first InvokeAsync. Runs are sequential except the pool fills.
//
//   dotnet run -c Release --project benchmarks/OnDemandExecution.Kvm.Benchmarks -- [--runs 5] [--rounds 3] [--image artifacts/guest] [--accel Tcg]
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.Kvm;

var runs = 5;
var rounds = 3;
var image = "artifacts/guest";
var accel = KvmAccelerator.Tcg;
const int PoolSize = 8;
const int MemoryMb = 256;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--runs": runs = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--rounds": rounds = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--image": image = args[i + 1]; break;
        case "--accel": accel = Enum.Parse<KvmAccelerator>(args[i + 1], ignoreCase: true); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

var templates = Directory.CreateTempSubdirectory("odx-kvm-bench-").FullName;
var function = new FunctionDefinition("echo", new ProgramFunctionCode("cat"));
var tenant = new TenantId("bench");
var spec = new InstanceSpec { MemoryMb = MemoryMb };

KvmInstanceProvider Provider(bool templating) => new(Options.Create(new KvmProviderOptions
{
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
    var boots = new List<double>();
    await using (var booting = Provider(templating: false))
    {
        for (var i = 0; i < runs; i++)
        {
            boots.Add(await FirstAnswerAsync(booting));
        }
    }

    var clones = new List<double>();
    var ready = new List<double>();
    var fills = new List<double>();
    var pss = new List<double>();
    var cpu = new List<double>();
    await using (var provider = Provider(templating: true))
    {
        var t = Stopwatch.GetTimestamp();
        await (await provider.CreateAsync(spec, CancellationToken.None)).DisposeAsync(); // makes the template
        var templateMs = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
        for (var i = 0; i < runs; i++)
        {
            clones.Add(await FirstAnswerAsync(provider));
            t = Stopwatch.GetTimestamp();
            var one = await provider.CreateAsync(spec, CancellationToken.None);
            ready.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            cpu.Add(CpuMs((int)one.GetType().GetProperty("ProcessId")!.GetValue(one)!));
            await one.DisposeAsync();
        }

        for (var r = 0; r < rounds; r++)
        {
            t = Stopwatch.GetTimestamp();
            var pool = await Task.WhenAll(Enumerable.Range(0, PoolSize).Select(_ => provider.CreateAsync(spec, CancellationToken.None).AsTask()));
            fills.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            if (r == rounds - 1)
            {
                // idle for a while (the guests' own background work settles), then read what each QEMU costs
                await Task.Delay(TimeSpan.FromSeconds(5), TimeProvider.System);
                foreach (var instance in pool)
                {
                    var pid = (int)instance.GetType().GetProperty("ProcessId")!.GetValue(instance)!;
                    pss.Add(PssMiB(pid));
                }
            }

            await Task.WhenAll(pool.Select(i => i.DisposeAsync().AsTask()));
        }

        Console.WriteLine($"template made (boot + save) in {templateMs:F0} ms");
    }

    Console.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Trim()}, accelerator {accel}, {MemoryMb} MiB / 1 vCPU guests");
    Console.WriteLine();
    Console.WriteLine("| Measure | n | Min | Median | Max | Unit |");
    Console.WriteLine("| --- | ---: | ---: | ---: | ---: | --- |");
    Console.WriteLine(Row("cold boot -> first answer", boots, "ms"));
    Console.WriteLine(Row("clone -> first answer", clones, "ms"));
    Console.WriteLine(Row("clone -> ready (CreateAsync)", ready, "ms"));
    Console.WriteLine(Row("QEMU CPU time of one clone at ready", cpu, "ms"));
    Console.WriteLine(Row($"pool of {PoolSize} filled (parallel CreateAsync)", fills, "ms"));
    Console.WriteLine(Row($"PSS per idle clone ({PoolSize} running)", pss, "MiB"));
    Console.WriteLine();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"clone/boot to first answer (medians): {Median(clones) / Median(boots):F3} (target <= 0.10)"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"PSS per idle clone / guest RAM (median): {Median(pss) / MemoryMb:F3} (target <= 0.5)"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pool of {PoolSize} / one clone to ready (medians): {Median(fills) / Median(ready):F2} (target <= 1.5)"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"CPU floor of a pool fill: {PoolSize} x {Median(cpu):F0} ms QEMU CPU / {Environment.ProcessorCount} cores = {PoolSize * Median(cpu) / Environment.ProcessorCount:F0} ms = {PoolSize * Median(cpu) / Environment.ProcessorCount / Median(ready):F2} x one clone to ready, before any load"));
    return 0;
}
finally
{
    Directory.Delete(templates, recursive: true);
}
