using BenchmarkDotNet.Attributes;
using OnDemandExecution.Kvm;

namespace OnDemandExecution.Oci.Benchmarks;

/// <summary>
/// A new instance until its agent answers: an OCI container (runc create + start, agent connects, HELLO + SEED) against
/// the KVM provider's snapshot restore (QEMU -incoming until HELLO), the fastest way the KVM provider has. One instance
/// per iteration; it is destroyed after the iteration, outside the measurement.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(InProcessMonitoringConfig))]
public class StartBenchmarks
{
    private readonly string _snapshots = Directory.CreateTempSubdirectory("odx-bench-snap").FullName;
    private OciInstanceProvider _oci = null!;
    private KvmInstanceProvider _kvm = null!;
    private IInstance? _made;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _oci = Providers.Oci();
        _kvm = Providers.Kvm(_snapshots);
        await (await _kvm.CreateAsync(new InstanceSpec(), default)).DisposeAsync(); // boots and saves the snapshot once
        await (await _oci.CreateAsync(new InstanceSpec(), default)).DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "KVM snapshot restore -> agent ready")]
    public async Task KvmRestoreToReady() => _made = await _kvm.CreateAsync(new InstanceSpec(), default);

    [Benchmark(Description = "OCI runc create+start -> agent ready")]
    public async Task OciCreateToReady() => _made = await _oci.CreateAsync(new InstanceSpec(), default);

    [IterationCleanup]
    public void Cleanup()
    {
        _made?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _made = null;
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _oci.DisposeAsync();
        await _kvm.DisposeAsync();
        Directory.Delete(_snapshots, recursive: true);
    }
}
