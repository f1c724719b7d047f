using System.Net.Sockets;
using System.Text;
using OnDemandExecution.GuestAgent;
using OnDemandExecution.HyperV.Diagnostics;
using OnDemandExecution.HyperV.Hcs;

namespace OnDemandExecution.HyperV;

/// <summary>
/// One Hyper-V compute system and its guest-agent channel over a Hyper-V socket. The system exiting (the HCS exit
/// callback), HCS reporting it gone, or the agent channel closing or timing out marks it dead; after that every call
/// fails with <see cref="InstanceDiedException"/> and only disposal is left. Disposal terminates the system and closes
/// its handle exactly once.
/// </summary>
internal sealed class HyperVInstance : IInstance, IGuestAgentHost
{
    /// <summary>How often connecting to the agent is retried while the guest boots.</summary>
    internal static readonly TimeSpan ConnectRetryInterval = TimeSpan.FromMilliseconds(50);

    private readonly HyperVInstanceProvider _provider;
    private readonly HcsSystemHandle _system;
    private AgentChannel? _agent;
    private string? _deathReason;
    private GuestAgentSession? _session;
    private int _disposed;
    private int _agentDisposed;
    private volatile bool _paused;
    private volatile bool _exited;
    private volatile bool _destroying;

    private HyperVInstance(HyperVInstanceProvider provider, string id, HcsSystemHandle system)
    {
        _provider = provider;
        Id = id;
        _system = system;
    }

    public string Id { get; }

    public InstanceLocation Location => InstanceLocation.Local;

    /// <summary>The VM's runtime id (the VM id of its Hyper-V sockets).</summary>
    public Guid VmId { get; private set; }

    /// <summary>Whether the instance died (the system exited, HCS lost it, or the agent stopped answering).</summary>
    public bool IsDead => Volatile.Read(ref _deathReason) is not null;

    /// <summary>Why it died, or null.</summary>
    public string? DeathReason => Volatile.Read(ref _deathReason);

    /// <summary>The agent's version from its READY frame.</summary>
    public string AgentVersion { get; private set; } = "unknown";

    /// <summary>The compute system's handle (for integration tests that act on the system directly).</summary>
    internal HcsSystemHandle SystemHandle => _system;

    private HcsClient Hcs => _provider.Hcs;

    /// <summary>
    /// Creates the compute system, registers for its events, reads its VM id, starts it, connects to the agent over a
    /// Hyper-V socket (retrying while the guest boots) and waits for READY; all within
    /// <see cref="HyperVProviderOptions.BootTimeout"/>. On any failure whatever was created is terminated and closed.
    /// </summary>
    public static async Task<HyperVInstance> StartAsync(HyperVInstanceProvider provider, string id, InstanceSpec spec, CancellationToken cancellationToken)
    {
        var options = provider.Options;
        var tp = provider.TimeProvider;
        var boot = options.BootMode == HyperVBootMode.Uefi ? "uefi" : "linux-kernel-direct";
        using var activity = HyperVMetrics.ActivitySource.StartActivity(HyperVDiagnostics.StartActivity);
        activity?.SetTag(HyperVDiagnostics.BootTag, boot);
        var started = tp.GetTimestamp();
        var document = ComputeSystemDocumentBuilder.Serialize(ComputeSystemDocumentBuilder.Build(options, spec.MemoryMb, spec.VCpuCount));
        using var timeoutCts = new CancellationTokenSource(options.BootTimeout, tp);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        var ct = linked.Token;
        HyperVInstance? instance = null;
        var stage = "HcsCreateComputeSystem";
        try
        {
            var system = await provider.Hcs.CreateComputeSystemAsync(id, document, options.BootTimeout, ct).ConfigureAwait(false);
            instance = new HyperVInstance(provider, id, system);
            var hr = provider.Hcs.Api.SetComputeSystemCallback(system, instance.OnEvent);
            if (hr < 0)
            {
                throw new HcsException("HcsSetComputeSystemCallback", hr, null);
            }

            stage = "HcsGetComputeSystemProperties";
            var properties = await provider.Hcs.RunAsync("HcsGetComputeSystemProperties", op => provider.Hcs.Api.GetComputeSystemProperties(system, op, null), options.BootTimeout, ct).ConfigureAwait(false);
            instance.VmId = HcsResultDocument.RuntimeId(properties);
            stage = "HcsStartComputeSystem";
            await provider.Hcs.RunAsync("HcsStartComputeSystem", op => provider.Hcs.Api.StartComputeSystem(system, op, null), options.BootTimeout, ct).ConfigureAwait(false);

            stage = "connecting to the agent over the Hyper-V socket";
            var stream = await instance.ConnectAgentAsync(ct).ConfigureAwait(false);
            instance._agent = new AgentChannel(stream, options.MaxFrameBytes, tp);
            instance._agent.Closed += ex => instance.MarkDead("the guest agent channel closed: " + ex.Message);
            instance._session = new GuestAgentSession(instance._agent, instance, options.AgentTimeout);
            stage = "waiting for the agent's READY";
            var hello = await instance._session.HelloAsync(ct).ConfigureAwait(false);

            instance.ThrowIfExitedDuringStart();
            instance.AgentVersion = hello.AgentVersion;
            var elapsed = tp.GetElapsedTime(started);
            provider.Metrics.StartDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>(HyperVDiagnostics.BootTag, boot));
            HyperVLog.GuestStarted(provider.Logger, id, elapsed.TotalMilliseconds, instance.VmId, hello.AgentVersion);
            return instance;
        }
        catch (Exception ex)
        {
            var died = instance?.DeathReason;
            if (instance is not null)
            {
                await instance.DisposeAsync().ConfigureAwait(false);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                if (ex is OperationCanceledException)
                {
                    throw;
                }

                throw new OperationCanceledException($"Starting Hyper-V compute system {id} was cancelled.", ex, cancellationToken);
            }

            var what = timeoutCts.IsCancellationRequested
                ? $"the guest agent was not ready within {options.BootTimeout.TotalSeconds:F0} s (still {stage})"
                : ex.Message.TrimEnd('.');
            if (died is not null && !what.Contains(died, StringComparison.Ordinal))
            {
                what += $" ({died})";
            }

            throw new InstanceProviderException($"Starting Hyper-V compute system {id} ({boot}) failed: {what}.", ex) { ProviderName = HyperVInstanceProvider.ProviderName };
        }
    }

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

    /// <summary>False once the system exited, HCS lost it, or the agent channel closed.</summary>
    public bool IsAlive => !IsDead && Volatile.Read(ref _disposed) == 0 && _session is { IsOpen: true };

    /// <summary>The agent's CANCEL: true only when it confirms the timed-out program's process group is gone.</summary>
    public ValueTask<bool> StopWorkAsync(CancellationToken cancellationToken)
        => IsDead || _session is not { } session ? new(false) : session.StopWorkAsync(cancellationToken);

    /// <summary><c>HcsPauseComputeSystem</c>: the guest's virtual processors stop; memory stays.</summary>
    public async ValueTask PauseAsync(CancellationToken cancellationToken)
    {
        var options = ComputeSystemDocumentBuilder.PauseOptions(forSave: false);
        await HcsAsync("HcsPauseComputeSystem", op => Hcs.Api.PauseComputeSystem(_system, op, options), null, cancellationToken).ConfigureAwait(false);
        _paused = true;
    }

    /// <summary><c>HcsResumeComputeSystem</c>.</summary>
    public async ValueTask ResumeAsync(CancellationToken cancellationToken)
    {
        await HcsAsync("HcsResumeComputeSystem", op => Hcs.Api.ResumeComputeSystem(_system, op, null), null, cancellationToken).ConfigureAwait(false);
        _paused = false;
    }

    /// <summary>
    /// Saves the guest's state to <paramref name="path"/> (a <c>.vmrs</c> file): pause with the save hint,
    /// <c>HcsSaveComputeSystem</c> with SaveType <c>ToFile</c>, then resume. If HCS stopped the system with the save
    /// (whether it does is one of the things to verify on Windows) the resume fails and the instance is dead.
    /// </summary>
    public async Task SaveAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var activity = HyperVMetrics.ActivitySource.StartActivity(HyperVDiagnostics.SaveActivity);
        var started = _provider.TimeProvider.GetTimestamp();
        var pause = ComputeSystemDocumentBuilder.PauseOptions(forSave: true);
        var save = ComputeSystemDocumentBuilder.SaveOptions(path);
        await HcsAsync("HcsPauseComputeSystem", op => Hcs.Api.PauseComputeSystem(_system, op, pause), null, cancellationToken).ConfigureAwait(false);
        _paused = true;
        await HcsAsync("HcsSaveComputeSystem", op => Hcs.Api.SaveComputeSystem(_system, op, save), null, cancellationToken).ConfigureAwait(false);
        HyperVLog.StateSaved(_provider.Logger, Id, path, _provider.TimeProvider.GetElapsedTime(started).TotalMilliseconds);
        await ResumeAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _destroying = true;
        _provider.Untrack(this);
        try
        {
            if (!_exited)
            {
                try
                {
                    await Hcs.RunAsync("HcsTerminateComputeSystem", op => Hcs.Api.TerminateComputeSystem(_system, op, null), _provider.Options.OperationTimeout, CancellationToken.None).ConfigureAwait(false);
                }
                catch (HcsException ex) when (HcsErrors.MeansSystemGone(ex.HResult))
                {
                    // already stopped: nothing to terminate
                }
                catch (Exception ex) when (ex is HcsException or TimeoutException)
                {
                    // closing the handle still stops it (ShouldTerminateOnLastHandleClosed)
                    HyperVLog.CleanupFailed(_provider.Logger, Id, ex);
                }
            }

            await DisposeAgentAsync().ConfigureAwait(false);
        }
        finally
        {
            _system.Dispose();
            HyperVLog.GuestDestroyed(_provider.Logger, Id);
        }
    }

    /// <summary>The HCS event callback (an HCS thread): an exit or crash marks the instance dead and closes the agent channel so pending calls fail at once.</summary>
    internal void OnEvent(HcsEventType type, string? eventData)
    {
        HyperVLog.EventReceived(_provider.Logger, Id, type.ToString());
        switch (type)
        {
            case HcsEventType.SystemExited:
                _exited = true;
                var status = HcsResultDocument.ExitStatus(eventData);
                MarkDead(status is null
                    ? "the compute system exited"
                    : $"the compute system exited ({status.ExitType ?? "no exit type"}, status {HcsErrors.Describe(status.Status)})");
                CloseAgentInBackground();
                break;
            case HcsEventType.SystemCrashInitiated or HcsEventType.SystemCrashReport:
                MarkDead("the guest crashed");
                CloseAgentInBackground();
                break;
            case HcsEventType.ServiceDisconnect:
                MarkDead("the Host Compute Service disconnected");
                CloseAgentInBackground();
                break;
            default:
                break;
        }
    }

    string IGuestAgentHost.InstanceId => Id;

    string IGuestAgentHost.ProviderName => HyperVInstanceProvider.ProviderName;

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

    private void ThrowIfExitedDuringStart()
    {
        if (IsDead)
        {
            throw new HcsException("The compute system died while it started: " + DeathReason);
        }
    }

    private async Task<Stream> ConnectAgentAsync(CancellationToken cancellationToken)
    {
        var serviceId = ComputeSystemDocumentBuilder.AgentServiceId(_provider.Options);
        while (true)
        {
            ThrowIfExitedDuringStart();
            try
            {
                return await _provider.Connector.ConnectAsync(VmId, serviceId, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or IOException && !cancellationToken.IsCancellationRequested)
            {
                // the guest is still booting: nobody listens on the agent's port yet
            }

            await Task.Delay(ConnectRetryInterval, _provider.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private void CloseAgentInBackground()
    {
        if (Volatile.Read(ref _agent) is not null && Volatile.Read(ref _agentDisposed) == 0)
        {
            _ = Task.Run(DisposeAgentAsync);
        }
    }

    private async Task DisposeAgentAsync()
    {
        if (Volatile.Read(ref _agent) is { } agent && Interlocked.Exchange(ref _agentDisposed, 1) == 0)
        {
            await agent.DisposeAsync().ConfigureAwait(false);
        }
    }

    private GuestAgentSession Session(string? function)
    {
        ThrowIfDead(function);
        return _session ?? throw new InvalidOperationException($"Instance {Id} has not started.");
    }

    /// <summary>One HCS call on this system, with its errors mapped: a system HCS reports gone, or one that does not answer in time, is dead.</summary>
    private async Task<string?> HcsAsync(string name, Func<HcsOperationHandle, int> call, string? function, CancellationToken cancellationToken)
    {
        ThrowIfDead(function);
        try
        {
            return await Hcs.RunAsync(name, call, _provider.Options.OperationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (HcsException ex) when (HcsErrors.MeansSystemGone(ex.HResult))
        {
            MarkDead(ex.Message);
            throw Died(function, ex);
        }
        catch (TimeoutException ex)
        {
            MarkDead(ex.Message);
            throw Died(function, ex);
        }
        catch (HcsException ex)
        {
            throw new InstanceProviderException($"{ex.Message} (instance {Id})", ex) { FunctionName = function, ProviderName = HyperVInstanceProvider.ProviderName };
        }
    }

    private void ThrowIfDead(string? function)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (IsDead)
        {
            throw Died(function, null);
        }
    }

    private InstanceDiedException Died(string? function, Exception? inner)
        => new($"Hyper-V instance {Id} died: {Volatile.Read(ref _deathReason) ?? inner?.Message ?? "unknown"}.", inner)
        {
            InstanceId = Id,
            FunctionName = function,
        };

    private void MarkDead(string reason)
    {
        if (_destroying || Interlocked.CompareExchange(ref _deathReason, reason, null) is not null)
        {
            return;
        }

        _provider.Metrics.InstancesDied.Add(1, new KeyValuePair<string, object?>(HyperVDiagnostics.BootTag, _provider.Options.BootMode == HyperVBootMode.Uefi ? "uefi" : "linux-kernel-direct"));
        HyperVLog.GuestDied(_provider.Logger, Id, reason);
    }
}
