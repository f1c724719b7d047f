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

    /// <summary>Default of <see cref="FunctionDefinition.Timeout"/>. Default 30 seconds.</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Default of <see cref="FunctionDefinition.MaxConcurrency"/>. Default 64.</summary>
    public int DefaultMaxConcurrency { get; set; } = 64;

    /// <summary>Default of <see cref="FunctionDefinition.MaxQueueLength"/>. Default 1024.</summary>
    public int DefaultMaxQueueLength { get; set; } = 1024;

    /// <summary>Default of <see cref="FunctionDefinition.MaxPayloadBytes"/>. Default 6 MiB.</summary>
    public int DefaultMaxPayloadBytes { get; set; } = 6 * 1024 * 1024;
}
