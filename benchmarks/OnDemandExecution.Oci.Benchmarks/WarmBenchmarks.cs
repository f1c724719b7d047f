using BenchmarkDotNet.Attributes;
using OnDemandExecution.Kvm;

namespace OnDemandExecution.Oci.Benchmarks;

/// <summary>
/// Work on a ready instance: one invoke round trip (a 4-byte payload through <c>cat</c>: the agent forks
/// <c>/bin/sh -c cat</c>) and one recycle (RESET, then the same function loaded again), OCI against a KVM guest.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(InProcessMonitoringConfig))]
public class WarmBenchmarks
{
    private readonly string _snapshots = Directory.CreateTempSubdirectory("odx-bench-snap").FullName;
    private OciInstanceProvider _ociProvider = null!;
    private KvmInstanceProvider _kvmProvider = null!;
    private IInstance _oci = null!;
    private IInstance _kvm = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _ociProvider = Providers.Oci();
        _kvmProvider = Providers.Kvm(_snapshots);
        _oci = await _ociProvider.CreateAsync(new InstanceSpec(), default);
        _kvm = await _kvmProvider.CreateAsync(new InstanceSpec(), default);
        await _oci.LoadAsync(Providers.Echo, Providers.Request.Tenant, default);
        await _kvm.LoadAsync(Providers.Echo, Providers.Request.Tenant, default);
    }

    [Benchmark(Baseline = true, Description = "KVM invoke round trip")]
    public ValueTask<ReadOnlyMemory<byte>> KvmInvoke() => _kvm.InvokeAsync(Providers.Request, default);

    [Benchmark(Description = "OCI invoke round trip")]
    public ValueTask<ReadOnlyMemory<byte>> OciInvoke() => _oci.InvokeAsync(Providers.Request, default);

    [Benchmark(Description = "KVM recycle + reload")]
    public async Task KvmRecycle()
    {
        await _kvm.RecycleAsync(default);
        await _kvm.LoadAsync(Providers.Echo, Providers.Request.Tenant, default);
    }

    [Benchmark(Description = "OCI recycle + reload")]
    public async Task OciRecycle()
    {
        await _oci.RecycleAsync(default);
        await _oci.LoadAsync(Providers.Echo, Providers.Request.Tenant, default);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _ociProvider.DisposeAsync();
        await _kvmProvider.DisposeAsync();
        Directory.Delete(_snapshots, recursive: true);
    }
}
