using System.Globalization;
using BenchmarkDotNet.Running;
using OnDemandExecution.Oci.Benchmarks;

// OCI containers against KVM guests on the same machine, in the same run (needs root, runc, artifacts/oci-bundle and
// artifacts/guest: tools/build-oci-bundle.sh and tools/build-guest-image.sh).
//   dotnet run -c Release --project benchmarks/OnDemandExecution.Oci.Benchmarks -- --filter '*'     start, invoke, recycle
//   dotnet run -c Release --project benchmarks/OnDemandExecution.Oci.Benchmarks -- --memory 8       Pss per idle instance
if (args.Length >= 1 && args[0] == "--memory")
{
    await IdleMemory.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(StartBenchmarks).Assembly).Run(args);
