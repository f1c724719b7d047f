namespace OnDemandExecution;

/// <summary>Thresholds of the OnDemandExecution health check (<c>AddOnDemandExecutionHealthChecks()</c>). Validated when the host starts.</summary>
public sealed class OnDemandExecutionHealthCheckOptions
{
    /// <summary>Degraded when completed maintenance passes have found a provider's warming pool below its target for at least this long. Default 30 seconds.</summary>
    public TimeSpan WarmingPoolBelowTargetFor { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Degraded when this many instance creations of a provider have failed in a row. Default 3.</summary>
    public int DegradedAfterCreateFailures { get; set; } = 3;

    /// <summary>
    /// Unhealthy when this many instance creations of a provider have failed in a row and it has no instance left to
    /// serve with: the provider cannot create anything. Default 3.
    /// </summary>
    public int UnhealthyAfterCreateFailures { get; set; } = 3;

    /// <summary>Degraded when no maintenance pass has completed for this many maintenance intervals. Default 3.</summary>
    public int MaintenanceLateIntervals { get; set; } = 3;
}
