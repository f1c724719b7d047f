using System.Collections.Concurrent;
using System.Text;

namespace OnDemandExecution.Tests.TestSupport;

/// <summary>
/// A controllable provider for tests: counts every instance it creates and disposes, and lets a test inject
/// creation failures, creation gates (to hold a creation open), load failures and per-invocation behaviour.
/// </summary>
public sealed class FakeInstanceProvider : IInstanceProvider
{
    private long _nextId;
    private long _created;
    private long _disposed;

    public string Name => "fake";

    public InstanceProviderCapabilities Capabilities { get; set; } = new() { Isolation = IsolationLevel.Process, SupportsRecycle = true };

    public ConcurrentDictionary<string, FakeInstance> Instances { get; } = new();

    /// <summary>Called on every creation before the instance exists; throw from it to fail the creation.</summary>
    public Func<InstanceSpec, CancellationToken, ValueTask>? OnCreate { get; set; }

    /// <summary>Called on every load; throw from it to fail the load.</summary>
    public Func<FakeInstance, FunctionDefinition, ValueTask>? OnLoad { get; set; }

    /// <summary>What an invocation does; the default echoes "{function}:{payload}".</summary>
    public Func<FakeInstance, InvocationRequest, CancellationToken, ValueTask<ReadOnlyMemory<byte>>> OnInvoke { get; set; } =
        (_, r, _) => new(Encoding.UTF8.GetBytes(r.FunctionName + ":" + Encoding.UTF8.GetString(r.Payload.Span)));

    /// <summary>Chooses each new instance's location (for placement tests); by default every instance is at fake-host/fake-segment.</summary>
    public Func<InstanceSpec, FakeInstance, InstanceLocation>? Locate { get; set; }

    /// <summary>
    /// What <see cref="IInstance.StopWorkAsync"/> answers after an interrupted call; the default confirms at once (true),
    /// as a provider whose calls stop with their token would.
    /// </summary>
    public Func<FakeInstance, CancellationToken, ValueTask<bool>> OnStopWork { get; set; } = (_, _) => new(true);

    /// <summary>Called when an instance is disposed (before it counts as disposed); return a task that never ends to hang.</summary>
    public Func<FakeInstance, ValueTask>? OnDispose { get; set; }

    /// <summary>Replaces the health check when set (to slow it down or hang it).</summary>
    public Func<FakeInstance, CancellationToken, ValueTask<InstanceHealth>>? OnCheckHealth { get; set; }

    /// <summary>When true, a creation whose token fired while <see cref="OnCreate"/> ran still returns its instance (a provider that ignores its token).</summary>
    public bool IgnoresCancellation { get; set; }

    /// <summary>Whether recycling succeeds.</summary>
    public bool RecycleSucceeds { get; set; } = true;

    public long Created => Interlocked.Read(ref _created);

    public long Disposed => Interlocked.Read(ref _disposed);

    /// <summary>Instances created and not yet disposed.</summary>
    public long Live => Created - Disposed;

    public List<InstanceSpec> Specs { get; } = [];

    /// <summary>Makes every call from now on wait for the returned gate, then run the current <see cref="OnInvoke"/>.</summary>
    public TaskCompletionSource HoldCalls()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var then = OnInvoke;
        OnInvoke = async (i, r, ct) =>
        {
            await gate.Task.WaitAsync(ct);
            return await then(i, r, ct);
        };
        return gate;
    }

    public bool CanLoad(FunctionCode code) => code is DelegateFunctionCode or ProgramFunctionCode;

    public async ValueTask<IInstance> CreateAsync(InstanceSpec spec, CancellationToken cancellationToken)
    {
        lock (Specs)
        {
            Specs.Add(spec);
        }

        if (OnCreate is { } onCreate)
        {
            await onCreate(spec, cancellationToken);
        }

        if (!IgnoresCancellation)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }

        var instance = new FakeInstance(this, "fake-" + Interlocked.Increment(ref _nextId));
        if (Locate is { } locate)
        {
            instance.Location = locate(spec, instance);
        }

        Instances[instance.Id] = instance;
        Interlocked.Increment(ref _created);
        return instance;
    }

    internal void NoteDisposed() => Interlocked.Increment(ref _disposed);
}

/// <summary>An instance of <see cref="FakeInstanceProvider"/>.</summary>
public sealed class FakeInstance : IInstance
{
    private readonly FakeInstanceProvider _provider;
    private int _disposed;
    private int _busy;

    public FakeInstance(FakeInstanceProvider provider, string id)
    {
        _provider = provider;
        Id = id;
    }

    public string Id { get; }

    public InstanceLocation Location { get; set; } = new("fake-host", "fake-segment");

    public string? LoadedFunction { get; private set; }

    public TenantId? Tenant { get; private set; }

    /// <summary>Every tenant this instance was ever loaded for (a tenant-isolation witness).</summary>
    public List<TenantId> TenantHistory { get; } = [];

    public int Loads { get; private set; }

    public int Recycles { get; private set; }

    private int _invocations;

    public int Invocations => Volatile.Read(ref _invocations);

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public InstanceHealth Health { get; set; } = InstanceHealth.Healthy;

    /// <summary>Set false to make the instance report itself dead through <see cref="IsAlive"/> (died while idle).</summary>
    public bool Alive { get; set; } = true;

    public bool IsAlive => Alive && !IsDisposed;

    private int _stopWorkCalls;

    /// <summary>How many times the pool asked this instance to confirm an interrupted call's work stopped.</summary>
    public int StopWorkCalls => Volatile.Read(ref _stopWorkCalls);

    public ValueTask<bool> StopWorkAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _stopWorkCalls);
        return _provider.OnStopWork(this, cancellationToken);
    }

    /// <summary>True if two invocations ever overlapped on this instance (must never happen).</summary>
    public bool OverlapSeen { get; private set; }

    public async ValueTask LoadAsync(FunctionDefinition definition, TenantId tenant, CancellationToken cancellationToken)
    {
        if (IsDisposed)
        {
            throw new InstanceDiedException("disposed") { InstanceId = Id };
        }

        if (LoadedFunction is not null)
        {
            throw new InvalidOperationException($"{Id} already holds {LoadedFunction}");
        }

        if (_provider.OnLoad is { } onLoad)
        {
            await onLoad(this, definition);
        }

        lock (TenantHistory)
        {
            TenantHistory.Add(tenant);
        }

        LoadedFunction = definition.Name;
        Tenant = tenant;
        Loads++;
    }

    public async ValueTask<ReadOnlyMemory<byte>> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken)
    {
        if (IsDisposed)
        {
            throw new InstanceDiedException("disposed") { InstanceId = Id };
        }

        if (!Alive)
        {
            throw new InstanceDiedException($"{Id} died while idle") { InstanceId = Id };
        }

        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            OverlapSeen = true;
        }

        try
        {
            Interlocked.Increment(ref _invocations);
            if (LoadedFunction != request.FunctionName || Tenant != request.Tenant)
            {
                throw new InvalidOperationException($"{Id} holds {LoadedFunction}/{Tenant} but was asked to run {request.FunctionName}/{request.Tenant}");
            }

            return await _provider.OnInvoke(this, request, cancellationToken);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    public ValueTask<bool> RecycleAsync(CancellationToken cancellationToken)
    {
        Recycles++;
        if (!_provider.RecycleSucceeds || IsDisposed)
        {
            return new(false);
        }

        LoadedFunction = null;
        Tenant = null;
        return new(true);
    }

    private int _healthChecks;

    public int HealthChecks => Volatile.Read(ref _healthChecks);

    public ValueTask<InstanceHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _healthChecks);
        if (_provider.OnCheckHealth is { } check && !IsDisposed)
        {
            return check(this, cancellationToken);
        }

        return new(IsDisposed ? InstanceHealth.Dead : Health);
    }

    private int _disposeCalls;

    /// <summary>How many times DisposeAsync was called (must never exceed 1).</summary>
    public int DisposeCalls => Volatile.Read(ref _disposeCalls);

    public async ValueTask DisposeAsync()
    {
        Interlocked.Increment(ref _disposeCalls);
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            if (_provider.OnDispose is { } onDispose)
            {
                await onDispose(this);
            }

            _provider.NoteDisposed();
        }
    }
}
