using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using OnDemandExecution.Kvm.Diagnostics;
using OnDemandExecution.Kvm.Qemu;
using OnDemandExecution.Kvm.Sandbox;

namespace OnDemandExecution.Kvm;

/// <content>Starting guests: VM templates (boot once, save the device state, clone copy-on-write) and the fallback boot.</content>
public sealed partial class KvmInstanceProvider
{
    private async Task<KvmInstance> CreateGuestAsync(InstanceSpec spec, bool kvm, CancellationToken cancellationToken)
    {
        if (!Options.UseSnapshots)
        {
            return await StartAsync(spec, kvm, null, asTemplate: false, null, cancellationToken).ConfigureAwait(false);
        }

        var template = _templates.GetOrAdd((spec.MemoryMb, spec.VCpuCount, kvm), key => new VmTemplate(TemplateBasePath(key.MemoryMb, key.VCpus, key.Kvm)));
        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (!await EnsureTemplateAsync(spec, kvm, template, cancellationToken).ConfigureAwait(false))
            {
                break;
            }

            byte[] state;
            try
            {
                state = template.ReadVerifiedState();
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                KvmLog.TemplateRejected(Logger, template.RamPath, ex.Message);
                await DiscardAsync(template, cancellationToken).ConfigureAwait(false);
                continue;
            }

            try
            {
                return await RestoreAsync(spec, kvm, template, state, cancellationToken).ConfigureAwait(false);
            }
            catch (InstanceProviderException ex) when (!cancellationToken.IsCancellationRequested)
            {
                // a template from another QEMU or image, or one that cannot be mapped: drop it and make it again once
                KvmLog.RestoreFailed(Logger, template.RamPath, ex);
                template.Failures++;
                await DiscardAsync(template, cancellationToken).ConfigureAwait(false);
            }
        }

        // no usable template: boot (a booted guest needs no reseed to be unique, but gets one like every guest)
        return await StartAsync(spec, kvm, null, asTemplate: false, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Makes sure the shape's template exists and is verified; one caller makes it while the others wait (boots are CPU-bound).</summary>
    private async Task<bool> EnsureTemplateAsync(InstanceSpec spec, bool kvm, VmTemplate template, CancellationToken cancellationToken)
    {
        if (template.IsVerified)
        {
            return true;
        }

        await template.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (template.IsVerified)
            {
                return true;
            }

            if (template.FilesExist)
            {
                var started = TimeProvider.GetTimestamp();
                var why = template.Verify();
                if (why is null)
                {
                    KvmLog.TemplateVerified(Logger, template.RamPath, TimeProvider.GetElapsedTime(started).TotalMilliseconds);
                    return true;
                }

                KvmLog.TemplateRejected(Logger, template.RamPath, why);
                template.Discard();
            }

            if (template.Failures >= 3)
            {
                return false;
            }

            return await MakeTemplateAsync(spec, kvm, template, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            template.Lock.Release();
        }
    }

    private async Task<bool> MakeTemplateAsync(InstanceSpec spec, bool kvm, VmTemplate template, CancellationToken cancellationToken)
    {
        var started = TimeProvider.GetTimestamp();
        using var activity = KvmMetrics.ActivitySource.StartActivity(KvmDiagnostics.SnapshotActivity);
        var dir = Path.GetDirectoryName(template.RamPath)!;
        QemuSandbox.CreateTraverseOnlyDirectory(dir);
        template.Discard();
        // QEMU (its own uid) opens the RAM file read-write and sizes it
        await File.WriteAllBytesAsync(template.RamPath, [], cancellationToken).ConfigureAwait(false);
        Sandbox.GiveToQemu(template.RamPath);
        KvmInstance? booted = null;
        try
        {
            booted = await StartAsync(spec, kvm, template, asTemplate: true, null, cancellationToken).ConfigureAwait(false);
            var state = await booted.SaveTemplateStateAsync(Options.RestoreTimeout, cancellationToken).ConfigureAwait(false);
            // the template must never run again: clones map its RAM file
            await booted.DisposeAsync().ConfigureAwait(false);
            booted = null;
            await File.WriteAllBytesAsync(template.StatePath, state, cancellationToken).ConfigureAwait(false);
            QemuSandbox.Chmod(template.StatePath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            template.Seal(state);
            var elapsed = TimeProvider.GetElapsedTime(started);
            Metrics.SnapshotDuration.Record(elapsed.TotalSeconds);
            KvmLog.SnapshotSaved(Logger, spec.MemoryMb, spec.VCpuCount, template.RamPath, elapsed.TotalMilliseconds);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            template.Failures++;
            KvmLog.SnapshotFailed(Logger, ex);
            template.Discard();
            return false;
        }
        finally
        {
            if (booted is not null)
            {
                await booted.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task DiscardAsync(VmTemplate template, CancellationToken cancellationToken)
    {
        await template.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            template.Discard();
        }
        finally
        {
            template.Lock.Release();
        }
    }

    private async Task<KvmInstance> StartAsync(InstanceSpec spec, bool kvm, VmTemplate? template, bool asTemplate, byte[]? state, CancellationToken cancellationToken)
    {
        var (id, dir, launch) = NewLaunch(spec.MemoryMb, spec.VCpuCount, kvm, template, asTemplate, incoming: state is not null);
        var timeout = state is null ? Options.BootTimeout : Options.RestoreTimeout;
        // a template is not reseeded: its boot id must stay unread until each clone has its own RNG state
        var instance = await KvmInstance.StartAsync(this, id, dir, launch, state, seed: !asTemplate, timeout, cancellationToken).ConfigureAwait(false);
        return asTemplate ? instance : await TrackAsync(instance).ConfigureAwait(false);
    }

    /// <summary>A new instance's id, its private directory and its QEMU launch.</summary>
    private (string Id, string Directory, QemuLaunch Launch) NewLaunch(int memoryMb, int vCpus, bool kvm, VmTemplate? template, bool asTemplate, bool incoming)
    {
        var id = (asTemplate ? "tpl-" : "kvm-") + Interlocked.Increment(ref _nextId).ToString(CultureInfo.InvariantCulture);
        var dir = Path.Combine(HostDirectory(), id);
        Sandbox.CreatePrivateDirectory(dir);
        var launch = new QemuLaunch(
            kvm,
            memoryMb,
            vCpus,
            Options.KernelPath,
            Options.InitrdPath,
            QemuCommandLine.KernelCommandLine(kvm, _tscKhz, Options.KernelArguments),
            Path.Combine(dir, "console.log"),
            Path.Combine(dir, "agent.sock"),
            Path.Combine(dir, "qmp.sock"),
            template?.RamPath,
            MemoryShared: asTemplate,
            Incoming: incoming,
            Sandbox: Sandbox.Seccomp);
        if (Encoding.UTF8.GetByteCount(launch.AgentSocketPath) > 107)
        {
            throw new InstanceProviderException($"The socket path {launch.AgentSocketPath} is longer than Unix sockets allow (107 bytes); set a shorter KvmProviderOptions.WorkingDirectory.") { ProviderName = ProviderName };
        }

        return (id, dir, launch);
    }

    /// <summary>Makes a started guest one of the provider's live instances (disposed with it).</summary>
    private async Task<KvmInstance> TrackAsync(KvmInstance instance)
    {
        _live[instance.Id] = instance;
        if (Volatile.Read(ref _disposed) != 0)
        {
            await instance.DisposeAsync().ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(KvmInstanceProvider));
        }

        return instance;
    }

    /// <summary>
    /// A template restores only into the same QEMU build, kernel, initramfs, kernel command line and devices, so its
    /// file name is a hash of all of them: a persisted template is reused only while they are unchanged.
    /// </summary>
    private string TemplateBasePath(int memoryMb, int vCpus, bool kvm)
    {
        static string Stamp(string path)
        {
            var f = new FileInfo(path);
            return f.Exists ? $"{f.FullName}:{f.Length}:{f.LastWriteTimeUtc.Ticks}" : path;
        }

        var cmdline = QemuCommandLine.Build(new QemuLaunch(kvm, memoryMb, vCpus, Stamp(Options.KernelPath), Stamp(Options.InitrdPath), QemuCommandLine.KernelCommandLine(kvm, _tscKhz, Options.KernelArguments), "c", "a", "q", "m", false, false, Sandbox.Seccomp));
        var key = Stamp(QemuPath) + "\n" + string.Join('\n', cmdline);
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16].ToLowerInvariant();
        var dir = Options.SnapshotDirectory ?? Path.Combine(HostDirectory(), "templates");
        return Path.Combine(Path.GetFullPath(dir), $"guest-{memoryMb}m-{vCpus}c-{(kvm ? "kvm" : "tcg")}-{hash}");
    }
}
