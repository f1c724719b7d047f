namespace OnDemandExecution;

/// <summary>Options of the pools and the executor. Validated when the host starts.</summary>
public sealed class OnDemandExecutionOptions
{
    /// <summary>How many pre-initialized, unassigned instances the warming pool keeps ready. Default 4; 0 disables it.</summary>
    public int WarmingPoolSize { get; set; } = 4;

    /// <summary>
    /// Whether host start waits for the warming pool to fill (failures are logged, not thrown). Default true, so the
    /// first calls find warm instances; turn it off when instances take long to create and start-up must be quick.
    /// </summary>
    public bool PrewarmOnStart { get; set; } = true;

    /// <summary>The most instances that may exist at once (warm, idle and busy). Default 256.</summary>
    public int MaxInstances { get; set; } = 256;

    /// <summary>The shape of warming-pool instances.</summary>
    public InstanceSpec WarmInstance { get; set; } = new();

    /// <summary>How long an idle instance stays loaded for its tenant when its function sets no <see cref="FunctionDefinition.KeepAlive"/>. Default 10 minutes.</summary>
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the background maintenance refills the warming pool and expires idle instances. Default 1 second.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a provider may take to create an instance before the attempt fails. Default 60 seconds.</summary>
    public TimeSpan InstanceStartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How many instances the warming pool may be creating at once. Default 4.</summary>
    public int MaxConcurrentProvisioning { get; set; } = 4;

    /// <summary>
    /// After a call timed out or was cancelled, how long the instance's provider may take to confirm that the call's work
    /// stopped (<see cref="IInstance.StopWorkAsync"/>) before the instance is destroyed instead of reused. Default 5 seconds.
    /// </summary>
    public TimeSpan StopWorkTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long one health check of a warming-pool instance may take (<see cref="IInstance.CheckHealthAsync"/>); a check
    /// that takes longer counts as a dead instance, so a wedged check never stalls maintenance. Default 5 seconds.
    /// </summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a warming-pool instance goes unchecked: maintenance checks the health of those whose last check (or
    /// creation) is older, at most <see cref="MaxConcurrentHealthChecks"/> at a time, while the others stay in the pool.
    /// Default 10 seconds.
    /// </summary>
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many warming-pool instances maintenance checks at once (the others stay available). Default 2.</summary>
    public int MaxConcurrentHealthChecks { get; set; } = 2;

    /// <summary>
    /// The longest the pools' stop (host stop, or disposing the service provider) waits for work in flight (calls
    /// abandoned after a timeout, creations, recycles, disposals) before it abandons what is stuck and disposes every
    /// instance the pools still own. The stop's own token can end the wait earlier. Default 30 seconds.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The most instances one tenant may hold at once (loading, busy, idle, or busy with a call that ignored its timeout),
    /// across its functions. Protects the host's capacity (<see cref="MaxInstances"/>, memory) from one tenant: at the
    /// limit the tenant's own least recently used idle instance is evicted, else the start fails with
    /// <see cref="TenantLimitExceededException"/>. Null (the default): half of <see cref="MaxInstances"/>, rounded up.
    /// </summary>
    public int? MaxInstancesPerTenant { get; set; }

    /// <summary>
    /// The most calls of one tenant the executor holds at once (queued for a function's limit or running), across its
    /// functions. Protects what tenants share besides instances, the functions' concurrency limits and queues: a call
    /// over the limit fails at once with <see cref="TenantLimitExceededException"/> instead of taking a place. Null (the
    /// default): half of <see cref="DefaultMaxConcurrency"/> + <see cref="DefaultMaxQueueLength"/>, rounded up, so one
    /// tenant never holds all the places of a function with default limits.
    /// </summary>
    public int? MaxConcurrentCallsPerTenant { get; set; }

    /// <summary>The effective <see cref="MaxInstancesPerTenant"/>.</summary>
    internal int InstancesPerTenantLimit => MaxInstancesPerTenant ?? Math.Max(1, (MaxInstances + 1) / 2);

    /// <summary>The effective <see cref="MaxConcurrentCallsPerTenant"/>.</summary>
    internal int CallsPerTenantLimit => MaxConcurrentCallsPerTenant ?? (int)Math.Max(1, ((long)DefaultMaxConcurrency + DefaultMaxQueueLength + 1) / 2);

    /// <summary>Default of <see cref="FunctionDefinition.Timeout"/>. Default 30 seconds.</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Default of <see cref="FunctionDefinition.MaxConcurrency"/>. Default 64.</summary>
    public int DefaultMaxConcurrency { get; set; } = 64;

    /// <summary>Default of <see cref="FunctionDefinition.MaxQueueLength"/>. Default 1024.</summary>
    public int DefaultMaxQueueLength { get; set; } = 1024;

    /// <summary>Default of <see cref="FunctionDefinition.MaxPayloadBytes"/>. Default 6 MiB.</summary>
    public int DefaultMaxPayloadBytes { get; set; } = 6 * 1024 * 1024;
}
