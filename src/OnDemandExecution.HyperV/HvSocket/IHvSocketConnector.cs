namespace OnDemandExecution.HyperV.HvSocket;

/// <summary>
/// The seam for the guest-agent transport: opens a stream to a service in a VM over a Hyper-V socket. On Windows it
/// is <see cref="HvSocketConnector"/> (AF_HYPERV); tests return one end of an in-process socket pair.
/// </summary>
internal interface IHvSocketConnector
{
    /// <summary>Connects once to (<paramref name="vmId"/>, <paramref name="serviceId"/>).</summary>
    /// <exception cref="System.Net.Sockets.SocketException">Nobody listens there yet (the guest is still booting) or the VM is gone.</exception>
    /// <exception cref="IOException">The connection failed.</exception>
    ValueTask<Stream> ConnectAsync(Guid vmId, Guid serviceId, CancellationToken cancellationToken);
}
