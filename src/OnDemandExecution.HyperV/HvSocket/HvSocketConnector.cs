using System.Net.Sockets;
using System.Runtime.Versioning;

namespace OnDemandExecution.HyperV.HvSocket;

/// <summary>Connects over AF_HYPERV (Windows only; untested here, see docs/providers/hyper-v.md).</summary>
[SupportedOSPlatform("windows")]
internal sealed class HvSocketConnector : IHvSocketConnector
{
    public async ValueTask<Stream> ConnectAsync(Guid vmId, Guid serviceId, CancellationToken cancellationToken)
    {
        var socket = new Socket(HvSocketEndPoint.HyperV, SocketType.Stream, HvSocketEndPoint.RawProtocol);
        try
        {
            await socket.ConnectAsync(new HvSocketEndPoint(vmId, serviceId), cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
