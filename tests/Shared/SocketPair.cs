using System.Net.Sockets;

namespace OnDemandExecution.Tests.Shared;

/// <summary>
/// Two connected Unix-socket streams in a temp directory: a real socket, as QEMU's chardevs are; for the Hyper-V tests the
/// host end stands in for a Hyper-V socket. Compiled into each provider's test project as linked source.
/// </summary>
internal sealed class SocketPair : IAsyncDisposable
{
    private readonly string _dir;
    private readonly Socket _listener;

    private SocketPair(string dir, Socket listener, NetworkStream host, NetworkStream guest)
    {
        _dir = dir;
        _listener = listener;
        Host = host;
        Guest = guest;
    }

    public NetworkStream Host { get; }

    public NetworkStream Guest { get; }

    public static async Task<SocketPair> CreateAsync()
    {
        var dir = Directory.CreateTempSubdirectory("odx-sp-").FullName;
        var path = Path.Combine(dir, "s.sock");
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var accept = listener.AcceptAsync();
        await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
        var server = await accept;
        return new SocketPair(dir, listener, new NetworkStream(client, true), new NetworkStream(server, true));
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Guest.DisposeAsync();
        _listener.Dispose();
        try
        {
            Directory.Delete(_dir, true);
        }
        catch (IOException)
        {
        }
    }
}
