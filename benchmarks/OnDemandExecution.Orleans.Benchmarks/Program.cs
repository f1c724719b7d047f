using BenchmarkDotNet.Running;
using OnDemandExecution.Orleans.Benchmarks;

if (args.Length > 0 && args[0] == "--fleet")
{
    return await FleetSimulation.RunAsync(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(RoutedInvokeBenchmarks).Assembly).Run(args);
return 0;
