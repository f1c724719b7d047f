namespace OnDemandExecution;

/// <summary>Counts of the pools at one moment; exact when no operation is in flight.</summary>
/// <param name="Provisioning">Instances being created.</param>
/// <param name="Warm">Unassigned, pre-initialized instances in the warming pool.</param>
/// <param name="Assigned">Instances assigned to a tenant whose code is being loaded.</param>
/// <param name="Idle">Loaded, idle instances in the active pool.</param>
/// <param name="Busy">Instances running an invocation.</param>
/// <param name="Recycling">Expired instances being scrubbed or destroyed.</param>
/// <param name="Created">Instances created since start.</param>
/// <param name="Destroyed">Instances destroyed since start.</param>
/// <param name="Recycled">Instances scrubbed back into the warming pool since start.</param>
public readonly record struct PoolSnapshot(
    long Provisioning,
    long Warm,
    long Assigned,
    long Idle,
    long Busy,
    long Recycling,
    long Created,
    long Destroyed,
    long Recycled)
{
    /// <summary>Instances that exist now (every state but destroyed).</summary>
    public long Live => Provisioning + Warm + Assigned + Idle + Busy + Recycling;

    /// <summary>
    /// Instances (idle or busy) that make up the functions' provisioned floors
    /// (<see cref="FunctionDefinition.ProvisionedConcurrency"/>); the other idle and busy ones are on-demand.
    /// </summary>
    public long Provisioned { get; init; }
}

/// <summary>The instances one tenant holds for one function (an active pool), by state.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Function">The function's name.</param>
/// <param name="Idle">Instances holding the code, waiting for a request (warm hits).</param>
/// <param name="Assigned">Instances assigned and loading the code.</param>
/// <param name="Busy">Instances running a call.</param>
public readonly record struct ActivePoolCounts(TenantId Tenant, string Function, long Idle, long Assigned, long Busy)
{
    /// <summary>All instances of the pool.</summary>
    public long Total => Idle + Assigned + Busy;
}
