using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using OnDemandExecution.GuestAgent;
using OnDemandExecution.Kvm.Diagnostics;
using OnDemandExecution.Kvm.Qemu;
using OnDemandExecution.Kvm.Qmp;

namespace OnDemandExecution.Kvm;

/// <summary>
/// One QEMU microvm: the QEMU process, its QMP connection and its guest-agent channel, in a directory of its own.
/// The QEMU process exiting, QMP closing or the agent channel closing or timing out marks it dead; after that every
/// call fails with <see cref="InstanceDiedException"/> and only disposal is left.
/// </summary>
internal sealed partial class KvmInstance : IInstance, IGuestAgentHost
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);
    private readonly KvmInstanceProvider _provider;
    private readonly QemuProcess _process;
    private readonly string _directory;
    private readonly string _consoleLog;
    private readonly string _accel;
    private QmpClient? _qmp;
    private QemuLaunch? _launch;
    private AgentChannel? _agent;
    private string? _deathReason;
    private GuestAgentSession? _session;
    private int _disposed;
    private volatile bool _paused;

    private KvmInstance(KvmInstanceProvider provider, string id, QemuProcess process, string directory, string consoleLog, string accel)
    {
        _provider = provider;
        Id = id;
        _process = process;
        _directory = directory;
        _consoleLog = consoleLog;
        _accel = accel;
        _process.Exited += code => MarkDead(_process.KilledByHost ? "killed by the host" : $"QEMU exited with code {code}");
    }

    public string Id { get; }

    public InstanceLocation Location => InstanceLocation.Local;

    /// <summary>The QEMU process id (for tests and diagnostics).</summary>
    public int ProcessId => _process.Pid;

    /// <summary>The instance's own directory (sockets, console log); deleted on disposal.</summary>
    internal string WorkingDirectory => _directory;

    /// <summary>Whether the instance died (QEMU gone or agent not answering).</summary>
    public bool IsDead => Volatile.Read(ref _deathReason) is not null;

    /// <summary>The agent's version from its READY frame.</summary>
    public string AgentVersion { get; private set; } = "unknown";

    public async ValueTask LoadAsync(FunctionDefinition definition, TenantId tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        await Session(definition.Name).LoadAsync(definition, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<ReadOnlyMemory<byte>> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await Session(request.FunctionName).InvokeAsync(request, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> RecycleAsync(CancellationToken cancellationToken)
    {
        if (IsDead || Volatile.Read(ref _disposed) != 0 || !_provider.Options.RecycleByReset || _session is not { } session)
        {
            return false;
        }

        return await session.RecycleAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<InstanceHealth> CheckHealthAsync(CancellationToken cancellationToken)
        => IsDead || _session is not { } session ? new(InstanceHealth.Dead) : session.CheckHealthAsync(cancellationToken);

    /// <summary>False once QEMU exited, QMP or the agent channel closed, or the agent stopped answering.</summary>
    public bool IsAlive => !IsDead && Volatile.Read(ref _disposed) == 0 && !_process.HasExited && _session is { IsOpen: true };

    /// <summary>The agent's CANCEL: true only when it confirms the timed-out program's process group is gone.</summary>
    public ValueTask<bool> StopWorkAsync(CancellationToken cancellationToken)
        => IsDead || _session is not { } session ? new(false) : session.StopWorkAsync(cancellationToken);

    /// <summary>The agent's HEALTH text (for tests: <c>uptime=... running=0|1</c>).</summary>
    internal Task<string> HealthTextAsync() => Session(null).Channel.HealthAsync(_provider.Options.AgentTimeout, CancellationToken.None);

    /// <summary>The agent's answer to the last SEED (<c>reseed=... boot_id=...</c>), or null when none was sent.</summary>
    internal string? LastSeed => _session?.LastSeed;

    public async ValueTask PauseAsync(CancellationToken cancellationToken)
    {
        await QmpAsync(q => q.StopAsync(cancellationToken)).ConfigureAwait(false);
        _paused = true;
    }

    public async ValueTask ResumeAsync(CancellationToken cancellationToken)
    {
        await QmpAsync(q => q.ContinueAsync(cancellationToken)).ConfigureAwait(false);
        _paused = false;
    }

    /// <summary>The guest's QMP run state (<c>running</c>, <c>paused</c>...).</summary>
    public async Task<string> QueryStatusAsync(CancellationToken cancellationToken)
    {
        var status = await QmpAsync(q => q.QueryStatusAsync(cancellationToken)).ConfigureAwait(false);
        return status.Status;
    }

    /// <summary>
    /// Saves this template guest's device state: <c>stop</c>, <c>x-ignore-shared</c> (its RAM is the shared template
    /// file, so it is not sent), <c>migrate</c> to a Unix socket the host listens on in the instance's directory, and
    /// read the stream to its end. Returns the state (a few hundred KiB). The guest stays stopped: a template is
    /// disposed after its save, since clones map its RAM file and it must not change any more.
    /// </summary>
    public async Task<byte[]> SaveTemplateStateAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var qmp = _qmp ?? throw new InvalidOperationException("Not started.");
        var tp = _provider.TimeProvider;
        using var timeoutCts = new CancellationTokenSource(timeout, tp);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        var ct = linked.Token;
        var path = Path.Combine(_directory, "save.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        _provider.Sandbox.GiveToQemu(path); // QEMU connects as its own uid
        await qmp.StopAsync(ct).ConfigureAwait(false);
        await qmp.IgnoreSharedMemoryAsync(ct).ConfigureAwait(false);
        await qmp.MigrateAsync("unix:" + path, ct).ConfigureAwait(false);
        using var connection = await listener.AcceptAsync(ct).ConfigureAwait(false);
        using var state = new MemoryStream();
        await using (var stream = new NetworkStream(connection, ownsSocket: false))
        {
            await stream.CopyToAsync(state, ct).ConfigureAwait(false);
        }

        while (true)
        {
            var m = await qmp.QueryMigrateAsync(ct).ConfigureAwait(false);
            if (m.Status == "completed")
            {
                return state.ToArray();
            }

            if (m.Status is "failed" or "cancelled")
            {
                throw new InvalidOperationException($"Saving the template's state {m.Status}: {m.ErrorDescription}");
            }

            await Task.Delay(PollInterval, tp, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Kills QEMU (for tests that simulate a crash).</summary>
    internal void KillProcessForTest() => Process.GetProcessById(_process.Pid).Kill();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _provider.Untrack(this);
        try
        {
            await _process.KillAsync(TimeSpan.FromSeconds(5), _provider.TimeProvider).ConfigureAwait(false);
            if (_agent is not null)
            {
                await _agent.DisposeAsync().ConfigureAwait(false);
            }

            if (_qmp is not null)
            {
                await _qmp.DisposeAsync().ConfigureAwait(false);
            }

            _process.Dispose();
            if (Directory.Exists(_directory))
            {
                Directory.Delete(_directory, recursive: true);
            }

            KvmLog.GuestDestroyed(_provider.Logger, Id, _process.Pid);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            KvmLog.CleanupFailed(_provider.Logger, Id, ex);
        }
    }

    private GuestAgentSession Session(string? function)
    {
        ThrowIfDead(function);
        return _session ?? throw new InvalidOperationException($"Instance {Id} has not started.");
    }

    string IGuestAgentHost.InstanceId => Id;

    string IGuestAgentHost.ProviderName => KvmInstanceProvider.ProviderName;

    bool IGuestAgentHost.IsPaused => _paused;

    async Task IGuestAgentHost.EnsureRunningAsync(string? function, CancellationToken cancellationToken)
    {
        ThrowIfDead(function);
        if (_paused)
        {
            await ResumeAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    void IGuestAgentHost.MarkDead(string reason) => MarkDead(reason);

    InstanceDiedException IGuestAgentHost.Died(string? function, Exception? inner) => Died(function, inner);

    private async Task<T> QmpAsync<T>(Func<QmpClient, Task<T>> call)
    {
        ThrowIfDead(null);
        try
        {
            return await call(_qmp!).ConfigureAwait(false);
        }
        catch (QmpConnectionException ex)
        {
            MarkDead(ex.Message);
            throw Died(null, ex);
        }
    }

    private Task<bool> QmpAsync(Func<QmpClient, Task> call) => QmpAsync(async q =>
    {
        await call(q).ConfigureAwait(false);
        return true;
    });

    private void ThrowIfDead(string? function)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (IsDead)
        {
            throw Died(function, null);
        }
    }

    private InstanceDiedException Died(string? function, Exception? inner)
        => new($"KVM instance {Id} died: {Volatile.Read(ref _deathReason) ?? inner?.Message ?? "unknown"}.{DescribeFailure()}", inner)
        {
            InstanceId = Id,
            FunctionName = function,
        };

    private void MarkDead(string reason)
    {
        if (Interlocked.CompareExchange(ref _deathReason, reason, null) is not null || Volatile.Read(ref _disposed) != 0 || _process.KilledByHost)
        {
            return;
        }

        _provider.Metrics.InstancesDied.Add(1, new KeyValuePair<string, object?>(KvmDiagnostics.AccelTag, _accel));
        KvmLog.GuestDied(_provider.Logger, Id, reason);
    }

    /// <summary>QEMU's standard error and the guest console's tail, for error messages.</summary>
    private string DescribeFailure()
    {
        var sb = new StringBuilder();
        var stderr = _process.StandardErrorTail();
        if (stderr.Length > 0)
        {
            sb.Append(" QEMU said: ").Append(stderr.Length > 1000 ? stderr[^1000..] : stderr);
        }

        try
        {
            if (File.Exists(_consoleLog))
            {
                var console = File.ReadAllText(_consoleLog).Trim();
                if (console.Length > 0)
                {
                    sb.Append(" Guest console: ").Append(console.Length > 1000 ? console[^1000..] : console);
                }
            }
        }
        catch (IOException)
        {
        }

        return sb.ToString();
    }
}
