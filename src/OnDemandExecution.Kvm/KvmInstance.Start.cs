using OnDemandExecution.GuestAgent;
using OnDemandExecution.Kvm.Diagnostics;
using OnDemandExecution.Kvm.Qemu;
using OnDemandExecution.Kvm.Qmp;
using OnDemandExecution.Kvm.Sandbox;

namespace OnDemandExecution.Kvm;

/// <content>Starting a guest: a boot, or a clone of a template.</content>
internal sealed partial class KvmInstance
{
    /// <summary>
    /// Starts QEMU (a boot, or a clone of a template when <paramref name="incomingState"/> is given) and waits until
    /// the agent answers HELLO; then, when <paramref name="seed"/>, reseeds the guest's RNG with host entropy (SEED).
    /// </summary>
    public static async Task<KvmInstance> StartAsync(KvmInstanceProvider provider, string id, string directory, QemuLaunch launch, byte[]? incomingState, bool seed, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var tp = provider.TimeProvider;
        var restore = incomingState is not null;
        var kind = restore ? "restore" : "boot";
        using var activity = KvmMetrics.ActivitySource.StartActivity(KvmDiagnostics.StartActivity);
        activity?.SetTag(KvmDiagnostics.StartKindTag, kind);
        activity?.SetTag(KvmDiagnostics.AccelTag, launch.Kvm ? "kvm" : "tcg");
        var started = tp.GetTimestamp();
        var process = QemuProcess.Start(provider.Sandbox.Prefix, provider.QemuPath, QemuCommandLine.Build(launch));
        var instance = new KvmInstance(provider, id, process, directory, launch.ConsoleLogPath, launch.Kvm ? "kvm" : "tcg");
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
            if (incomingState is not null)
            {
                // -incoming defer: ignore shared RAM (the template file is the RAM), listen on a Unix socket in the
                // instance's directory and stream the verified device state in (no exec:, which the sandbox denies)
                await instance._qmp.IgnoreSharedMemoryAsync(ct).ConfigureAwait(false);
                var incoming = Path.Combine(directory, "in.sock");
                await instance._qmp.MigrateIncomingAsync("unix:" + incoming, ct).ConfigureAwait(false);
                await using (var stream = await UnixSocket.ConnectAsync(incoming, timeout, tp, ct, Alive).ConfigureAwait(false))
                {
                    await stream.WriteAsync(incomingState, ct).ConfigureAwait(false);
                }

                // "inmigrate" until the whole state is in
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

            instance._session = new GuestAgentSession(instance._agent, instance, provider.Options.AgentTimeout);
            var hello = await instance._session.HelloAsync(ct).ConfigureAwait(false);
            if (seed && !await instance._session.SeedAsync(id, ct).ConfigureAwait(false))
            {
                KvmLog.SeedUnsupported(provider.Logger, id, hello.AgentVersion);
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
}
