using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OnDemandExecution.HyperV.Diagnostics;
using OnDemandExecution.HyperV.Hcs;
using OnDemandExecution.HyperV.HvSocket;

namespace OnDemandExecution.HyperV;

/// <summary>
/// Runs instances as Hyper-V compute systems created through the Windows Host Compute Service (computecore.dll):
/// <c>HcsCreateComputeSystem</c> with a JSON document, <c>HcsStartComputeSystem</c>, then an ODX1 guest agent
/// (docs/guest-agent-protocol.md) reached over a Hyper-V socket. Pause and resume map to the HCS calls of the same
/// names; an exit event marks an instance dead so the pool replaces it.
/// </summary>
/// <remarks>
/// Windows only, and untested on real Hyper-V: its logic is tested against a substitute of the HCS API
/// (docs/providers/hyper-v.md says what that covers). Loads <see cref="ProgramFunctionCode"/>. Disposing the provider
/// terminates every compute system it created.
/// </remarks>
public sealed class HyperVInstanceProvider : IInstanceProvider, IAsyncDisposable, IDisposable
{
    /// <summary>The provider's name in logs and metrics.</summary>
    public const string ProviderName = "hyperv";

    private static readonly InstanceProviderCapabilities HyperVCapabilities = new()
    {
        Isolation = IsolationLevel.Hypervisor,
        SupportsRecycle = true,
        SupportsPause = true,
        SupportsSnapshot = false,
    };

    private static readonly TimeSpan DefaultWaitSlice = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<string, HyperVInstance> _live = new();
    private int _disposed;

    /// <summary>Creates the provider (DI does this in <c>AddHyperVProvider</c>).</summary>
    /// <param name="options">The options; <see cref="HyperVProviderOptionsValidator"/> checks them (and that this is Windows with HCS) at host start under DI.</param>
    /// <param name="timeProvider">Time source; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">Logging; none when null.</param>
    /// <param name="meterFactory">Metrics; a private meter when null.</param>
    /// <exception cref="OptionsValidationException">The options are invalid, or this is not Windows with the Host Compute Service.</exception>
    public HyperVInstanceProvider(IOptions<HyperVProviderOptions> options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
        : this(Validated(options), NativeApi(), NativeConnector(), timeProvider, loggerFactory, meterFactory, DefaultWaitSlice)
    {
    }

    /// <summary>The seam constructor: any <see cref="IHcsApi"/> and <see cref="IHvSocketConnector"/>, options not validated.</summary>
    internal HyperVInstanceProvider(HyperVProviderOptions options, IHcsApi api, IHvSocketConnector connector, TimeProvider? timeProvider, ILoggerFactory? loggerFactory, IMeterFactory? meterFactory, TimeSpan waitSlice)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(api);
        ArgumentNullException.ThrowIfNull(connector);
        Options = options;
        TimeProvider = timeProvider ?? TimeProvider.System;
        Hcs = new HcsClient(api, TimeProvider, waitSlice);
        Connector = connector;
        Logger = (ILogger?)loggerFactory?.CreateLogger<HyperVInstanceProvider>() ?? NullLogger.Instance;
        Metrics = new HyperVMetrics(meterFactory);
        HyperVLog.ProviderStarted(Logger, Options.BootMode.ToString(), Options.AgentPort, Options.Owner);
    }

    /// <inheritdoc/>
    public string Name => ProviderName;

    /// <inheritdoc/>
    public InstanceProviderCapabilities Capabilities => HyperVCapabilities;

    /// <summary>The number of compute systems this provider currently owns.</summary>
    public int LiveInstanceCount => _live.Count;

    internal HyperVProviderOptions Options { get; }

    internal TimeProvider TimeProvider { get; }

    internal HcsClient Hcs { get; }

    internal IHvSocketConnector Connector { get; }

    internal ILogger Logger { get; }

    internal HyperVMetrics Metrics { get; }

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
        Metrics.Dispose();
    }

    /// <inheritdoc/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    internal async Task<HyperVInstance> CreateGuestAsync(InstanceSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (spec.MemoryMb < 64 || spec.MemoryMb > Options.MaxMemoryMb || spec.VCpuCount < 1 || spec.VCpuCount > Options.MaxVCpuCount)
        {
            throw new InstanceProviderException(
                $"A Hyper-V instance of {spec.MemoryMb} MiB and {spec.VCpuCount} vCPUs is outside the provider's limits (64 to {Options.MaxMemoryMb} MiB, 1 to {Options.MaxVCpuCount} vCPUs; see HyperVProviderOptions).")
            { ProviderName = ProviderName };
        }

        // HCS ids are host-wide: a GUID cannot collide with another process's systems
        var id = "odx-" + Guid.NewGuid().ToString("D");
        var instance = await HyperVInstance.StartAsync(this, id, spec, cancellationToken).ConfigureAwait(false);
        _live[id] = instance;
        if (Volatile.Read(ref _disposed) != 0)
        {
            await instance.DisposeAsync().ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(HyperVInstanceProvider));
        }

        return instance;
    }

    internal void Untrack(HyperVInstance instance) => _live.TryRemove(instance.Id, out _);

    private static HyperVProviderOptions Validated(IOptions<HyperVProviderOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var value = options.Value;
        var validation = new HyperVProviderOptionsValidator().Validate(null, value);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(HyperVProviderOptions), typeof(HyperVProviderOptions), validation.Failures);
        }

        return value;
    }

    private static HcsApi NativeApi() => OperatingSystem.IsWindows()
        ? new HcsApi()
        : throw new PlatformNotSupportedException("The Hyper-V provider runs only on Windows.");

    private static HvSocketConnector NativeConnector() => OperatingSystem.IsWindows()
        ? new HvSocketConnector()
        : throw new PlatformNotSupportedException("The Hyper-V provider runs only on Windows.");
}
