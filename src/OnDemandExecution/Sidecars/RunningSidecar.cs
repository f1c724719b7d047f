using OnDemandExecution.Pooling;

namespace OnDemandExecution.Sidecars;

/// <summary>One sidecar of one tenant: its instance (once started), the primaries it serves and the invocations attached.</summary>
/// <remarks>Every field but <see cref="Ready"/> and <see cref="CallLock"/> is read and written under the manager's lock.</remarks>
internal sealed class RunningSidecar
{
    private readonly TaskCompletionSource<SidecarInstance> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RunningSidecar(object? key, SidecarDefinition definition, TenantId tenant, FunctionDefinition poolDefinition)
    {
        Key = key;
        Definition = definition;
        Tenant = tenant;
        PoolDefinition = poolDefinition;
    }

    /// <summary>The key it is shared under (null for <see cref="SidecarScope.PerRequest"/>).</summary>
    public object? Key { get; }

    public SidecarDefinition Definition { get; }

    /// <summary>The one tenant it serves.</summary>
    public TenantId Tenant { get; }

    /// <summary>What the sidecar's instance loads (named "sidecar:{name}", a name no registered function can have, so their pools never meet).</summary>
    public FunctionDefinition PoolDefinition { get; }

    public Task<SidecarInstance> Ready => _ready.Task;

    /// <summary>The started instance; null until started.</summary>
    public SidecarInstance? Instance { get; set; }

    /// <summary>Ids of the primary instances it serves.</summary>
    public HashSet<string> Primaries { get; } = new(StringComparer.Ordinal);

    /// <summary>Invocations attached now.</summary>
    public int Attached { get; set; }

    /// <summary>Set once it must stop (it is released as soon as it has an instance).</summary>
    public bool Stopped { get; set; }

    /// <summary>An instance serves one call at a time, so calls from the primaries it serves take turns.</summary>
    public SemaphoreSlim CallLock { get; } = new(1, 1);

    public SidecarHandle? Handle { get; set; }

    public void SetReady(SidecarInstance instance) => _ready.TrySetResult(instance);

    public void SetFailed(Exception exception)
    {
        _ready.TrySetException(exception);
        _ = _ready.Task.Exception; // observed: attached invocations rethrow it
    }

    public string ScopeName => ScopeNameOf(Definition.Scope);

    public static string ScopeNameOf(SidecarScope scope) => scope switch
    {
        SidecarScope.PerTask => "task",
        SidecarScope.PerUser => "user",
        _ => "request",
    };
}

/// <summary>A sidecar's instance: from the pools (a busy slot held for the sidecar's life) or from a dedicated provider.</summary>
internal sealed record SidecarInstance(IInstance Instance, InstanceSlot? Slot);
