using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OnDemandExecution.Oci.Diagnostics;
using OnDemandExecution.Oci.Runtime;

namespace OnDemandExecution.Oci;

/// <summary>
/// Runs instances as OCI containers driven by the runc command line (<c>create</c>, <c>start</c>, <c>state</c>,
/// <c>kill</c>, <c>delete</c> under a <c>--root</c> of its own). Each container runs the ODX1 guest agent as init,
/// connected to the host over a Unix socket (docs/guest-agent-protocol.md), in new pid, mount, ipc, uts and network
/// namespaces and a user namespace where the host allows one, with a read-only root file system, no capabilities, no
/// new privileges, a seccomp profile and cgroup limits where the host's cgroup layout applies them. See
/// docs/providers/oci.md for what this isolates and what it does not (the kernel is shared).
/// </summary>
/// <remarks>
/// Loads <see cref="ProgramFunctionCode"/>. Disposing the provider removes every container and directory it made;
/// containers left by a host process that crashed are removed when the next provider on the same state directory
/// starts.
/// </remarks>
public sealed class OciInstanceProvider : IInstanceProvider, IAsyncDisposable, IDisposable
{
    /// <summary>The provider's name in logs and metrics.</summary>
    public const string ProviderName = "oci";

    private static readonly InstanceProviderCapabilities OciCapabilities = new()
    {
        Isolation = IsolationLevel.Process,
        SupportsRecycle = true,
        SupportsPause = false,
        SupportsSnapshot = false,
    };

    private readonly ConcurrentDictionary<string, OciInstance> _live = new();
    private readonly SemaphoreSlim _startLock = new(1, 1);
    private readonly SemaphoreSlim _probeLock = new(1, 1);
    private readonly string _token = Convert.ToHexString(RandomNumberGenerator.GetBytes(2)).ToLowerInvariant();
    private string? _rootFs;
    private bool _userNamespace;
    private bool? _cgroupLimits;
    private long _nextId;
    private int _disposed;

    /// <summary>Creates the provider (DI does this in <c>AddOciProvider</c>).</summary>
    /// <param name="options">The options; <see cref="OciProviderOptionsValidator"/> checks them here and at host start under DI.</param>
    /// <param name="timeProvider">Time source; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">Logging; none when null.</param>
    /// <param name="meterFactory">Metrics; a private meter when null.</param>
    public OciInstanceProvider(IOptions<OciProviderOptions> options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Value;
        var validation = new OciProviderOptionsValidator().Validate(null, Options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(OciProviderOptions), typeof(OciProviderOptions), validation.Failures);
        }

        TimeProvider = timeProvider ?? TimeProvider.System;
        Cli = new RuntimeCli(RuntimeCli.ResolveExecutable(Options.RuntimePath)!, Options.StateDirectory, TimeProvider);
        Logger = (ILogger?)loggerFactory?.CreateLogger<OciInstanceProvider>() ?? NullLogger.Instance;
        Metrics = new OciMetrics(meterFactory);
    }

    /// <inheritdoc/>
    public string Name => ProviderName;

    /// <inheritdoc/>
    public InstanceProviderCapabilities Capabilities => OciCapabilities;

    /// <summary>The number of containers this provider currently owns.</summary>
    public int LiveInstanceCount => _live.Count;

    internal OciProviderOptions Options { get; }

    internal RuntimeCli Cli { get; }

    internal TimeProvider TimeProvider { get; }

    internal ILogger Logger { get; }

    internal OciMetrics Metrics { get; }

    /// <summary>Who owns this provider's containers (<c>PID-STARTTIME</c>); tests set a dead owner to fake a crashed host.</summary>
    internal string OwnerTag { get; init; } = HostIdentity.CurrentOwnerTag();

    /// <summary>Whether cgroup limits were found to apply (null until the first container told).</summary>
    internal bool? CgroupLimitsApplied => _cgroupLimits;

    /// <summary>Whether containers get a user namespace.</summary>
    internal bool UsesUserNamespace => _userNamespace;

    /// <inheritdoc/>
    public bool CanLoad(FunctionCode code) => code is ProgramFunctionCode;

    /// <inheritdoc/>
    public async ValueTask<IInstance> CreateAsync(InstanceSpec spec, CancellationToken cancellationToken)
        => await CreateContainerAsync(spec, cancellationToken).ConfigureAwait(false);

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

    /// <summary>Creates, starts and connects one container.</summary>
    internal async Task<OciInstance> CreateContainerAsync(InstanceSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (spec.MemoryMb < 16 || spec.MemoryMb > Options.MaxMemoryMb || spec.VCpuCount < 1 || spec.VCpuCount > Options.MaxVCpuCount)
        {
            throw new InstanceProviderException(
                $"A container of {spec.MemoryMb} MiB and {spec.VCpuCount} CPUs is outside the provider's limits (16 to {Options.MaxMemoryMb} MiB, 1 to {Options.MaxVCpuCount} CPUs; see OciProviderOptions).")
            { ProviderName = ProviderName };
        }

        var network = Options.Network;
        if (spec.Labels.TryGetValue("oci.network", out var label))
        {
            network = label switch
            {
                "none" => OciNetwork.None,
                "host" => OciNetwork.Host,
                _ => throw new InstanceProviderException($"InstanceSpec label oci.network must be 'none' or 'host' (was '{label}').") { ProviderName = ProviderName },
            };
        }

        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);

        // the first container tells whether cgroup limits apply here: later ones wait for it instead of each finding out
        var probing = _cgroupLimits is null;
        if (probing)
        {
            await _probeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            probing = _cgroupLimits is null;
            if (!probing)
            {
                _probeLock.Release();
            }
        }

        try
        {
            OciInstance instance;
            try
            {
                instance = await StartAsync(spec, network, limits: _cgroupLimits != false, cancellationToken).ConfigureAwait(false);
            }
            catch (InstanceProviderException ex) when (probing && ex.InnerException is RuntimeCommandException { Command: "create" or "start" } r && r.Message.Contains("cgroup", StringComparison.OrdinalIgnoreCase))
            {
                _cgroupLimits = false;
                OciLog.CgroupLimitsSkipped(Logger, "the runtime refused them: " + r.Message);
                instance = await StartAsync(spec, network, limits: false, cancellationToken).ConfigureAwait(false);
            }

            if (probing && _cgroupLimits is null)
            {
                var (applied, why) = CgroupProbe.MemoryLimitApplied(instance.Id, spec.MemoryMb * 1024L * 1024L);
                _cgroupLimits = applied;
                if (applied)
                {
                    OciLog.CgroupLimitsApplied(Logger, why);
                }
                else
                {
                    OciLog.CgroupLimitsSkipped(Logger, why);
                }
            }

            return instance;
        }
        finally
        {
            if (probing)
            {
                _probeLock.Release();
            }
        }
    }

    /// <summary>A live instance by id (for tests and diagnostics).</summary>
    internal OciInstance? FindInstance(string id) => _live.TryGetValue(id, out var i) ? i : null;

    internal void Untrack(OciInstance instance) => _live.TryRemove(instance.Id, out _);

    /// <summary>
    /// Removes the containers and directories of host processes that are gone: ids and directory names carry their
    /// owner's <c>PID-STARTTIME</c>, so containers of other live hosts sharing the directories are left alone.
    /// </summary>
    internal async Task<(int Containers, int Directories)> ReclaimOrphansAsync(CancellationToken cancellationToken)
    {
        var containers = 0;
        foreach (var id in await Cli.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (ContainerNames.Owner(id) is { } owner && owner != OwnerTag && !HostIdentity.IsOwnerAlive(owner))
            {
                var r = await Cli.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
                if (r.Succeeded)
                {
                    containers++;
                }
                else
                {
                    OciLog.CleanupFailed(Logger, id, new RuntimeCommandException("delete", r));
                }
            }
        }

        var directories = 0;
        if (Directory.Exists(Options.WorkingDirectory))
        {
            foreach (var dir in Directory.EnumerateDirectories(Options.WorkingDirectory, ContainerNames.Prefix + "*"))
            {
                if (ContainerNames.Owner(Path.GetFileName(dir)) is { } owner && owner != OwnerTag && !HostIdentity.IsOwnerAlive(owner))
                {
                    try
                    {
                        Directory.Delete(dir, recursive: true);
                        directories++;
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        OciLog.CleanupFailed(Logger, dir, ex);
                    }
                }
            }
        }

        if (containers + directories > 0)
        {
            Metrics.OrphansReclaimed.Add(containers);
            OciLog.OrphansReclaimed(Logger, containers, directories, Options.StateDirectory);
        }

        return (containers, directories);
    }

    private async Task EnsureStartedAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _rootFs) is not null)
        {
            return;
        }

        await _startLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_rootFs is not null)
            {
                return;
            }

            Directory.CreateDirectory(Options.StateDirectory);
            Directory.CreateDirectory(Options.WorkingDirectory);
            await ReclaimOrphansAsync(cancellationToken).ConfigureAwait(false);
            var (rootFs, layers) = BundleSource.ResolveRootFs(Options.BundlePath, Options.WorkingDirectory);
            if (layers > 0)
            {
                OciLog.ImageUnpacked(Logger, Options.BundlePath, layers, rootFs);
            }

            if (!File.Exists(Path.Combine(rootFs, Options.AgentPath.TrimStart('/'))) && new FileInfo(Path.Combine(rootFs, Options.AgentPath.TrimStart('/'))).LinkTarget is null)
            {
                throw new InstanceProviderException($"The image {Options.BundlePath} has no agent at {Options.AgentPath} (OciProviderOptions.AgentPath); build it with tools/build-oci-bundle.sh.") { ProviderName = ProviderName };
            }

            _userNamespace = Options.UseUserNamespace && UserNamespacesAvailable(out var why) is var ok && ok;
            if (Options.UseUserNamespace && !_userNamespace)
            {
                UserNamespacesAvailable(out why);
                OciLog.UserNamespaceUnavailable(Logger, why, Options.HostIdBase + Options.ContainerUid);
            }

            var version = await Cli.VersionAsync(cancellationToken).ConfigureAwait(false);
            OciLog.ProviderStarted(Logger, Cli.RuntimePath, version, Options.StateDirectory, rootFs, _userNamespace, Options.UseSeccomp, Options.Network.ToString());
            Volatile.Write(ref _rootFs, rootFs);
        }
        finally
        {
            _startLock.Release();
        }
    }

    private static bool UserNamespacesAvailable(out string reason)
    {
        try
        {
            var max = File.ReadAllText("/proc/sys/user/max_user_namespaces").Trim();
            if (max == "0")
            {
                reason = "/proc/sys/user/max_user_namespaces is 0";
                return false;
            }
        }
        catch (IOException ex)
        {
            reason = "cannot read /proc/sys/user/max_user_namespaces: " + ex.Message;
            return false;
        }

        reason = string.Empty;
        return true;
    }

    private async Task<OciInstance> StartAsync(InstanceSpec spec, OciNetwork network, bool limits, CancellationToken cancellationToken)
    {
        var id = ContainerNames.Make(OwnerTag, _token, Interlocked.Increment(ref _nextId));
        var dir = Path.Combine(Options.WorkingDirectory, id);
        var work = Path.Combine(dir, "work");
        var sock = Path.Combine(dir, "sock");
        UnixModes.CreateDirectory(dir, 0x1C0); // 0700: keeps host users out of what is below
        // inside, only the container's own (unprivileged) uid uses them
        UnixModes.CreateDirectory(work, 0x1FF); // 0777
        UnixModes.CreateDirectory(sock, 0x1ED); // 0755
        var config = new ContainerConfig
        {
            RootFs = _rootFs!,
            WorkDirectory = work,
            SocketDirectory = sock,
            Args = [Options.AgentPath, "--connect", "/odx/agent.sock"],
            Uid = _userNamespace ? Options.ContainerUid : Options.HostIdBase + Options.ContainerUid,
            UserNamespaceHostBase = _userNamespace ? Options.HostIdBase : null,
            IsolateNetwork = network == OciNetwork.None,
            Seccomp = Options.UseSeccomp,
            CgroupsPath = "/" + id,
            MemoryLimitBytes = limits ? spec.MemoryMb * 1024L * 1024L : null,
            CpuLimit = limits ? spec.VCpuCount : null,
            PidsLimit = limits ? Options.PidsLimit : null,
            TmpSizeMb = Options.TmpSizeMb,
        };
        var instance = await OciInstance.StartAsync(this, id, config, cancellationToken).ConfigureAwait(false);
        _live[id] = instance;
        if (Volatile.Read(ref _disposed) != 0)
        {
            await instance.DisposeAsync().ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(OciInstanceProvider));
        }

        return instance;
    }
}
