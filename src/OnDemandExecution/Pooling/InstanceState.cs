namespace OnDemandExecution;

/// <summary>
/// The lifecycle of a pooled instance. Legal transitions:
/// <c>Provisioning → Warm | Assigned | Destroyed</c>, <c>Warm → Assigned | Destroyed</c>,
/// <c>Assigned → Busy | Destroyed</c>, <c>Busy → Loaded | Destroyed</c>, <c>Loaded → Busy | Recycling | Destroyed</c>,
/// <c>Recycling → Warm | Destroyed</c>. Every transition is a compare-and-swap on the slot's state word;
/// an illegal one is a bug and throws.
/// </summary>
public enum InstanceState
{
    /// <summary>Being created by the provider.</summary>
    Provisioning = 0,

    /// <summary>Pre-initialized and unassigned, in the warming pool.</summary>
    Warm = 1,

    /// <summary>Assigned to a tenant; its function's code is being loaded.</summary>
    Assigned = 2,

    /// <summary>Assigned, code loaded, idle in the active pool (keep-alive running).</summary>
    Loaded = 3,

    /// <summary>Running an invocation.</summary>
    Busy = 4,

    /// <summary>Expired; being scrubbed by the provider to rejoin the warming pool, or about to be destroyed.</summary>
    Recycling = 5,

    /// <summary>Gone; the provider's resources are released.</summary>
    Destroyed = 6,
}
