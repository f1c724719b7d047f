using System.Net;

namespace OnDemandExecution;

/// <summary>
/// Probes <c>http://</c> and <c>https://</c> addresses with a <c>GET</c>: the round trip is the time until the
/// response headers arrive. Any response counts as a working channel except 502, 503 and 504 (a gateway that could not
/// reach the service); a connection failure or the timeout is a failure. Connections are not pooled, so every probe
/// measures the same thing (connect and request).
/// </summary>
public sealed class HttpProbe : IChannelQualityProbe, IDisposable
{
    private readonly TimeProvider _time;
    private readonly HttpClient _client;

    /// <summary>Creates the probe with its own <see cref="HttpClient"/>.</summary>
    /// <param name="timeProvider">Measures the round trip and runs the timeout.</param>
    public HttpProbe(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
        _client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, UseProxy = false, AllowAutoRedirect = false })
        {
            Timeout = Timeout.InfiniteTimeSpan, // the probe's own timeout applies
        };
    }

    /// <inheritdoc/>
    public bool CanProbe(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.IsAbsoluteUri && (address.Scheme == Uri.UriSchemeHttp || address.Scheme == Uri.UriSchemeHttps);
    }

    /// <inheritdoc/>
    public async ValueTask<ChannelProbeResult> ProbeAsync(Uri address, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(address);
        using var timer = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        var started = _time.GetTimestamp();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, address);
            request.Headers.ConnectionClose = true;
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var elapsed = _time.GetElapsedTime(started);
            return response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout
                ? ChannelProbeResult.Failure(elapsed, $"HTTP {(int)response.StatusCode}")
                : ChannelProbeResult.Success(elapsed);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return ChannelProbeResult.Failure(_time.GetElapsedTime(started), $"no response within {timeout.TotalMilliseconds:F0} ms");
        }
        catch (HttpRequestException ex)
        {
            return ChannelProbeResult.Failure(_time.GetElapsedTime(started), ex.HttpRequestError.ToString());
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _client.Dispose();
}
