using OnDemandExecution.GuestAgent;
using OnDemandExecution.Kvm.Diagnostics;
using OnDemandExecution.Kvm.Qemu;
using OnDemandExecution.Kvm.Qmp;
using OnDemandExecution.Kvm.Sandbox;

namespace OnDemandExecution.Kvm;

/// <content>
/// Starting a guest, in two phases: <see cref="LaunchAsync"/> starts QEMU and connects QMP (for a clone, up to
/// listening for the incoming state), <see cref="CompleteStartAsync"/> brings the guest up to its agent's first answer.
/// A standby is a clone launched ahead of time and completed when a caller asks for an instance.
/// </content>
internal sealed partial class KvmInstance
{
    /// <summary>Whether the instance was launched as a clone and still waits for its state (a standby).</summary>
    internal bool AwaitsState { get; private set; }

    /// <summary>
    /// Starts QEMU (a boot, or a clone of a template when <paramref name="incomingState"/> is given) and waits until
    /// the agent answers HELLO; then, when <paramref name="seed"/>, reseeds the guest's RNG with host entropy (SEED).
    /// </summary>
    public static async Task<KvmInstance> StartAsync(KvmInstanceProvider provider, string id, string directory, QemuLaunch launch, byte[]? incomingState, bool seed, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = provider.TimeProvider.GetTimestamp();
        var instance = await LaunchAsync(provider, id, directory, launch, timeout, cancellationToken).ConfigureAwait(false);
        await instance.CompleteStartAsync(incomingState, seed, timeout, started, incomingState is null ? "boot" : "restore", cancellationToken).ConfigureAwait(false);
        return instance;
    }

    /// <summary>
    /// Starts QEMU and connects QMP; for a clone (<see cref="QemuLaunch.Incoming"/>) also marks the template's RAM as
    /// shared and listens for the device state on a Unix socket in the instance's directory. Nothing guest-specific
    /// has happened yet: the guest has no state, no RNG and no identity until <see cref="CompleteStartAsync"/>.
    /// </summary>
    public static async Task<KvmInstance> LaunchAsync(KvmInstanceProvider provider, string id, string directory, QemuLaunch launch, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var tp = provider.TimeProvider;
        var process = QemuProcess.Start(provider.Sandbox.Prefix, provider.QemuPath, QemuCommandLine.Build(launch));
        var instance = new KvmInstance(provider, id, process, directory, launch.ConsoleLogPath, launch.Kvm ? "kvm" : "tcg") { _launch = launch };
        try
        {
            // the pid file lets a later provider reclaim this QEMU if the host process dies without disposing it
            StateDirectory.WritePidFile(Path.Combine(directory, StateDirectory.QemuPidFile), ProcessIdentity.Of(process.Pid) ?? new ProcessIdentity(process.Pid, 0));
        }
        catch (IOException)
        {
            // the process already exited; the start below reports why
        }

        using var timeoutCts = new CancellationTokenSource(timeout, tp);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        try
        {
            var ct = linked.Token;
            instance._qmp = await QmpClient.ConnectAsync(launch.QmpSocketPath, timeout, tp, ct, instance.Alive).ConfigureAwait(false);
            instance._qmp.Closed += ex => instance.MarkDead("the QMP connection closed: " + ex.Message);
            instance._qmp.EventReceived += e =>
            {
                if (e.Name == "SHUTDOWN")
                {
                    instance.MarkDead("the guest shut down");
                }
            };
            if (launch.Incoming)
            {
                // -incoming defer: ignore shared RAM (the template file is the RAM) and listen on a Unix socket in the
                // instance's directory for the verified device state (no exec:, which the sandbox denies)
                await instance._qmp.IgnoreSharedMemoryAsync(ct).ConfigureAwait(false);
                await instance._qmp.MigrateIncomingAsync("unix:" + instance.IncomingSocketPath, ct).ConfigureAwait(false);
                instance.AwaitsState = true;
            }

            return instance;
        }
        catch (Exception ex)
        {
            throw await instance.FailStartAsync(ex, launch.Incoming ? "restore" : "boot", timeoutCts.IsCancellationRequested, timeout, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Brings a launched guest up: streams <paramref name="incomingState"/> in (a clone), connects the agent, continues
    /// the clone, waits for HELLO and reseeds (SEED) when <paramref name="seed"/>. Records the start duration from
    /// <paramref name="started"/> under <paramref name="kind"/>. Disposes the instance when it fails.
    /// </summary>
    public async Task CompleteStartAsync(byte[]? incomingState, bool seed, TimeSpan timeout, long started, string kind, CancellationToken cancellationToken)
    {
        var tp = _provider.TimeProvider;
        using var activity = KvmMetrics.ActivitySource.StartActivity(KvmDiagnostics.StartActivity);
        activity?.SetTag(KvmDiagnostics.StartKindTag, kind);
        activity?.SetTag(KvmDiagnostics.AccelTag, _accel);
        using var timeoutCts = new CancellationTokenSource(timeout, tp);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        try
        {
            var ct = linked.Token;
            if (incomingState is not null != AwaitsState)
            {
                throw new InvalidOperationException(AwaitsState ? "a clone needs its template's state" : "a booted guest takes no state");
            }

            if (incomingState is not null)
            {
                await using (var stream = await UnixSocket.ConnectAsync(IncomingSocketPath, timeout, tp, ct, Alive).ConfigureAwait(false))
                {
                    await stream.WriteAsync(incomingState, ct).ConfigureAwait(false);
                }

                AwaitsState = false;

                // "inmigrate" until the whole state is in
                while ((await _qmp!.QueryStatusAsync(ct).ConfigureAwait(false)).Status == "inmigrate")
                {
                    await Task.Delay(PollInterval, tp, ct).ConfigureAwait(false);
                }
            }

            var agentStream = await UnixSocket.ConnectAsync(_launch!.AgentSocketPath, timeout, tp, ct, Alive).ConfigureAwait(false);
            _agent = new AgentChannel(agentStream, _provider.Options.MaxFrameBytes, tp);
            _agent.Closed += ex => MarkDead("the guest agent channel closed: " + ex.Message);
            if (incomingState is not null)
            {
                await _qmp!.ContinueAsync(ct).ConfigureAwait(false);
            }

            _session = new GuestAgentSession(_agent, this, _provider.Options.AgentTimeout);
            var hello = await _session.HelloAsync(ct).ConfigureAwait(false);
            if (seed && !await _session.SeedAsync(Id, ct).ConfigureAwait(false))
            {
                KvmLog.SeedUnsupported(_provider.Logger, Id, hello.AgentVersion);
            }

            AgentVersion = hello.AgentVersion;
            var elapsed = tp.GetElapsedTime(started);
            _provider.Metrics.StartDuration.Record(
                elapsed.TotalSeconds,
                new KeyValuePair<string, object?>(KvmDiagnostics.StartKindTag, kind),
                new KeyValuePair<string, object?>(KvmDiagnostics.AccelTag, _accel));
            KvmLog.GuestStarted(_provider.Logger, Id, kind switch { "boot" => "booted", "standby" => "restored into a standby QEMU", _ => "restored" }, elapsed.TotalMilliseconds, ProcessId, hello.AgentVersion);
        }
        catch (Exception ex)
        {
            throw await FailStartAsync(ex, kind, timeoutCts.IsCancellationRequested, timeout, cancellationToken).ConfigureAwait(false);
        }
    }

    private string IncomingSocketPath => Path.Combine(_directory, "in.sock");

    private bool Alive() => !_process.HasExited;

    /// <summary>Disposes the instance and returns what to throw: the caller's cancellation as is, anything else as a provider error.</summary>
    private async Task<Exception> FailStartAsync(Exception ex, string kind, bool timedOut, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var why = DescribeFailure();
        await DisposeAsync().ConfigureAwait(false);
        if (cancellationToken.IsCancellationRequested)
        {
            return ex is OperationCanceledException ? ex : new OperationCanceledException(cancellationToken);
        }

        var what = timedOut ? $"the guest agent was not ready within {timeout.TotalSeconds:F0} s" : ex.Message;
        return new InstanceProviderException($"Starting a KVM guest ({kind}, {_accel}) failed: {what}.{why}", ex) { ProviderName = KvmInstanceProvider.ProviderName };
    }
}
