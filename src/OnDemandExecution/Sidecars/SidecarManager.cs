using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OnDemandExecution.Diagnostics;
using OnDemandExecution.Execution;
using OnDemandExecution.Pooling;

namespace OnDemandExecution.Sidecars;

/// <summary>
/// Starts, shares, binds and stops sidecars. A sidecar is started when the first invocation that needs it arrives
/// (concurrently with the primary instance's acquisition), bound to every primary instance that runs an invocation with
/// it, and stopped when the last primary it serves is destroyed and no invocation holds it (at once for per-request ones).
/// </summary>
/// <remarks>
/// Bookkeeping takes one lock; it is off the path of functions without sidecars (the executor never calls in for them)
/// except for <see cref="OnInstanceRetired"/>, which returns without locking while no primary is bound.
/// </remarks>
internal sealed class SidecarManager : IAsyncDisposable, IDisposable
{
    private readonly PoolManager _pool; // sidecars without a provider of their own run on the default provider's pool
    private readonly ProviderPools _pools;
    private readonly OnDemandExecutionOptions _options;
    private readonly OnDemandMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly Dictionary<object, RunningSidecar> _shared = [];
    private readonly Dictionary<string, List<RunningSidecar>> _byPrimary = new(StringComparer.Ordinal);
    private readonly HashSet<RunningSidecar> _all = []; // running or starting, not stopped
    private readonly ConcurrentDictionary<Task, byte> _background = new();
    private readonly CancellationTokenSource _shutdown = new();
    private int _boundPrimaries;

    public SidecarManager(ProviderPools pools, IOptions<OnDemandExecutionOptions> options, OnDemandMetrics metrics, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        ArgumentNullException.ThrowIfNull(pools);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        _pools = pools;
        _pool = pools.Default;
        _options = options.Value;
        _metrics = metrics;
        _logger = (ILogger?)loggerFactory?.CreateLogger<SidecarManager>() ?? NullLogger.Instance;
        foreach (var pool in pools.All)
        {
            pool.InstanceRetired += OnInstanceRetired; // primaries of every provider: a sidecar stops with the last one it serves
        }
    }

    /// <summary>Sidecars running or starting now (for tests and the sample).</summary>
    public int RunningCount
    {
        get
        {
            lock (_lock)
            {
                return _all.Count;
            }
        }
    }

    /// <summary>
    /// Attaches the sidecars <paramref name="definition"/> declares to one invocation of <paramref name="tenant"/>,
    /// starting those not running yet (without waiting). Null when the function declares none.
    /// </summary>
    public SidecarAttachment? Attach(FunctionDefinition definition, TenantId tenant)
    {
        var definitions = definition.Sidecars;
        if (definitions.Count == 0)
        {
            return null;
        }

        var sidecars = new RunningSidecar[definitions.Count];
        List<RunningSidecar>? toStart = null;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_shutdown.IsCancellationRequested, this);
            for (var i = 0; i < sidecars.Length; i++)
            {
                var sidecarDefinition = definitions[i];
                object? key = sidecarDefinition.Scope switch
                {
                    SidecarScope.PerTask => new TaskKey(tenant, definition.Name, sidecarDefinition.Name),
                    SidecarScope.PerUser => new UserKey(tenant, sidecarDefinition),
                    _ => null,
                };

                if (key is null || !_shared.TryGetValue(key, out var sidecar))
                {
                    var poolDefinition = new FunctionDefinition(FunctionDefinition.SidecarPrefix + sidecarDefinition.Name, sidecarDefinition.Code, internalName: true) { MemoryMb = sidecarDefinition.MemoryMb };
                    sidecar = new RunningSidecar(key, sidecarDefinition, tenant, poolDefinition);
                    sidecar.Handle = new SidecarHandle(sidecar, this);
                    if (key is not null)
                    {
                        _shared[key] = sidecar;
                    }

                    _all.Add(sidecar);
                    (toStart ??= []).Add(sidecar);
                }

                sidecar.Attached++;
                sidecars[i] = sidecar;
            }
        }

        if (toStart is not null)
        {
            foreach (var sidecar in toStart)
            {
                Track(StartAsync(sidecar, definition.Name));
            }
        }

        return new SidecarAttachment(this, sidecars);
    }

    public void Bind(SidecarAttachment attachment, string primaryInstanceId)
    {
        lock (_lock)
        {
            foreach (var sidecar in attachment.Sidecars)
            {
                if (sidecar.Definition.Scope == SidecarScope.PerRequest || sidecar.Stopped || !sidecar.Primaries.Add(primaryInstanceId))
                {
                    continue;
                }

                if (!_byPrimary.TryGetValue(primaryInstanceId, out var served))
                {
                    _byPrimary[primaryInstanceId] = served = [];
                    _boundPrimaries++;
                }

                served.Add(sidecar);
            }
        }
    }

    public void Detach(SidecarAttachment attachment)
    {
        List<RunningSidecar>? toRelease = null;
        lock (_lock)
        {
            foreach (var sidecar in attachment.Sidecars)
            {
                sidecar.Attached--;
                if (sidecar.Attached == 0 && sidecar.Primaries.Count == 0)
                {
                    StopLocked(sidecar, ref toRelease);
                }
            }
        }

        ReleaseAll(toRelease);
    }

    /// <summary>The handle of an attached sidecar, for the running invocation of <paramref name="frame"/>.</summary>
    public static SidecarHandle GetHandle(InvocationFrame frame, string name)
    {
        var sidecar = frame.Sidecars?.Find(name)
            ?? throw new ArgumentException($"Function '{frame.Request.FunctionName}' declares no sidecar named '{name}' (FunctionDefinition.Sidecars).", nameof(name));
        return sidecar.Handle!;
    }

    public async ValueTask<ReadOnlyMemory<byte>> InvokeAsync(SidecarHandle handle, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var sidecar = handle.Sidecar;
        var frame = InvocationFrame.Current;

        // Ownership: the caller must be a running invocation of the sidecar's tenant that has the sidecar attached. The
        // tenant comes from the executor's frame, never from anything the handler could construct.
        if (frame is null || !frame.IsActive || frame.Request.Tenant != sidecar.Tenant
            || frame.Sidecars is not { IsDetached: false } attached || !attached.Contains(sidecar))
        {
            var caller = frame?.Request.Tenant.Value ?? "(none)";
            _metrics.SidecarAccessDenied.Add(1);
            Log.SidecarAccessDenied(_logger, caller, frame?.Request.InvocationId ?? "(none)", sidecar.Definition.Name, sidecar.Tenant.Value);
            throw new SidecarAccessDeniedException(
                frame is not null && frame.IsActive && frame.Request.Tenant != sidecar.Tenant
                    ? $"Sidecar '{sidecar.Definition.Name}' belongs to another tenant; an invocation can only call its own tenant's sidecars."
                    : $"Sidecar '{sidecar.Definition.Name}' is not attached to the calling invocation: call sidecars from the invocation they serve, while it runs.")
            {
                FunctionName = frame?.Request.FunctionName,
                SidecarName = sidecar.Definition.Name,
            };
        }

        // Attached to a running invocation, so it cannot stop before this call ends; it has started (the executor waited).
        var instance = sidecar.Instance!;
        using var activity = OnDemandMetrics.ActivitySource.StartActivity(OnDemandExecutionDiagnostics.SidecarInvokeActivity);
        activity?.SetTag(OnDemandExecutionDiagnostics.SidecarNameTag, sidecar.Definition.Name);
        activity?.SetTag(OnDemandExecutionDiagnostics.TenantTag, sidecar.Tenant.Value);
        activity?.SetTag(OnDemandExecutionDiagnostics.InstanceTag, instance.Instance.Id);
        await sidecar.CallLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await instance.Instance.InvokeAsync(new InvocationRequest(sidecar.PoolDefinition.Name, payload, sidecar.Tenant), cancellationToken).ConfigureAwait(false);
        }
        catch (InstanceDiedException ex)
        {
            Forget(sidecar); // the next invocation that needs it starts a new one; this one stops with its primaries
            activity.Fail(ex);
            throw;
        }
        finally
        {
            sidecar.CallLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<RunningSidecar>? toRelease = null;
        lock (_lock)
        {
            if (_shutdown.IsCancellationRequested)
            {
                return;
            }

            _shutdown.Cancel();
            foreach (var sidecar in _all.ToArray())
            {
                StopLocked(sidecar, ref toRelease);
            }
        }

        ReleaseAll(toRelease);
        foreach (var pool in _pools.All)
        {
            pool.InstanceRetired -= OnInstanceRetired;
        }

        // Bounded: a sidecar start or a dedicated provider's disposal that hangs is abandoned after ShutdownTimeout.
        using var bound = new CancellationTokenSource(_options.ShutdownTimeout, _time);
        while (!_background.IsEmpty && !bound.IsCancellationRequested)
        {
            try
            {
                await Task.WhenAll(_background.Keys).WaitAsync(bound.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // logged where they fail; a timed-out wait ends the loop
            }
        }
    }

    /// <summary>Synchronous disposal (a service provider disposed with <c>Dispose()</c>): the same bounded stop.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>The pools destroyed or recycled an instance: the sidecars it was the last primary of stop.</summary>
    private void OnInstanceRetired(string instanceId)
    {
        if (Volatile.Read(ref _boundPrimaries) == 0)
        {
            return;
        }

        List<RunningSidecar>? toRelease = null;
        lock (_lock)
        {
            if (!_byPrimary.Remove(instanceId, out var served))
            {
                return;
            }

            _boundPrimaries--;
            foreach (var sidecar in served)
            {
                sidecar.Primaries.Remove(instanceId);
                if (sidecar.Primaries.Count == 0 && sidecar.Attached == 0)
                {
                    StopLocked(sidecar, ref toRelease);
                }
            }
        }

        ReleaseAll(toRelease);
    }

    private async Task StartAsync(RunningSidecar sidecar, string functionName)
    {
        using var activity = OnDemandMetrics.ActivitySource.StartActivity(OnDemandExecutionDiagnostics.SidecarStartActivity);
        activity?.SetTag(OnDemandExecutionDiagnostics.SidecarNameTag, sidecar.Definition.Name);
        activity?.SetTag(OnDemandExecutionDiagnostics.SidecarScopeTag, sidecar.ScopeName);
        activity?.SetTag(OnDemandExecutionDiagnostics.TenantTag, sidecar.Tenant.Value);
        SidecarInstance started;
        try
        {
            await Task.Yield(); // start beside the primary's acquisition, not before it
            var token = _shutdown.Token;
            if (sidecar.Definition.Provider is { } provider)
            {
                var spec = _options.WarmInstance with { MemoryMb = sidecar.Definition.MemoryMb ?? _options.WarmInstance.MemoryMb };
                var instance = await provider.CreateAsync(spec, token).ConfigureAwait(false);
                try
                {
                    await instance.LoadAsync(sidecar.PoolDefinition, sidecar.Tenant, token).ConfigureAwait(false);
                }
                catch
                {
                    await instance.DisposeAsync().ConfigureAwait(false);
                    throw;
                }

                started = new SidecarInstance(instance, null);
            }
            else
            {
                // From the pools: a warming-pool instance when one is ready, else a cold start. The slot stays busy, owned
                // by the sidecar, until it stops (then it is destroyed: a sidecar's instance never serves anyone else).
                var lease = await _pool.AcquireAsync(sidecar.PoolDefinition, sidecar.Tenant, token).ConfigureAwait(false);
                started = new SidecarInstance(lease.Instance, lease.Slot);
            }
        }
        catch (Exception ex)
        {
            Log.SidecarStartFailed(_logger, sidecar.Definition.Name, sidecar.ScopeName, functionName, sidecar.Tenant.Value, ex);
            activity.Fail(ex);
            lock (_lock)
            {
                Forget(sidecar);
                _all.Remove(sidecar);
                sidecar.Stopped = true;
            }

            sidecar.SetFailed(ex);
            return;
        }

        bool stopNow;
        lock (_lock)
        {
            sidecar.Instance = started;
            stopNow = sidecar.Stopped;
        }

        activity?.SetTag(OnDemandExecutionDiagnostics.InstanceTag, started.Instance.Id);
        _metrics.SidecarsStarted.Add(1, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.SidecarScopeTag, sidecar.ScopeName));
        Log.SidecarStarted(_logger, sidecar.Definition.Name, sidecar.ScopeName, sidecar.Tenant.Value, started.Instance.Id);
        sidecar.SetReady(started);
        if (stopNow)
        {
            Release(sidecar); // everyone left while it started
        }
    }

    /// <summary>Marks a sidecar stopped and queues its release when it has an instance (else its start releases it).</summary>
    private void StopLocked(RunningSidecar sidecar, ref List<RunningSidecar>? toRelease)
    {
        if (sidecar.Stopped)
        {
            return;
        }

        sidecar.Stopped = true;
        Forget(sidecar);
        _all.Remove(sidecar);
        foreach (var primary in sidecar.Primaries)
        {
            if (_byPrimary.TryGetValue(primary, out var served))
            {
                served.Remove(sidecar);
            }
        }

        if (sidecar.Instance is not null)
        {
            (toRelease ??= []).Add(sidecar);
        }
    }

    /// <summary>Stops sharing a sidecar under its key (new invocations start another one).</summary>
    private void Forget(RunningSidecar sidecar)
    {
        lock (_lock)
        {
            if (sidecar.Key is { } key && _shared.TryGetValue(key, out var current) && current == sidecar)
            {
                _shared.Remove(key);
            }
        }
    }

    private void ReleaseAll(List<RunningSidecar>? sidecars)
    {
        if (sidecars is null)
        {
            return;
        }

        foreach (var sidecar in sidecars)
        {
            Release(sidecar);
        }
    }

    private void Release(RunningSidecar sidecar)
    {
        var instance = sidecar.Instance!;
        _metrics.SidecarsStopped.Add(1, new KeyValuePair<string, object?>(OnDemandExecutionDiagnostics.SidecarScopeTag, sidecar.ScopeName));
        Log.SidecarStopped(_logger, sidecar.Definition.Name, sidecar.ScopeName, sidecar.Tenant.Value, instance.Instance.Id);
        try
        {
            if (instance.Slot is { } slot)
            {
                _pool.Release(slot, keep: false, "sidecar_stopped");
            }
            else
            {
                Track(instance.Instance.DisposeAsync().AsTask());
            }
        }
        catch (Exception ex)
        {
            Log.SidecarStopFailed(_logger, instance.Instance.Id, ex);
        }
    }

    private void Track(Task task)
    {
        if (task.IsCompleted)
        {
            return;
        }

        _background.TryAdd(task, 0);
        _ = task.ContinueWith(
            static (t, s) =>
            {
                var (self, tracked) = ((SidecarManager, Task))s!;
                self._background.TryRemove(tracked, out _);
                if (t.Exception is { } ex)
                {
                    Log.SidecarStopFailed(self._logger, "(background)", ex.GetBaseException());
                }
            },
            (this, task),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private readonly record struct TaskKey(TenantId Tenant, string Function, string Sidecar);

    private readonly record struct UserKey(TenantId Tenant, SidecarDefinition Sidecar);
}
