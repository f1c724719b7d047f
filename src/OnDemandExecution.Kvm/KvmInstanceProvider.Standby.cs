using System.Collections.Concurrent;
using OnDemandExecution.Kvm.Diagnostics;
using OnDemandExecution.Kvm.Sandbox;

namespace OnDemandExecution.Kvm;

/// <content>
/// Standby clones (<see cref="KvmProviderOptions.StandbyClones"/>): QEMU processes launched ahead for a template, up to
/// the point of receiving its device state. A restore completes one instead of starting QEMU, then launches the next.
/// </content>
public sealed partial class KvmInstanceProvider
{
    private readonly ConcurrentDictionary<VmTemplate, StandbySet> _standbys = new();

    /// <summary>Standby clones launched and ready, over every template (for tests and diagnostics).</summary>
    internal int StandbyCount => _standbys.Values.Sum(s => s.Ready.Count);

    /// <summary>The QEMU process ids of the ready standbys (for tests and diagnostics).</summary>
    internal int[] StandbyProcessIds() => [.. _standbys.Values.SelectMany(s => s.Ready).Select(s => s.Instance.ProcessId)];

    /// <summary>Restores a clone of <paramref name="template"/>: into a standby when one is ready, else into a new QEMU; then tops the standbys up.</summary>
    private async Task<KvmInstance> RestoreAsync(InstanceSpec spec, bool kvm, VmTemplate template, byte[] state, CancellationToken cancellationToken)
    {
        var started = TimeProvider.GetTimestamp();
        var set = _standbys.GetOrAdd(template, _ => new StandbySet());
        Interlocked.Increment(ref set.Restoring);
        var restored = false;
        try
        {
            var instance = await RestoreAsync(set, spec, kvm, template, state, started, cancellationToken).ConfigureAwait(false);
            restored = true;
            return instance;
        }
        finally
        {
            // Launching standbys costs QEMU's start-up CPU: while other clones of the template are being restored, keep
            // just one coming (if none is), and top up fully once the last of them is done (a pool fill is not slowed).
            // After a failed restore the template may be discarded: nothing is launched for it.
            var others = Interlocked.Decrement(ref set.Restoring);
            if (restored)
            {
                TopUpStandbys(set, template, spec.MemoryMb, spec.VCpuCount, kvm, others == 0 ? Options.StandbyClones : Math.Min(1, Options.StandbyClones));
            }
        }
    }

    private async Task<KvmInstance> RestoreAsync(StandbySet set, InstanceSpec spec, bool kvm, VmTemplate template, byte[] state, long started, CancellationToken cancellationToken)
    {
        KvmInstance? instance = null;
        while (instance is null && set.Ready.TryDequeue(out var standby))
        {
            if (standby.Generation != template.Generation || standby.Instance.IsDead)
            {
                await standby.Instance.DisposeAsync().ConfigureAwait(false);
                continue;
            }

            try
            {
                await standby.Instance.CompleteStartAsync(state, seed: true, Options.RestoreTimeout, started, "standby", cancellationToken).ConfigureAwait(false);
                instance = standby.Instance;
            }
            catch (InstanceProviderException ex) when (!cancellationToken.IsCancellationRequested)
            {
                // disposed by the failed start; the clone gets a QEMU of its own below
                KvmLog.StandbyFailed(Logger, template.RamPath, ex.Message, ex);
                break;
            }
        }

        return instance is null
            ? await StartAsync(spec, kvm, template, asTemplate: false, state, cancellationToken).ConfigureAwait(false)
            : await TrackAsync(instance).ConfigureAwait(false);
    }

    /// <summary>Launches standbys in the background until <paramref name="target"/> are ready or on their way.</summary>
    private void TopUpStandbys(StandbySet set, VmTemplate template, int memoryMb, int vCpus, bool kvm, int target)
    {
        while (Volatile.Read(ref _disposed) == 0)
        {
            var launching = Volatile.Read(ref set.Launching);
            if (set.Ready.Count + launching >= target)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref set.Launching, launching + 1, launching) == launching)
            {
                _ = LaunchStandbyAsync(set, template, memoryMb, vCpus, kvm);
            }
        }
    }

    private async Task LaunchStandbyAsync(StandbySet set, VmTemplate template, int memoryMb, int vCpus, bool kvm)
    {
        var generation = template.Generation;
        try
        {
            await Task.Yield(); // never on the restoring caller's path
            var (id, dir, launch) = NewLaunch(memoryMb, vCpus, kvm, template, asTemplate: false, incoming: true);
            var instance = await KvmInstance.LaunchAsync(this, id, dir, launch, Options.RestoreTimeout, CancellationToken.None).ConfigureAwait(false);
            set.Ready.Enqueue(new Standby(instance, generation));
            if (Volatile.Read(ref _disposed) != 0)
            {
                await DisposeStandbysAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is InstanceProviderException or IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            if (Volatile.Read(ref _disposed) == 0)
            {
                KvmLog.StandbyFailed(Logger, template.RamPath, ex.Message, ex);
            }
        }
        finally
        {
            Interlocked.Decrement(ref set.Launching);
        }
    }

    private async Task DisposeStandbysAsync()
    {
        var all = new List<Task>();
        foreach (var set in _standbys.Values)
        {
            while (set.Ready.TryDequeue(out var standby))
            {
                all.Add(standby.Instance.DisposeAsync().AsTask());
            }
        }

        await Task.WhenAll(all).ConfigureAwait(false);
    }

    private sealed class StandbySet
    {
        public readonly ConcurrentQueue<Standby> Ready = new();
        public int Launching;
        public int Restoring;
    }

    private readonly record struct Standby(KvmInstance Instance, int Generation);
}
