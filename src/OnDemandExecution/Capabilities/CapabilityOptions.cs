namespace OnDemandExecution;

/// <summary>The priors and learning rate of the cost model behind calls by capability.</summary>
public sealed class CapabilityOptions
{
    /// <summary>Expected execution time of a function that has not run yet.</summary>
    public TimeSpan DefaultExecutionCost { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Expected code-load time of a function before one was measured (the cost of a warming-pool start, and part of a cold start's).</summary>
    public TimeSpan DefaultCodeLoadCost { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Expected time to create an instance before any cold start was measured (a cold start costs this plus the code load).</summary>
    public TimeSpan DefaultProvisioningCost { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Weight of each new measurement in the moving averages (0 to 1; higher forgets faster).</summary>
    public double LearningRate { get; set; } = 0.2;
}
