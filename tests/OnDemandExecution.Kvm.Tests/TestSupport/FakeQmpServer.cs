using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace OnDemandExecution.Kvm.Tests.TestSupport;

/// <summary>
/// A QMP server on a Unix socket for the client's unit tests: sends a greeting, answers qmp_capabilities, then hands
/// each command to a handler that returns the JSON lines to send back (responses and events, in order).
/// </summary>
internal sealed class FakeQmpServer : IAsyncDisposable
{
    private readonly string _dir;
    private readonly Socket _listener;
    private readonly Func<string, long, JsonElement, IEnumerable<string>> _handler;
    private readonly string _greeting;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private NetworkStream? _stream;

    public FakeQmpServer(Func<string, long, JsonElement, IEnumerable<string>> handler, string? greeting = null)
    {
        _handler = handler;
        _greeting = greeting ?? """{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "fake"}, "capabilities": ["oob"]}}""";
        _dir = Directory.CreateTempSubdirectory("odx-qmp-").FullName;
        SocketPath = Path.Combine(_dir, "qmp.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(1);
        _loop = Task.Run(ServeAsync);
    }

    public string SocketPath { get; }

    public List<string> Received { get; } = [];

    /// <summary>Sends a line unprompted (an event).</summary>
    public async Task SendAsync(string line)
    {
        await _stream!.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));
    }

    /// <summary>Closes the connection, as QEMU does when it exits.</summary>
    public void Drop() => _stream?.Socket.Shutdown(SocketShutdown.Both);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        _stream?.Dispose();
        try
        {
            await _loop;
        }
        catch (Exception)
        {
        }

        Directory.Delete(_dir, true);
    }

    private async Task ServeAsync()
    {
        var socket = await _listener.AcceptAsync(_stop.Token);
        _stream = new NetworkStream(socket, true);
        await SendAsync(_greeting);
        using var reader = new StreamReader(_stream, leaveOpen: true);
        while (await reader.ReadLineAsync(_stop.Token) is { } line)
        {
            lock (Received)
            {
                Received.Add(line);
            }

            using var doc = JsonDocument.Parse(line);
            var cmd = doc.RootElement.GetProperty("execute").GetString()!;
            var id = doc.RootElement.GetProperty("id").GetInt64();
            var args = doc.RootElement.TryGetProperty("arguments", out var a) ? a.Clone() : default;
            var replies = cmd == "qmp_capabilities" ? [$$"""{"return": {}, "id": {{id}}}"""] : _handler(cmd, id, args);
            foreach (var r in replies)
            {
                await SendAsync(r);
            }
        }
    }
}
