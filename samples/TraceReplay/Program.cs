// Replays a trace with keep-alive policies on virtual time, prints the results side by side and plots cold-start %
// against idle memory (one point per policy). `--help` lists the options; docs/simulator.md explains the accounting.
//
//   dotnet run -c Release --project samples/TraceReplay                        the timer-heavy synthetic preset
//   ... -- --azure D/invocations_per_function_md.anon.d01.csv --durations F --memory F     a day of Azure Functions traffic
using OnDemandExecution.Simulation;
using TraceReplay;

return Cli.Invoke(args, Replay.Run);
