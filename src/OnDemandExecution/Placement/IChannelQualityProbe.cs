namespace OnDemandExecution;

/// <summary>
/// Measures one channel: a round trip to an auxiliary service's address. The placer runs probes in the background
/// (never on an invocation's path) and folds their results into its per (location, endpoint) estimates. Shipped:
/// <see cref="TcpConnectProbe"/> (<c>tcp://host:port</c>) and <see cref="HttpProbe"/> (<c>http://</c>, <c>https://</c>);
/// register others with <c>services.AddSingleton&lt;IChannelQualityProbe, T&gt;()</c>. The first probe whose
/// <see cref="CanProbe"/> accepts an address is used.
/// </summary>
public interface IChannelQualityProbe
{
    /// <summary>Whether this probe can measure <paramref name="address"/> (usually decided by its scheme).</summary>
    /// <param name="address">The address to measure.</param>
    /// <returns>True when <see cref="ProbeAsync"/> can measure it.</returns>
    bool CanProbe(Uri address);

    /// <summary>Measures one round trip to <paramref name="address"/>. A failed channel is a result, not an exception.</summary>
    /// <param name="address">The address to measure.</param>
    /// <param name="timeout">Give up (a failure) after this long.</param>
    /// <param name="cancellationToken">Cancels the probe (shutdown).</param>
    /// <returns>The round trip, or a failure.</returns>
    ValueTask<ChannelProbeResult> ProbeAsync(Uri address, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>What one probe measured.</summary>
/// <param name="Succeeded">Whether the round trip completed.</param>
/// <param name="RoundTrip">How long it took (until the failure, for a failure).</param>
/// <param name="Error">Why it failed (for logs); null on success.</param>
public readonly record struct ChannelProbeResult(bool Succeeded, TimeSpan RoundTrip, string? Error = null)
{
    /// <summary>A successful round trip.</summary>
    /// <param name="roundTrip">How long it took.</param>
    /// <returns>The result.</returns>
    public static ChannelProbeResult Success(TimeSpan roundTrip) => new(true, roundTrip);

    /// <summary>A failed round trip.</summary>
    /// <param name="elapsed">How long until it failed.</param>
    /// <param name="error">Why.</param>
    /// <returns>The result.</returns>
    public static ChannelProbeResult Failure(TimeSpan elapsed, string error) => new(false, elapsed, error);
}

/// <summary>
/// Says how a location reaches an endpoint for probing: the probe measures <paramref name="Address"/> and the result
/// is recorded for (<paramref name="Location"/>, <paramref name="Endpoint"/>). Use it for locations other than the
/// local one, whose channels this process cannot measure directly: a forwarding agent or a probe responder on that
/// host, or a replica of the service in that segment.
/// </summary>
/// <param name="Location">The instance location the measurement stands for.</param>
/// <param name="Endpoint">The endpoint as task profiles name it.</param>
/// <param name="Address">What to probe.</param>
public sealed record ChannelProbeRoute(InstanceLocation Location, string Endpoint, Uri Address);
