using System.Net.Sockets;

namespace OnDemandExecution;

/// <summary>
/// Probes <c>tcp://host:port</c> addresses by opening (and closing) a TCP connection: the round trip is the time to
/// connect (the handshake), a refused or timed-out connection is a failure.
/// </summary>
public sealed class TcpConnectProbe : IChannelQualityProbe
{
    private readonly TimeProvider _time;

    /// <summary>Creates the probe.</summary>
    /// <param name="timeProvider">Measures the round trip and runs the timeout.</param>
    public TcpConnectProbe(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
    }

    /// <inheritdoc/>
    public bool CanProbe(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.IsAbsoluteUri && string.Equals(address.Scheme, "tcp", StringComparison.OrdinalIgnoreCase) && address.Port > 0;
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
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(address.DnsSafeHost, address.Port, linked.Token).ConfigureAwait(false);
            var elapsed = _time.GetElapsedTime(started);
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
                // The peer closed first: the handshake, which is what was measured, succeeded.
            }

            return ChannelProbeResult.Success(elapsed);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return ChannelProbeResult.Failure(_time.GetElapsedTime(started), $"no connection within {timeout.TotalMilliseconds:F0} ms");
        }
        catch (SocketException ex)
        {
            return ChannelProbeResult.Failure(_time.GetElapsedTime(started), ex.SocketErrorCode.ToString());
        }
    }
}
