using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
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
internal sealed class KvmInstance : IInstance
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);
    private readonly KvmInstanceProvider _provider;
    private readonly QemuProcess _process;
    private readonly string _directory;
    private readonly string _consoleLog;
    private readonly string _accel;
    private QmpClient? _qmp;
    private AgentChannel? _agent;
    private string? _deathReason;
    private string? _loadedFunction;
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

    /// <summary>Starts QEMU (a boot, or a restore when <paramref name="launch"/> has an incoming snapshot) and waits until the agent answers HELLO.</summary>
    public static async Task<KvmInstance> StartAsync(KvmInstanceProvider provider, string id, string directory, QemuLaunch launch, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var tp = provider.TimeProvider;
        var restore = launch.IncomingSnapshotPath is not null;
        var kind = restore ? "restore" : "boot";
        using var activity = KvmMetrics.ActivitySource.StartActivity(KvmDiagnostics.StartActivity);
        activity?.SetTag(KvmDiagnostics.StartKindTag, kind);
        activity?.SetTag(KvmDiagnostics.AccelTag, launch.Kvm ? "kvm" : "tcg");
        var started = tp.GetTimestamp();
        var process = QemuProcess.Start(provider.QemuPath, QemuCommandLine.Build(launch));
        var instance = new KvmInstance(provider, id, process, directory, launch.ConsoleLogPath, launch.Kvm ? "kvm" : "tcg");
        using var timeoutCts = new CancellationTokenSource(timeout, tp);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        try
        {
            var ct = linked.Token;
            bool Alive() => !process.HasExited;
            instance._qmp = await QmpClient.ConnectAsync(launch.QmpSocketPath, timeout, tp, ct, Alive).ConfigureAwait(false);
            instance._qmp.Closed += ex => instance.MarkDead("the QMP connection closed: " + ex.Message);
            instance._qmp.EventReceived += e =>
            {
                if (e.Name == "SHUTDOWN")
                {
                    instance.MarkDead("the guest shut down");
                }
            };
            if (restore)
            {
                // -incoming: QEMU reads the snapshot, then stays paused ("inmigrate" until the whole state is in)
                while ((await instance._qmp.QueryStatusAsync(ct).ConfigureAwait(false)).Status == "inmigrate")
                {
                    await Task.Delay(PollInterval, tp, ct).ConfigureAwait(false);
                }
            }

            var agentStream = await UnixSocket.ConnectAsync(launch.AgentSocketPath, timeout, tp, ct, Alive).ConfigureAwait(false);
            instance._agent = new AgentChannel(agentStream, provider.Options.MaxFrameBytes, tp);
            instance._agent.Closed += ex => instance.MarkDead("the guest agent channel closed: " + ex.Message);
            if (restore)
            {
                await instance._qmp.ContinueAsync(ct).ConfigureAwait(false);
            }

            var hello = await instance._agent.HelloAsync(Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false);
            if (hello.ProtocolVersion != AgentFrameCodec.ProtocolVersion)
            {
                throw new AgentProtocolException(AgentProtocolError.BadMagic, $"The guest agent speaks protocol version {hello.ProtocolVersion}; this host speaks {AgentFrameCodec.ProtocolVersion}.");
            }

            instance.AgentVersion = hello.AgentVersion;
            var elapsed = tp.GetElapsedTime(started);
            provider.Metrics.StartDuration.Record(
                elapsed.TotalSeconds,
                new KeyValuePair<string, object?>(KvmDiagnostics.StartKindTag, kind),
                new KeyValuePair<string, object?>(KvmDiagnostics.AccelTag, instance._accel));
            KvmLog.GuestStarted(provider.Logger, id, kind == "boot" ? "booted" : "restored", elapsed.TotalMilliseconds, process.Pid, hello.AgentVersion);
            return instance;
        }
        catch (Exception ex)
        {
            var why = instance.DescribeFailure();
            await instance.DisposeAsync().ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            var what = timeoutCts.IsCancellationRequested
                ? $"the guest agent was not ready within {timeout.TotalSeconds:F0} s"
                : ex.Message;
            throw new InstanceProviderException($"Starting a KVM guest ({kind}, {instance._accel}) failed: {what}.{why}", ex) { ProviderName = KvmInstanceProvider.ProviderName };
        }
    }

    public async ValueTask LoadAsync(FunctionDefinition definition, TenantId tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (definition.Code is not ProgramFunctionCode program)
        {
            throw new InstanceProviderException($"The KVM provider runs programs (ProgramFunctionCode), not {definition.Code.Kind} code (function '{definition.Name}').") { FunctionName = definition.Name, ProviderName = KvmInstanceProvider.ProviderName };
        }

        if (_loadedFunction is not null)
        {
            throw new InvalidOperationException($"Instance {Id} already holds function '{_loadedFunction}'; recycle it before loading '{definition.Name}'.");
        }

        var agent = await ReadyAgentAsync(definition.Name, cancellationToken).ConfigureAwait(false);
        var timeout = _provider.Options.AgentTimeout;
        await ControlAsync(definition.Name, async ct =>
        {
            if (program.Files is { } files)
            {
                foreach (var (path, content) in files)
                {
                    if (!AgentFrameCodec.IsValidToken(path) || path.Contains("..", StringComparison.Ordinal))
                    {
                        throw new InstanceProviderException($"File path '{path}' of function '{definition.Name}' is not valid: use printable ASCII without spaces or '..'.") { FunctionName = definition.Name, ProviderName = KvmInstanceProvider.ProviderName };
                    }

                    await agent.WriteFileAsync(path, content, timeout, ct).ConfigureAwait(false);
                }
            }

            await agent.LoadAsync(program.Command, timeout, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        _loadedFunction = definition.Name;
    }

    public async ValueTask<ReadOnlyMemory<byte>> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_loadedFunction is null)
        {
            throw new InvalidOperationException($"Instance {Id} has no function loaded.");
        }

        var agent = await ReadyAgentAsync(request.FunctionName, cancellationToken).ConfigureAwait(false);
        AgentInvokeResult result;
        try
        {
            result = await agent.InvokeAsync(request.Payload, request.InvocationId, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the agent finishes the program on its own; its late RESULT is dropped by id
            throw;
        }
        catch (Exception ex) when (ex is AgentChannelClosedException || (ex is AgentProtocolException p && p.Error != AgentProtocolError.AgentError))
        {
            MarkDead(ex.Message);
            throw Died(request.FunctionName, ex);
        }

        if (result.ExitCode != 0)
        {
            var stderr = Encoding.UTF8.GetString(result.Error.Span).Trim();
            throw new FunctionExecutionException(
                $"Function '{request.FunctionName}' exited with status {result.ExitCode} on instance {Id}{(stderr.Length == 0 ? "." : ": " + stderr)}")
            { FunctionName = request.FunctionName };
        }

        return result.Output;
    }

    public async ValueTask<bool> RecycleAsync(CancellationToken cancellationToken)
    {
        if (IsDead || Volatile.Read(ref _disposed) != 0 || !_provider.Options.RecycleByReset)
        {
            return false;
        }

        try
        {
            var agent = await ReadyAgentAsync(_loadedFunction, cancellationToken).ConfigureAwait(false);
            await ControlAsync(_loadedFunction, ct => agent.ResetAsync(_provider.Options.AgentTimeout, ct), cancellationToken).ConfigureAwait(false);
            _loadedFunction = null;
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is OnDemandExecutionException or AgentProtocolException)
        {
            return false;
        }
    }

    public async ValueTask<InstanceHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        if (IsDead || _agent is not { } agent)
        {
            return InstanceHealth.Dead;
        }

        if (_paused)
        {
            return InstanceHealth.Healthy; // a stopped guest cannot answer; QEMU being alive is all there is to know
        }

        try
        {
            await agent.HealthAsync(_provider.Options.AgentTimeout, cancellationToken).ConfigureAwait(false);
            return InstanceHealth.Healthy;
        }
        catch (TimeoutException ex)
        {
            MarkDead(ex.Message);
            return InstanceHealth.Dead;
        }
        catch (AgentChannelClosedException)
        {
            return InstanceHealth.Dead;
        }
        catch (AgentProtocolException)
        {
            return InstanceHealth.Degraded;
        }
    }

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
    /// Saves a snapshot: <c>stop</c>, <c>migrate</c> to <c>exec:cat &gt; file</c> (QEMU 7.2 has no <c>file:</c> URI),
    /// poll <c>query-migrate</c> until it completes, then <c>cont</c> so this guest goes on serving.
    /// </summary>
    public async Task SaveSnapshotAsync(string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var qmp = _qmp ?? throw new InvalidOperationException("Not started.");
        var tp = _provider.TimeProvider;
        using var timeoutCts = new CancellationTokenSource(timeout, tp);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        var ct = linked.Token;
        var temp = path + "." + Id + ".tmp";
        try
        {
            await qmp.StopAsync(ct).ConfigureAwait(false);
            await qmp.MigrateAsync("exec:cat > " + QemuCommandLine.ShellQuote(temp), ct).ConfigureAwait(false);
            while (true)
            {
                var m = await qmp.QueryMigrateAsync(ct).ConfigureAwait(false);
                if (m.Status == "completed")
                {
                    break;
                }

                if (m.Status is "failed" or "cancelled")
                {
                    throw new InvalidOperationException($"Migration to {temp} {m.Status}: {m.ErrorDescription}");
                }

                await Task.Delay(PollInterval, tp, ct).ConfigureAwait(false);
            }

            File.Move(temp, path, overwrite: true);
            await qmp.ContinueAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            TryDelete(temp);
            throw;
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

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private async Task<AgentChannel> ReadyAgentAsync(string? function, CancellationToken cancellationToken)
    {
        ThrowIfDead(function);
        if (_paused)
        {
            await ResumeAsync(cancellationToken).ConfigureAwait(false);
        }

        return _agent!;
    }

    private async Task ControlAsync(string? function, Func<CancellationToken, Task> call, CancellationToken cancellationToken)
    {
        try
        {
            await call(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is TimeoutException or AgentChannelClosedException || (ex is AgentProtocolException p && p.Error != AgentProtocolError.AgentError))
        {
            MarkDead(ex.Message);
            throw Died(function, ex);
        }
        catch (AgentProtocolException ex)
        {
            throw new InstanceProviderException($"The guest agent of instance {Id} refused a request: {ex.Message}", ex) { FunctionName = function, ProviderName = KvmInstanceProvider.ProviderName };
        }
    }

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
