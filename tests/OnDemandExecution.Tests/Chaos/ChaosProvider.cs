using System.Collections.Concurrent;
using System.Text;

namespace OnDemandExecution.Tests.Chaos;

/// <summary>What a fault-injecting call does.</summary>
internal enum Fault
{
    None,
    Throw,
    Hang, // waits for the end of the test, ignoring its token
    IgnoreToken, // finishes soon, whatever its token says
}

/// <summary>
/// A third-party provider written against the public API only, whose every operation (create, load, invoke, health,
/// stop-work, recycle, dispose) may throw, hang ignoring its token, or ignore its token, as a seeded random stream
/// decides. Its instances record every broken promise of the pools: two calls at once, a second tenant without a
/// recycle, a use after disposal, a second disposal.
/// </summary>
internal sealed class ChaosProvider(int seed, double faultRate) : IInstanceProvider
{
    private readonly Random _random = new(seed);
    private long _nextId;
    private long _created;
    private long _disposed;

    /// <summary>Completed at the end of the test: every hang ends then.</summary>
    public TaskCompletionSource ReleaseHangs { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<string> Violations { get; } = new();

    /// <summary>Set when the test starts the pools' stop: a forced stop may dispose an instance its caller is about to use.</summary>
    public volatile bool Stopping;

    public ConcurrentDictionary<string, ChaosInstance> Instances { get; } = new();

    public string Name => "chaos";

    public InstanceProviderCapabilities Capabilities { get; } = new() { Isolation = IsolationLevel.Process, SupportsRecycle = true };

    public long Live => Interlocked.Read(ref _created) - Interlocked.Read(ref _disposed);

    public bool CanLoad(FunctionCode code) => code is DelegateFunctionCode;

    /// <summary>Draws a fault with the provider's fault rate (split evenly among the given kinds).</summary>
    public Fault Draw(params Fault[] kinds)
    {
        lock (_random)
        {
            return _random.NextDouble() < faultRate ? kinds[_random.Next(kinds.Length)] : Fault.None;
        }
    }

    public int Next(int max)
    {
        lock (_random)
        {
            return _random.Next(max);
        }
    }

    public async ValueTask<IInstance> CreateAsync(InstanceSpec spec, CancellationToken cancellationToken)
    {
        await Task.Yield();
        switch (Draw(Fault.Throw, Fault.Hang, Fault.IgnoreToken))
        {
            case Fault.Throw:
                throw new InstanceProviderException("chaos: create failed") { ProviderName = Name };
            case Fault.Hang:
                await ReleaseHangs.Task; // then returns an instance nobody waits for any more
                break;
            case Fault.IgnoreToken:
                await Task.Yield();
                break;
            default:
                cancellationToken.ThrowIfCancellationRequested();
                break;
        }

        var instance = new ChaosInstance(this, "chaos-" + Interlocked.Increment(ref _nextId));
        Instances[instance.Id] = instance;
        Interlocked.Increment(ref _created);
        return instance;
    }

    internal void NoteDisposed() => Interlocked.Increment(ref _disposed);
}

/// <summary>An instance of <see cref="ChaosProvider"/>.</summary>
internal sealed class ChaosInstance(ChaosProvider provider, string id) : IInstance
{
    private int _calls; // calls running now
    private int _disposeCalls;
    private volatile bool _disposed;
    private volatile bool _dead;
    private TenantId? _tenant;
    private string? _function;

    public string Id { get; } = id;

    public InstanceLocation Location => InstanceLocation.Local;

    public bool IsAlive => !_dead && !_disposed;

    public async ValueTask LoadAsync(FunctionDefinition definition, TenantId tenant, CancellationToken cancellationToken)
    {
        Check("load");
        if (_tenant is { } previous && previous != tenant)
        {
            provider.Violations.Enqueue($"{Id}: loaded for {tenant} while it holds {previous}'s code (no recycle)");
        }

        await Task.Yield();
        switch (provider.Draw(Fault.Throw, Fault.Hang))
        {
            case Fault.Throw:
                throw new InvalidOperationException("chaos: load failed");
            case Fault.Hang:
                await provider.ReleaseHangs.Task;
                throw new InstanceDiedException("chaos: load hung, then died") { InstanceId = Id };
        }

        _tenant = tenant;
        _function = definition.Name;
    }

    public async ValueTask<ReadOnlyMemory<byte>> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken)
    {
        Check("invoke");
        if (Interlocked.Increment(ref _calls) != 1)
        {
            provider.Violations.Enqueue($"{Id}: two calls at once");
        }

        try
        {
            if (request.Tenant != _tenant || request.FunctionName != _function)
            {
                provider.Violations.Enqueue($"{Id}: holds {_function}/{_tenant} but ran {request.FunctionName}/{request.Tenant}");
            }

            await Task.Yield();
            switch (provider.Next(10))
            {
                case 0:
                    throw new FunctionExecutionException("chaos: function failed") { FunctionName = request.FunctionName };
                case 1:
                    _dead = true;
                    throw new InstanceDiedException("chaos: died mid-call") { InstanceId = Id };
                case 2:
                    await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken); // honours its timeout
                    break;
                case 3 when provider.Draw(Fault.Hang) == Fault.Hang:
                    await provider.ReleaseHangs.Task; // ignores its token until the end of the test
                    break;
            }

            if (provider.Next(50) == 0)
            {
                _dead = true; // dies after answering: the next call must not get it
            }

            return Encoding.UTF8.GetBytes(request.Tenant.Value);
        }
        finally
        {
            Interlocked.Decrement(ref _calls);
        }
    }

    public async ValueTask<bool> RecycleAsync(CancellationToken cancellationToken)
    {
        Check("recycle");
        await Task.Yield();
        switch (provider.Draw(Fault.Throw, Fault.Hang))
        {
            case Fault.Throw:
                throw new InvalidOperationException("chaos: recycle failed");
            case Fault.Hang:
                await provider.ReleaseHangs.Task;
                return false;
        }

        if (Volatile.Read(ref _calls) != 0)
        {
            return false; // honest: work still runs
        }

        _tenant = null;
        _function = null;
        return !_dead;
    }

    public async ValueTask<InstanceHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        switch (provider.Draw(Fault.Throw, Fault.Hang))
        {
            case Fault.Throw:
                throw new InvalidOperationException("chaos: health check failed");
            case Fault.Hang:
                await provider.ReleaseHangs.Task;
                break;
        }

        return IsAlive ? InstanceHealth.Healthy : InstanceHealth.Dead;
    }

    public async ValueTask<bool> StopWorkAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        switch (provider.Draw(Fault.Throw, Fault.Hang))
        {
            case Fault.Throw:
                throw new InvalidOperationException("chaos: stop failed");
            case Fault.Hang:
                await provider.ReleaseHangs.Task;
                return false;
        }

        return Volatile.Read(ref _calls) == 0 && !_dead; // honest: only when nothing of the call runs
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Increment(ref _disposeCalls) != 1)
        {
            provider.Violations.Enqueue($"{Id}: disposed twice");
            return;
        }

        _disposed = true;
        try
        {
            switch (provider.Draw(Fault.Throw, Fault.Hang))
            {
                case Fault.Throw:
                    throw new InvalidOperationException("chaos: dispose failed");
                case Fault.Hang:
                    await provider.ReleaseHangs.Task;
                    break;
            }
        }
        finally
        {
            provider.NoteDisposed(); // released whatever it held, even on failure
        }
    }

    private void Check(string operation)
    {
        if (_disposed && !provider.Stopping)
        {
            provider.Violations.Enqueue($"{Id}: {operation} after it was disposed");
        }
    }
}
