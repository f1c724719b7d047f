using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using OnDemandExecution;

namespace OnDemandExecution.Benchmarks;

/// <summary>
/// What the executor costs on a warm hit, against what a user would write instead: call the handler directly behind a
/// <see cref="SemaphoreSlim"/> concurrency limit (the baseline), or call it with no limit at all.
/// </summary>
[MemoryDiagnoser]
public class InvokeBenchmarks
{
    private static readonly ReadOnlyMemory<byte> Payload = new byte[64];
    private static readonly FunctionHandler Handler = static (ctx, _) => new ValueTask<ReadOnlyMemory<byte>>(ctx.Payload);

    private readonly SemaphoreSlim _semaphore = new(64, 64);
    private ServiceProvider _services = null!;
    private IFunctionExecutor _executor = null!;
    private InvocationRequest _request = null!;
    private FunctionContext _context = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        var services = new ServiceCollection();
        services.AddOnDemandExecution(o => o.WarmingPoolSize = 1).AddFunction("echo", Handler);
        _services = services.BuildServiceProvider();
        _executor = _services.GetRequiredService<IFunctionExecutor>();
        _request = new InvocationRequest("echo", Payload, new TenantId("bench"));
        _context = new FunctionContext(_request, "direct");
        await _executor.InvokeAsync(_request); // load the instance: every measured call is a warm hit
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _services.DisposeAsync();
        _semaphore.Dispose();
    }

    [Benchmark(Baseline = true, Description = "handler behind SemaphoreSlim")]
    public async Task<int> SemaphoreGatedHandler()
    {
        await _semaphore.WaitAsync();
        try
        {
            return (await Handler(_context, CancellationToken.None)).Length;
        }
        finally
        {
            _semaphore.Release();
        }
    }

    [Benchmark(Description = "handler, direct call")]
    public async Task<int> DirectHandler() => (await Handler(_context, CancellationToken.None)).Length;

    [Benchmark(Description = "IFunctionExecutor warm hit")]
    public async Task<int> ExecutorWarmHit() => (await _executor.InvokeAsync(_request)).Output.Length;
}
