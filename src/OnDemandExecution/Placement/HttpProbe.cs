using System.Net;
using Microsoft.Extensions.Options;

namespace OnDemandExecution;

/// <summary>
/// Probes <c>http://</c> and <c>https://</c> addresses with a <c>GET</c>: the round trip is the time until the
/// response headers arrive. Any response counts as a working channel except 502, 503 and 504 (a gateway that could not
/// reach the service); a connection failure or the timeout is a failure. Every request asks for <c>Connection: close</c>,
/// so every probe measures the same thing (connect and request).
/// </summary>
/// <remarks>
/// When <see cref="ChannelQualityPlacementOptions.HttpClientName"/> is set and an <see cref="IHttpClientFactory"/> is
/// registered, each probe sends through <c>CreateClient(name)</c>: the named client's handlers (proxy, client
/// certificates, authentication) apply, and the factory owns their lifetime. Otherwise the probe uses a client of its
/// own (no proxy, no redirects, no pooled connections).
/// </remarks>
public sealed class HttpProbe : IChannelQualityProbe, IDisposable
{
    private readonly TimeProvider _time;
    private readonly HttpClient? _client;
    private readonly IHttpClientFactory? _factory;
    private readonly string? _clientName;

    /// <summary>Creates the probe with its own <see cref="HttpClient"/>.</summary>
    /// <param name="timeProvider">Measures the round trip and runs the timeout.</param>
    public HttpProbe(TimeProvider timeProvider)
        : this(timeProvider, (IHttpClientFactory?)null, null)
    {
    }

    /// <summary>
    /// Creates the probe for dependency injection: with <see cref="ChannelQualityPlacementOptions.HttpClientName"/> set
    /// and a factory registered, it sends through the factory's named client; otherwise through a client of its own.
    /// </summary>
    /// <param name="timeProvider">Measures the round trip and runs the timeout.</param>
    /// <param name="options">Names the client (<see cref="ChannelQualityPlacementOptions.HttpClientName"/>).</param>
    /// <param name="httpClientFactory">The application's factory, when it registered one.</param>
    public HttpProbe(TimeProvider timeProvider, IOptions<ChannelQualityPlacementOptions> options, IHttpClientFactory? httpClientFactory = null)
        : this(timeProvider, httpClientFactory, (options ?? throw new ArgumentNullException(nameof(options))).Value.HttpClientName)
    {
    }

    private HttpProbe(TimeProvider timeProvider, IHttpClientFactory? factory, string? clientName)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
        if (clientName is not null)
        {
            _factory = factory ?? throw new InvalidOperationException(
                $"ChannelQualityPlacementOptions.HttpClientName is '{clientName}' but no IHttpClientFactory is registered: add one with services.AddHttpClient(\"{clientName}\").");
            _clientName = clientName;
        }
        else
        {
            _client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, UseProxy = false, AllowAutoRedirect = false })
            {
                Timeout = Timeout.InfiniteTimeSpan,
            };
        }
    }

    /// <summary>Whether probes go through the factory's named client (true) or the probe's own client (false).</summary>
    public bool UsesHttpClientFactory => _factory is not null;

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
            // A factory's client is cheap to create and must not be kept (the factory rotates its handlers).
            var client = _client ?? _factory!.CreateClient(_clientName!);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
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
    public void Dispose() => _client?.Dispose();
}
