using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OnDemandExecution.Kvm.Diagnostics;
using OnDemandExecution.Kvm.Qemu;

namespace OnDemandExecution.Kvm;

/// <summary>
/// Runs instances as QEMU microvms (<c>-M microvm</c>) with KVM when <c>/dev/kvm</c> is usable and TCG otherwise.
/// Lifecycle goes over QMP, load and invoke over an ODX1 guest agent on a virtio-serial port
/// (docs/guest-agent-protocol.md). With <see cref="KvmProviderOptions.UseSnapshots"/>, the first guest of each
/// memory/vCPU shape is booted and snapshotted, and later guests are restored from that snapshot.
/// </summary>
/// <remarks>Loads <see cref="ProgramFunctionCode"/>. Disposing the provider kills every QEMU it started.</remarks>
public sealed class KvmInstanceProvider : IInstanceProvider, IAsyncDisposable, IDisposable
{
    /// <summary>The provider's name in logs and metrics.</summary>
    public const string ProviderName = "kvm";

    private static readonly InstanceProviderCapabilities KvmCapabilities = new()
    {
        Isolation = IsolationLevel.Hypervisor,
        SupportsRecycle = true,
        SupportsPause = true,
        SupportsSnapshot = true,
    };

    private readonly ConcurrentDictionary<string, KvmInstance> _live = new();
    private readonly ConcurrentDictionary<(int MemoryMb, int VCpus, bool Kvm), SnapshotState> _snapshots = new();
    private readonly object _rootLock = new();
    private readonly long? _tscKhz = QemuCommandLine.HostTscKhz();
    private string? _workRoot;
    private long _nextId;
    private int _kvmFailed;
    private int _disposed;

    /// <summary>Creates the provider (DI does this in <c>AddKvmProvider</c>).</summary>
    /// <param name="options">The options; <see cref="KvmProviderOptionsValidator"/> checks them at host start under DI.</param>
    /// <param name="timeProvider">Time source; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">Logging; none when null.</param>
    /// <param name="meterFactory">Metrics; a private meter when null.</param>
    public KvmInstanceProvider(IOptions<KvmProviderOptions> options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Value;
        var validation = new KvmProviderOptionsValidator().Validate(null, Options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(KvmProviderOptions), typeof(KvmProviderOptions), validation.Failures);
        }

        QemuPath = QemuCommandLine.ResolveExecutable(Options.QemuPath)!;
        TimeProvider = timeProvider ?? TimeProvider.System;
        Logger = (ILogger?)loggerFactory?.CreateLogger<KvmInstanceProvider>() ?? NullLogger.Instance;
        Metrics = new KvmMetrics(meterFactory);
        KvmLog.ProviderStarted(Logger, QemuPath, Options.Accelerator.ToString(), Options.UseSnapshots);
    }

    /// <inheritdoc/>
    public string Name => ProviderName;

    /// <inheritdoc/>
    public InstanceProviderCapabilities Capabilities => KvmCapabilities;

    /// <summary>The number of QEMU processes this provider currently owns.</summary>
    public int LiveInstanceCount => _live.Count;

    internal KvmProviderOptions Options { get; }

    internal string QemuPath { get; }

    internal TimeProvider TimeProvider { get; }

    internal ILogger Logger { get; }

    internal KvmMetrics Metrics { get; }

    /// <inheritdoc/>
    public bool CanLoad(FunctionCode code) => code is ProgramFunctionCode;

    /// <inheritdoc/>
    public async ValueTask<IInstance> CreateAsync(InstanceSpec spec, CancellationToken cancellationToken)
        => await CreateGuestAsync(spec, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Task.WhenAll(_live.Values.Select(i => i.DisposeAsync().AsTask())).ConfigureAwait(false);
        foreach (var s in _snapshots.Values)
        {
            s.Lock.Dispose();
        }

        if (_workRoot is { } root && Options.WorkingDirectory is null)
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                KvmLog.CleanupFailed(Logger, root, ex);
            }
        }

        Metrics.Dispose();
    }

    /// <inheritdoc/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Creates a guest: a restore from the shape's snapshot when there is one, otherwise a boot (which saves the snapshot when snapshots are on).</summary>
    internal async Task<KvmInstance> CreateGuestAsync(InstanceSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (spec.MemoryMb < 64 || spec.MemoryMb > Options.MaxMemoryMb || spec.VCpuCount < 1 || spec.VCpuCount > Options.MaxVCpuCount)
        {
            throw new InstanceProviderException(
                $"A KVM instance of {spec.MemoryMb} MiB and {spec.VCpuCount} vCPUs is outside the provider's limits (64 to {Options.MaxMemoryMb} MiB, 1 to {Options.MaxVCpuCount} vCPUs; see KvmProviderOptions).")
            { ProviderName = ProviderName };
        }

        var kvm = UseKvm();
        try
        {
            return await CreateGuestAsync(spec, kvm, cancellationToken).ConfigureAwait(false);
        }
        catch (InstanceProviderException ex) when (kvm && Options.Accelerator == KvmAccelerator.Auto && !cancellationToken.IsCancellationRequested)
        {
            // /dev/kvm can exist and open but be unusable (nested virtualization without the features QEMU needs)
            Interlocked.Exchange(ref _kvmFailed, 1);
            KvmLog.KvmFallback(Logger, ex);
            return await CreateGuestAsync(spec, kvm: false, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A live instance by id (for tests and diagnostics).</summary>
    internal KvmInstance? FindInstance(string id) => _live.TryGetValue(id, out var i) ? i : null;

    internal void Untrack(KvmInstance instance) => _live.TryRemove(instance.Id, out _);

    private bool UseKvm() => Options.Accelerator switch
    {
        KvmAccelerator.Kvm => true,
        KvmAccelerator.Tcg => false,
        _ => Volatile.Read(ref _kvmFailed) == 0 && QemuCommandLine.KvmDeviceUsable(),
    };

    private async Task<KvmInstance> CreateGuestAsync(InstanceSpec spec, bool kvm, CancellationToken cancellationToken)
    {
        if (!Options.UseSnapshots)
        {
            return await StartAsync(spec, kvm, null, cancellationToken).ConfigureAwait(false);
        }

        var state = _snapshots.GetOrAdd((spec.MemoryMb, spec.VCpuCount, kvm), key => new SnapshotState(SnapshotPath(key.MemoryMb, key.VCpus, key.Kvm)));
        if (state.Usable && File.Exists(state.Path))
        {
            var restored = await TryRestoreAsync(spec, kvm, state, cancellationToken).ConfigureAwait(false);
            if (restored is not null)
            {
                return restored;
            }
        }

        // No snapshot yet: one caller boots and saves it while the others wait (boots are CPU-bound; restoring after
        // the wait is faster than booting alongside).
        await state.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (state.Usable && File.Exists(state.Path))
            {
                var restored = await TryRestoreAsync(spec, kvm, state, cancellationToken).ConfigureAwait(false);
                if (restored is not null)
                {
                    return restored;
                }
            }

            var booted = await StartAsync(spec, kvm, null, cancellationToken).ConfigureAwait(false);
            if (state.Failures < 3)
            {
                var started = TimeProvider.GetTimestamp();
                try
                {
                    using var activity = KvmMetrics.ActivitySource.StartActivity(KvmDiagnostics.SnapshotActivity);
                    Directory.CreateDirectory(Path.GetDirectoryName(state.Path)!);
                    await booted.SaveSnapshotAsync(state.Path, Options.RestoreTimeout, cancellationToken).ConfigureAwait(false);
                    state.Usable = true;
                    var elapsed = TimeProvider.GetElapsedTime(started);
                    Metrics.SnapshotDuration.Record(elapsed.TotalSeconds);
                    KvmLog.SnapshotSaved(Logger, spec.MemoryMb, spec.VCpuCount, state.Path, elapsed.TotalMilliseconds);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    state.Failures++;
                    KvmLog.SnapshotFailed(Logger, ex);
                    if (booted.IsDead)
                    {
                        await booted.DisposeAsync().ConfigureAwait(false);
                        throw new InstanceProviderException($"The guest died while its snapshot was saved: {ex.Message}", ex) { ProviderName = ProviderName };
                    }

                    try
                    {
                        await booted.ResumeAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch
                    {
                        await booted.DisposeAsync().ConfigureAwait(false);
                        throw;
                    }
                }
            }

            return booted;
        }
        finally
        {
            state.Lock.Release();
        }
    }

    private async Task<KvmInstance?> TryRestoreAsync(InstanceSpec spec, bool kvm, SnapshotState state, CancellationToken cancellationToken)
    {
        try
        {
            return await StartAsync(spec, kvm, state.Path, cancellationToken).ConfigureAwait(false);
        }
        catch (InstanceProviderException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // a snapshot from another QEMU, kernel or image, or a corrupt file: drop it and boot instead
            KvmLog.RestoreFailed(Logger, state.Path, ex);
            state.Usable = false;
            state.Failures++;
            try
            {
                File.Delete(state.Path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }

            return null;
        }
    }

    private async Task<KvmInstance> StartAsync(InstanceSpec spec, bool kvm, string? snapshot, CancellationToken cancellationToken)
    {
        var id = "kvm-" + Interlocked.Increment(ref _nextId).ToString(CultureInfo.InvariantCulture);
        var dir = Path.Combine(WorkRoot(), id);
        Directory.CreateDirectory(dir);
        var launch = new QemuLaunch(
            kvm,
            spec.MemoryMb,
            spec.VCpuCount,
            Options.KernelPath,
            Options.InitrdPath,
            QemuCommandLine.KernelCommandLine(kvm, _tscKhz, Options.KernelArguments),
            Path.Combine(dir, "console.log"),
            Path.Combine(dir, "agent.sock"),
            Path.Combine(dir, "qmp.sock"),
            snapshot);
        if (Encoding.UTF8.GetByteCount(launch.AgentSocketPath) > 107)
        {
            throw new InstanceProviderException($"The socket path {launch.AgentSocketPath} is longer than Unix sockets allow (107 bytes); set a shorter KvmProviderOptions.WorkingDirectory.") { ProviderName = ProviderName };
        }

        var timeout = snapshot is null ? Options.BootTimeout : Options.RestoreTimeout;
        var instance = await KvmInstance.StartAsync(this, id, dir, launch, timeout, cancellationToken).ConfigureAwait(false);
        _live[id] = instance;
        if (Volatile.Read(ref _disposed) != 0)
        {
            await instance.DisposeAsync().ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(KvmInstanceProvider));
        }

        return instance;
    }

    private string WorkRoot()
    {
        lock (_rootLock)
        {
            if (_workRoot is null)
            {
                var root = Options.WorkingDirectory
                    ?? Path.Combine(Path.GetTempPath(), "odx-kvm-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant());
                Directory.CreateDirectory(root);
                _workRoot = root;
            }

            return _workRoot;
        }
    }

    /// <summary>
    /// A snapshot restores only into the same QEMU build, kernel, initramfs, kernel command line and devices, so its
    /// file name is a hash of all of them: a persisted snapshot is reused only while they are unchanged.
    /// </summary>
    private string SnapshotPath(int memoryMb, int vCpus, bool kvm)
    {
        static string Stamp(string path)
        {
            var f = new FileInfo(path);
            return f.Exists ? $"{f.FullName}:{f.Length}:{f.LastWriteTimeUtc.Ticks}" : path;
        }

        var cmdline = QemuCommandLine.Build(new QemuLaunch(kvm, memoryMb, vCpus, Stamp(Options.KernelPath), Stamp(Options.InitrdPath), QemuCommandLine.KernelCommandLine(kvm, _tscKhz, Options.KernelArguments), "c", "a", "q", null));
        var key = Stamp(QemuPath) + "\n" + string.Join('\n', cmdline);
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16].ToLowerInvariant();
        var dir = Options.SnapshotDirectory ?? Path.Combine(WorkRoot(), "snapshots");
        return Path.Combine(dir, $"guest-{memoryMb}m-{vCpus}c-{(kvm ? "kvm" : "tcg")}-{hash}.snap");
    }

    private sealed class SnapshotState(string path)
    {
        public string Path { get; } = path;

        public SemaphoreSlim Lock { get; } = new(1, 1);

        public bool Usable { get; set; } = true;

        public int Failures { get; set; }
    }
}
