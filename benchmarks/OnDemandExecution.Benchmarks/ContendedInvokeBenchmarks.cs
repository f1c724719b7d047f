using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;

namespace OnDemandExecution.Benchmarks;

/// <summary>
/// <see cref="InvokeBenchmarks"/> under contention: one caller per core, all calling the same function, each making
/// <see cref="CallsPerCaller"/> calls per operation (so Mean is per call). The baseline is the same handler behind a
/// shared <see cref="SemaphoreSlim"/>, what a user would write instead.
/// </summary>
[MemoryDiagnoser]
public class ContendedInvokeBenchmarks
{
    private const int CallsPerCaller = 1_000;
    private static readonly ReadOnlyMemory<byte> Payload = new byte[64];
    private static readonly FunctionHandler Handler = static (ctx, _) => new ValueTask<ReadOnlyMemory<byte>>(ctx.Payload);
    private static readonly int Callers = Environment.ProcessorCount;

    private readonly SemaphoreSlim _semaphore = new(64, 64);
    private ServiceProvider _services = null!;
    private IFunctionExecutor _executor = null!;
    private InvocationRequest _request = null!;
    private FunctionContext _context = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        var services = new ServiceCollection();
        services.AddOnDemandExecution(o => o.WarmingPoolSize = Callers).AddFunction("echo", Handler);
        _services = services.BuildServiceProvider();
        _executor = _services.GetRequiredService<IFunctionExecutor>();
        _request = new InvocationRequest("echo", Payload, new TenantId("bench"));
        _context = new FunctionContext(_request, "direct");
        await RunCallersAsync(() => _executor.InvokeAsync(_request).AsTask()); // one loaded instance per caller: warm hits from here on
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _services.DisposeAsync();
        _semaphore.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = CallsPerCaller, Description = "handler behind SemaphoreSlim, one caller per core")]
    public Task SemaphoreGatedHandler() => RunCallersAsync(async () =>
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
    });

    [Benchmark(OperationsPerInvoke = CallsPerCaller, Description = "IFunctionExecutor warm hit, one caller per core")]
    public Task ExecutorWarmHit() => RunCallersAsync(async () => (await _executor.InvokeAsync(_request)).Output.Length);

    private static async Task RunCallersAsync<T>(Func<Task<T>> call)
    {
        var callers = new Task[Callers];
        for (var i = 0; i < callers.Length; i++)
        {
            callers[i] = Task.Run(async () =>
            {
                for (var n = 0; n < CallsPerCaller; n++)
                {
                    await call();
                }
            });
        }

        await Task.WhenAll(callers);
    }
}
