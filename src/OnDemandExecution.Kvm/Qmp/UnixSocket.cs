using System.Net.Sockets;

namespace OnDemandExecution.Kvm.Qmp;

/// <summary>Connects to a Unix socket that a starting process (QEMU) creates a moment later.</summary>
internal static class UnixSocket
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(5);

    /// <summary>Connects, retrying while the socket does not exist yet or refuses, until <paramref name="timeout"/> elapses or <paramref name="keepTrying"/> says stop.</summary>
    public static async Task<NetworkStream> ConnectAsync(string path, TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken, Func<bool>? keepTrying = null)
    {
        var started = timeProvider.GetTimestamp();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.ConnectionRefused or SocketError.AddressFamilyNotSupported || !File.Exists(path))
            {
                socket.Dispose();
                if (keepTrying is not null && !keepTrying())
                {
                    throw new IOException($"Gave up connecting to {path}: the process that should create it is gone.", ex);
                }

                if (timeProvider.GetElapsedTime(started) > timeout)
                {
                    throw new TimeoutException($"Could not connect to {path} within {timeout.TotalSeconds:F1} s: {ex.Message}", ex);
                }

                await Task.Delay(RetryInterval, timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
    }
}
