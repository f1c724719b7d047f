namespace OnDemandExecution;

/// <summary>An instance's own view of its health.</summary>
public enum InstanceHealth
{
    /// <summary>Usable.</summary>
    Healthy = 0,

    /// <summary>Usable but impaired (slow agent, memory pressure). The warming pool drops such an instance at its next maintenance pass; instances of the active pool are not health-checked yet.</summary>
    Degraded = 1,

    /// <summary>Not usable (process exited, agent gone); the pool destroys it.</summary>
    Dead = 2,
}
