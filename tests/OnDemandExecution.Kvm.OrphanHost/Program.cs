// Usage: OrphanHost KERNEL INITRD STATE_ROOT SNAPSHOT_DIR COUNT
// Starts COUNT guests with a KVM provider whose state directory is STATE_ROOT, prints "READY pid pid...", then waits
// forever: the orphan-reclaim test SIGKILLs this process so that the provider never disposes its guests.
using Microsoft.Extensions.Options;
using OnDemandExecution;
using OnDemandExecution.Kvm;

var provider = new KvmInstanceProvider(Options.Create(new KvmProviderOptions
{
    KernelPath = args[0],
    InitrdPath = args[1],
    WorkingDirectory = args[2],
    SnapshotDirectory = args[3],
    Accelerator = KvmAccelerator.Tcg,
    BootTimeout = TimeSpan.FromMinutes(3),
    RestoreTimeout = TimeSpan.FromMinutes(2),
}));
var pids = new List<int>();
for (var i = 0; i < int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture); i++)
{
    var instance = await provider.CreateAsync(new InstanceSpec(), CancellationToken.None);
    pids.Add(ProcessIdOf(instance));
}

Console.WriteLine("READY " + string.Join(' ', pids));
await Task.Delay(Timeout.Infinite);

static int ProcessIdOf(IInstance instance)
    => (int)instance.GetType().GetProperty("ProcessId")!.GetValue(instance)!;
