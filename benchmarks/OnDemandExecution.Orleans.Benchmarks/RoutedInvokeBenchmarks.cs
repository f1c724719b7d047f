using System.Net;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;

namespace OnDemandExecution.Orleans.Benchmarks;

/// <summary>
/// What routing costs on a warm hit: two silos on this machine (localhost clustering, real TCP between them). The
/// baseline is the silo's own <see cref="IFunctionExecutor"/>; the routed calls go through
/// <see cref="IClusterFunctionExecutor"/>, once to an instance on the same silo and once to an instance on the other.
/// </summary>
[MemoryDiagnoser]
public class RoutedInvokeBenchmarks
{
    private const int BasePort = 23_111;
    private static readonly ReadOnlyMemory<byte> Payload = new byte[64];
    private static readonly TenantId Tenant = new("bench");

    private readonly List<IHost> _hosts = [];
    private IFunctionExecutor _local = null!;
    private IClusterFunctionExecutor _cluster = null!;
    private InvocationRequest _here = null!;
    private InvocationRequest _there = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        for (var i = 0; i < 2; i++)
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.SetMinimumLevel(LogLevel.Error);
            builder.Services.AddOnDemandExecution(o => o.WarmingPoolSize = 0)
                .AddFunction("here", static (ctx, _) => new ValueTask<ReadOnlyMemory<byte>>(ctx.Payload))
                .AddFunction("there", static (ctx, _) => new ValueTask<ReadOnlyMemory<byte>>(ctx.Payload));
            var index = i;
            builder.UseOrleans(silo => silo
                .UseLocalhostClustering(BasePort + index, BasePort + 100 + index, new IPEndPoint(IPAddress.Loopback, BasePort))
                .UseOnDemandExecutionCluster(o => o.PublishInterval = TimeSpan.FromMilliseconds(100)));
            var host = builder.Build();
            await host.StartAsync();
            _hosts.Add(host);
        }

        _local = _hosts[0].Services.GetRequiredService<IFunctionExecutor>();
        _cluster = _hosts[0].Services.GetRequiredService<IClusterFunctionExecutor>();
        _here = new InvocationRequest("here", Payload, Tenant);
        _there = new InvocationRequest("there", Payload, Tenant);
        await Preload(_hosts[0], "here");
        await Preload(_hosts[1], "there");
        for (var i = 0; i < 100 && !(await Routes(_here, _cluster.HostName) && await Routes(_there, _hosts[1].Services.GetRequiredService<IClusterFunctionExecutor>().HostName)); i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    }

    private static async Task Preload(IHost host, string function)
    {
        var catalog = host.Services.GetRequiredService<IFunctionCatalog>();
        catalog.TryGetFunction(function, out var definition);
        await host.Services.GetRequiredService<IInstancePoolManager>().PreloadAsync(definition!, Tenant, 1, TimeSpan.FromHours(1));
    }

    private async Task<bool> Routes(InvocationRequest request, string expectedHost)
    {
        var routed = await _cluster.InvokeRoutedAsync(request);
        return routed.Host == expectedHost && routed.Result.StartKind == StartKind.Warm;
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        for (var i = _hosts.Count - 1; i >= 0; i--)
        {
            await _hosts[i].StopAsync();
            _hosts[i].Dispose();
        }
    }

    [Benchmark(Baseline = true, Description = "IFunctionExecutor warm hit (local)")]
    public async Task<int> LocalWarmHit() => (await _local.InvokeAsync(_here)).Output.Length;

    [Benchmark(Description = "routed, warm instance on this silo")]
    public async Task<int> RoutedToThisSilo() => (await _cluster.InvokeAsync(_here)).Output.Length;

    [Benchmark(Description = "routed, warm instance on the other silo")]
    public async Task<int> RoutedToOtherSilo() => (await _cluster.InvokeAsync(_there)).Output.Length;
}
