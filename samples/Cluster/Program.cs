// A 3-silo OnDemandExecution cluster in one process (localhost clustering): each silo is a host running the single-host
// library with its own in-process provider; calls enter at random silos and are routed to warm capacity. Prints each
// silo's counters and the cluster's totals.
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OnDemandExecution;
using OnDemandExecution.Orleans;
using Orleans.Hosting;

const int Silos = 3;
const int BasePort = 22_111;
string[] functions = ["resize", "thumbnail", "ocr", "transcode", "notify", "bill"];
string[] tenants = ["acme", "globex", "initech", "umbrella"];

var hosts = new List<IHost>();
for (var i = 0; i < Silos; i++)
{
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Orleans", LogLevel.Error);
    var execution = builder.Services.AddOnDemandExecution(o => o.WarmingPoolSize = 2);
    foreach (var name in functions)
    {
        execution.AddFunction(name, async (ctx, ct) =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(2), ct);
            return ctx.Payload;
        });
    }

    var index = i;
    builder.UseOrleans(silo => silo
        .UseLocalhostClustering(BasePort + index, BasePort + 100 + index, new IPEndPoint(IPAddress.Loopback, BasePort))
        .Configure<Orleans.Configuration.SiloOptions>(o => o.SiloName = $"host-{index}")
        .UseOnDemandExecutionCluster(o => o.PublishInterval = TimeSpan.FromMilliseconds(200)));
    var host = builder.Build();
    await host.StartAsync();
    hosts.Add(host);
}

var executors = hosts.Select(h => h.Services.GetRequiredService<IClusterFunctionExecutor>()).ToArray();
await Task.Delay(TimeSpan.FromSeconds(1)); // a few publish intervals: every silo sees every host

// Traffic: 8 waves of 60 calls over 4 tenants x 6 functions, each call entering at a random silo. Between waves the
// hosts publish, so later waves find the instances the earlier ones left warm, wherever they are.
var random = new Random(42);
var routes = new Dictionary<RouteKind, int>();
var starts = new Dictionary<StartKind, int>();
var failures = 0;
for (var wave = 0; wave < 8; wave++)
{
    var calls = Enumerable.Range(0, 60).Select(_ =>
    {
        var entry = executors[random.Next(Silos)];
        var request = new InvocationRequest(functions[random.Next(functions.Length)], Encoding.UTF8.GetBytes("payload"), new TenantId(tenants[random.Next(tenants.Length)]));
        return entry.InvokeRoutedAsync(request).AsTask();
    }).ToList();
    foreach (var call in calls)
    {
        try
        {
            var routed = await call;
            routes[routed.Route] = routes.GetValueOrDefault(routed.Route) + 1;
            starts[routed.Result.StartKind] = starts.GetValueOrDefault(routed.Result.StartKind) + 1;
        }
        catch (OnDemandExecutionException)
        {
            failures++;
        }
    }

    await Task.Delay(TimeSpan.FromMilliseconds(400));
}

Console.WriteLine($"{"host",-8} {"entered",8} {"routed away",12} {"served",7} {"for others",11} {"warm",5} {"pool",5} {"cold",5} {"stale",6} {"reports",8} {"live",5}");
var total = default(ClusterHostStatistics);
long live = 0;
for (var i = 0; i < Silos; i++)
{
    var s = executors[i].GetStatistics();
    var instances = hosts[i].Services.GetRequiredService<IInstancePoolManager>().GetSnapshot().Live;
    Console.WriteLine($"{executors[i].HostName,-8} {s.Entered,8} {s.RoutedAway,12} {s.Served,7} {s.ServedForOthers,11} {s.Warm,5} {s.WarmPool,5} {s.Cold,5} {s.StaleRoutes,6} {s.ReportsPublished,8} {instances,5}");
    total = new ClusterHostStatistics(total.Entered + s.Entered, total.RoutedAway + s.RoutedAway, total.Served + s.Served,
        total.ServedForOthers + s.ServedForOthers, total.Warm + s.Warm, total.WarmPool + s.WarmPool, total.Cold + s.Cold,
        total.StaleRoutes + s.StaleRoutes, total.Failed + s.Failed, total.HostUnavailable + s.HostUnavailable,
        total.PreloadsForwarded + s.PreloadsForwarded, total.ReportsPublished + s.ReportsPublished);
    live += instances;
}

Console.WriteLine($"{"cluster",-8} {total.Entered,8} {total.RoutedAway,12} {total.Served,7} {total.ServedForOthers,11} {total.Warm,5} {total.WarmPool,5} {total.Cold,5} {total.StaleRoutes,6} {total.ReportsPublished,8} {live,5}");
Console.WriteLine($"routes: {string.Join(", ", routes.OrderBy(r => r.Key).Select(r => $"{r.Key} {r.Value}"))}; starts: {string.Join(", ", starts.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value}"))}; failed: {failures}");
Console.WriteLine($"warm starts: {100.0 * total.Warm / Math.Max(1, total.Served):F1}% of {total.Served} calls");

for (var i = hosts.Count - 1; i >= 0; i--)
{
    await hosts[i].StopAsync();
    hosts[i].Dispose();
}

if (failures > 0 || total.Served != total.Entered)
{
    Console.Error.WriteLine($"sample: {failures} calls failed, {total.Entered} entered, {total.Served} served");
    return 1;
}

return 0;
