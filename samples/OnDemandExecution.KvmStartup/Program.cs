// Measures KVM-provider start latency on this machine: cold boot -> first answer versus snapshot restore -> first
// answer, through the provider's public API. Build the guest image first (tools/build-guest-image.sh).
//
//   dotnet run -c Release --project samples/OnDemandExecution.KvmStartup -- [--runs 5] [--image artifacts/guest] [--accel Tcg|Kvm|Auto]
//
// Runs are sequential (a boot is CPU-bound: concurrent ones slow each other down). Prints a GitHub-markdown table.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.Kvm;

var runs = 5;
var image = "artifacts/guest";
var accel = KvmAccelerator.Auto;
string? append = null;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--runs": runs = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--image": image = args[i + 1]; break;
        case "--accel": accel = Enum.Parse<KvmAccelerator>(args[i + 1], ignoreCase: true); break;
        case "--append": append = args[i + 1]; break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

var snapshotDir = Directory.CreateTempSubdirectory("odx-kvm-measure-").FullName;
var function = new FunctionDefinition("echo", new ProgramFunctionCode("cat"));
var tenant = new TenantId("bench");
var payload = "ping"u8.ToArray();

KvmProviderOptions Options(bool snapshots) => new()
{
    KernelPath = Path.Combine(image, "vmlinuz"),
    InitrdPath = Path.Combine(image, "initrd.cpio.gz"),
    Accelerator = accel,
    UseSnapshots = snapshots,
    KernelArguments = append,
    SnapshotDirectory = snapshots ? snapshotDir : null,
};

async Task<(double StartMs, double FirstAnswerMs, List<double> InvokeMs)> OnceAsync(KvmInstanceProvider provider)
{
    var t0 = Stopwatch.GetTimestamp();
    var instance = await provider.CreateAsync(new InstanceSpec(), CancellationToken.None);
    var start = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    await using var _ = instance;
    await instance.LoadAsync(function, tenant, CancellationToken.None);
    var output = await instance.InvokeAsync(new InvocationRequest("echo", payload, tenant), CancellationToken.None);
    var first = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    if (Encoding.UTF8.GetString(output.Span) != "ping")
    {
        throw new InvalidOperationException("unexpected output");
    }

    var invokes = new List<double>();
    for (var i = 0; i < 10; i++)
    {
        var t = Stopwatch.GetTimestamp();
        await instance.InvokeAsync(new InvocationRequest("echo", payload, tenant), CancellationToken.None);
        invokes.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
    }

    return (start, first, invokes);
}

static double Median(IEnumerable<double> xs)
{
    var s = xs.Order().ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
}

var boots = new List<(double StartMs, double FirstAnswerMs, List<double> InvokeMs)>();
await using (var plain = new KvmInstanceProvider(Microsoft.Extensions.Options.Options.Create(Options(snapshots: false))))
{
    for (var i = 0; i < runs; i++)
    {
        boots.Add(await OnceAsync(plain));
    }
}

var restores = new List<(double StartMs, double FirstAnswerMs, List<double> InvokeMs)>();
double firstMs;
await using (var snap = new KvmInstanceProvider(Microsoft.Extensions.Options.Options.Create(Options(snapshots: true))))
{
    var t = Stopwatch.GetTimestamp();
    await (await snap.CreateAsync(new InstanceSpec(), CancellationToken.None)).DisposeAsync(); // boot + save the snapshot
    firstMs = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
    for (var i = 0; i < runs; i++)
    {
        restores.Add(await OnceAsync(snap));
    }
}

var kvm = accel == KvmAccelerator.Kvm || (accel == KvmAccelerator.Auto && File.Exists("/dev/kvm"));
Console.WriteLine($"Accelerator option: {accel} ({(kvm ? "KVM if QEMU can use /dev/kvm, else TCG" : "TCG")}); {Environment.ProcessorCount} cores; {runs} sequential runs each; 256 MiB, 1 vCPU.");
Console.WriteLine();
Console.WriteLine("| Start | Median to ready (ms) | Min | Max | Median to first answer (ms) | Invoke round trip, median (ms) |");
Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
foreach (var (name, xs) in new[] { ("cold boot", boots), ("snapshot restore", restores) })
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {Median(xs.Select(x => x.StartMs)):F0} | {xs.Min(x => x.StartMs):F0} | {xs.Max(x => x.StartMs):F0} | {Median(xs.Select(x => x.FirstAnswerMs)):F0} | {Median(xs.SelectMany(x => x.InvokeMs)):F1} |"));
}

Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"Restore / boot (to first answer): {Median(restores.Select(x => x.FirstAnswerMs)) / Median(boots.Select(x => x.FirstAnswerMs)):F2}. The first guest (boot, then save the snapshot) took {firstMs:F0} ms; snapshot {new DirectoryInfo(snapshotDir).GetFiles("*.snap").Sum(f => f.Length) / (1024.0 * 1024):F0} MiB."));
Directory.Delete(snapshotDir, recursive: true);
return 0;
