namespace OnDemandExecution;

/// <summary>Options of the channel-quality placer (<c>builder.AddChannelQualityPlacement(o =&gt; ...)</c>).</summary>
public sealed class ChannelQualityPlacementOptions
{
    /// <summary>
    /// A function is placed by channel quality only for endpoints whose likelihood of use (declared in its
    /// <see cref="FunctionDefinition.TaskProfile"/> or learned) is at least this; below it, acquire is unchanged. Default 0.5.
    /// </summary>
    public double LikelihoodThreshold { get; set; } = 0.5;

    /// <summary>How often the background probes measure every channel that matters. Default 10 s.</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one probe may take before it counts as a failure. Default 2 s.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>An estimate not updated (by a probe or an execution) for this long is stale and no longer steers placement. Default 1 min.</summary>
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Weight of a new measurement in the exponentially weighted moving averages, in (0, 1]. Default 0.3.</summary>
    public double SmoothingFactor { get; set; } = 0.3;

    /// <summary>What one failed round trip costs, added to a channel's expected round trip in proportion to its failure rate (a retry, a timeout). Default 1 s.</summary>
    public TimeSpan FailurePenalty { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Expected time of a cold start (create and load), used until starts have been observed; observed starts then
    /// replace it (smoothed). Compared with the channel penalty of a warm instance elsewhere. Default 500 ms.
    /// </summary>
    public TimeSpan ColdStartEstimate { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Expected time of a warming-pool start (load the code), until observed. Default 20 ms.</summary>
    public TimeSpan PoolStartEstimate { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Whether the placer may choose a cold start at the best location (passing <see cref="InstanceSpec.PreferredLocation"/>)
    /// over a warm instance elsewhere when that is expected to be faster. Turn it off for providers that cannot place. Default true.
    /// </summary>
    public bool AllowColdStartAtBestLocation { get; set; } = true;

    /// <summary>How many warming-pool instances a placed start looks at to find one at a good location (bounded search). Default 8.</summary>
    public int WarmPoolSearchDepth { get; set; } = 8;

    /// <summary>Learn task profiles from reported auxiliary calls (in addition to declared ones). Default true.</summary>
    public bool LearnProfiles { get; set; } = true;

    /// <summary>A learned likelihood counts only after this many executions of the function were observed. Default 20.</summary>
    public int MinObservedExecutions { get; set; } = 20;

    /// <summary>The location of this process: endpoints are probed directly from here for it. Default <see cref="InstanceLocation.Local"/>.</summary>
    public InstanceLocation LocalLocation { get; set; } = InstanceLocation.Local;

    /// <summary>Whether to probe every endpoint directly from <see cref="LocalLocation"/>. Default true.</summary>
    public bool ProbeFromLocalLocation { get; set; } = true;

    /// <summary>
    /// The name of the <see cref="System.Net.Http.HttpClient"/> that <see cref="HttpProbe"/> asks
    /// <see cref="System.Net.Http.IHttpClientFactory"/> for (register it with <c>services.AddHttpClient(name)</c> to give
    /// the probes a proxy, client certificates or authentication headers). Default null: the probe uses a client of its
    /// own, with no proxy, no redirects and no pooled connections.
    /// </summary>
    public string? HttpClientName { get; set; }

    /// <summary>How other locations are probed: one route per (location, endpoint). See <see cref="ChannelProbeRoute"/>.</summary>
    public IList<ChannelProbeRoute> ProbeRoutes { get; } = new List<ChannelProbeRoute>();
}
