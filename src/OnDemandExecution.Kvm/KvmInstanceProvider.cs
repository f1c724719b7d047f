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
using OnDemandExecution.Kvm.Sandbox;

namespace OnDemandExecution.Kvm;

/// <summary>
/// Runs instances as QEMU microvms (<c>-M microvm</c>) with KVM when <c>/dev/kvm</c> is usable and TCG otherwise.
/// Lifecycle goes over QMP, load and invoke over an ODX1 guest agent on a virtio-serial port
/// (docs/guest-agent-protocol.md). With <see cref="KvmProviderOptions.UseSnapshots"/>, the first guest of each
/// memory/vCPU shape is booted and snapshotted, and later guests are restored from that snapshot.
/// </summary>
/// <remarks>Loads <see cref="ProgramFunctionCode"/>. Disposing the provider kills every QEMU it started.</remarks>
public sealed partial class KvmInstanceProvider : IInstanceProvider, IAsyncDisposable, IDisposable
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
    private readonly ConcurrentDictionary<(int MemoryMb, int VCpus, bool Kvm), VmTemplate> _templates = new();
    private readonly object _rootLock = new();
    private readonly long? _tscKhz = QemuCommandLine.HostTscKhz();
    private string? _hostDirectory;
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
        Sandbox = QemuSandbox.Resolve(Options, Logger);
        KvmLog.SandboxApplied(Logger, Sandbox.Description);
        StateRoot = Path.GetFullPath(Options.WorkingDirectory ?? Path.Combine(Path.GetTempPath(), "odx-kvm"));
        StateDirectory.Reclaim(StateRoot, Logger);
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

    internal QemuSandbox Sandbox { get; }

    /// <summary>The state directory shared by host processes (see <see cref="KvmProviderOptions.WorkingDirectory"/>).</summary>
    internal string StateRoot { get; }

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
        await DisposeStandbysAsync().ConfigureAwait(false);
        foreach (var t in _templates.Values)
        {
            t.Lock.Dispose();
        }

        if (_hostDirectory is { } root)
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

    /// <summary>This provider's own directory under the state root (created, with its pid file, on first use).</summary>
    internal string HostDirectory()
    {
        lock (_rootLock)
        {
            return _hostDirectory ??= StateDirectory.CreateHostDirectory(StateRoot);
        }
    }
}
