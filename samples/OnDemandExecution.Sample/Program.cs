// OnDemandExecution sample: a host with the in-process provider, functions registered as a delegate, as a handler type
// with constructor injection and as an assembly loaded into collectible load contexts, about 4.5 s of mixed traffic
// from three tenants, then a short phase showing sidecars, calls by capability and idempotent execution, then a summary
// of how each call was served. Exit code 0 when nothing unexpected happened.
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.Sample;

// The build copies OnDemandExecution.SampleFunctions into functions/ beside this program (see the .csproj).
var functionsAssembly = Path.Combine(AppContext.BaseDirectory, "functions", "OnDemandExecution.SampleFunctions.dll");
if (!File.Exists(functionsAssembly))
{
    Console.Error.WriteLine($"{functionsAssembly} is missing: build the sample project, which copies it there.");
    return 2;
}

// Listen before the host creates the meter, to miss nothing.
using var meter = new MeterCollector();

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);

// The executor logs each rejected or timed-out request at Warning; this workload provokes rejections on purpose and
// counts them in the summary, so only its errors are shown.
builder.Logging.AddFilter("OnDemandExecution.Execution", LogLevel.Error);

// The features phase tries leaked sidecar handles across tenants on purpose; each refusal is a warning (event 63).
builder.Logging.AddFilter("OnDemandExecution.Sidecars", LogLevel.Error);
builder.Services.AddSingleton<PriceList>();
builder.Services
    .AddOnDemandExecution(o =>
    {
        o.WarmingPoolSize = 4;
        o.KeepAlive = TimeSpan.FromSeconds(2);
        o.MaintenanceInterval = TimeSpan.FromMilliseconds(200);
        o.MaxInstances = 48;
    })
    .AddInProcessProvider()
    .AddFunction(Workload.HashFunction, Workload.HashAsync)
    .AddFunction<QuoteHandler>(Workload.QuoteFunction, f => f with { KeepAlive = Workload.QuoteKeepAlive })
    .AddAssemblyFunction(
        Workload.WordCountFunction,
        functionsAssembly,
        "OnDemandExecution.SampleFunctions.WordCountHandler",
        f => f with
        {
            MaxConcurrency = Workload.WordCountMaxConcurrency,
            MaxQueueLength = Workload.WordCountMaxQueueLength,
            Timeout = TimeSpan.FromSeconds(5),
        })
    .AddFunction(Workload.ThumbnailFunction, Workload.ThumbnailAsync, f => f with { MemoryMb = Workload.ThumbnailMemoryMb })
    .AddFeatureFunctions() // sidecars, calls by capability, idempotent execution: see Features.cs
    .AddPlatformFunctions(Workload.TenantIds[0]) // a second provider, a provisioned function, the health check: see Platform.cs
    .ConfigureCapabilities(c => (c.DefaultCodeLoadCost, c.DefaultProvisioningCost) = (TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1))); // in-process priors

try
{
    using var host = builder.Build();
    var executor = host.Services.GetRequiredService<IFunctionExecutor>();
    var pools = host.Services.GetRequiredService<IInstancePoolManager>();
    var options = host.Services.GetRequiredService<IOptions<OnDemandExecutionOptions>>().Value;

    await host.StartAsync();
    await pools.PrewarmAsync(); // fill the warming pool before the traffic (the maintenance service does too, in the background)

    var stats = new CallStats();
    var clock = Stopwatch.StartNew();
    await new Workload(executor, stats).RunAsync(CancellationToken.None);
    clock.Stop();

    var atEnd = pools.GetSnapshot();
    var features = await Features.RunAsync(host.Services, Workload.TenantIds); // a short phase after the traffic
    var platform = await Platform.RunAsync(host.Services, Workload.TenantIds, Workload.TenantIds[0]);
    await host.StopAsync();
    var afterStop = pools.GetSnapshot();

    var ok = Summary.Print(Console.Out, options, stats, clock.Elapsed, atEnd, afterStop, meter, features);
    var platformOk = platform.Print(Console.Out);
    Console.WriteLine($"Platform features {(platformOk ? "as intended" : "NOT as intended")}.");
    return ok && platformOk ? 0 : 1;
}
catch (Exception ex)
{
    Console.Error.WriteLine($"The sample failed: {ex}");
    return 1;
}
