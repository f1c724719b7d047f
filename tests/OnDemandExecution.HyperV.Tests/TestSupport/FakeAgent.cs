using System.Collections.Concurrent;
using System.Globalization;
using OnDemandExecution.GuestAgent;
using OnDemandExecution.Tests.Shared;

namespace OnDemandExecution.HyperV.Tests.TestSupport;

/// <summary>
/// The guest end of an ODX1 channel: answers HELLO with READY, LOAD/FILE/RESET/HEALTH with OK, and INVOKE with the
/// payload upper-cased (exit status 0) unless <see cref="Handler"/> says otherwise. Frames it got are in <see cref="Received"/>.
/// </summary>
internal sealed class FakeAgent : IAsyncDisposable
{
    private readonly SocketPair _pair;
    private readonly Task _loop;

    private FakeAgent(SocketPair pair)
    {
        _pair = pair;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The host's end, what the fake connector returns.</summary>
    public Stream HostStream => _pair.Host;

    public ConcurrentQueue<AgentFrame> Received { get; } = new();

    /// <summary>When set, returns the response (type, args, body) to every request, or null to stay silent; unset, the defaults answer.</summary>
    public Func<AgentFrame, (string Type, string[]? Args, byte[] Body)?>? Handler { get; set; }

    public int ProtocolVersion { get; set; } = AgentFrameCodec.ProtocolVersion;

    public static async Task<FakeAgent> StartAsync() => new(await SocketPair.CreateAsync());

    public async ValueTask DisposeAsync()
    {
        await _pair.DisposeAsync();
        try
        {
            await _loop;
        }
        catch (Exception)
        {
        }
    }

    private async Task LoopAsync()
    {
        var reader = new AgentFrameReader(_pair.Guest, 1 << 20);
        while (await reader.ReadAsync(default) is { } frame)
        {
            Received.Enqueue(frame);
            var response = Handler is { } handler ? handler(frame) : Default(frame);
            if (response is { } r)
            {
                await AgentFrameCodec.WriteAsync(_pair.Guest, r.Type, frame.Id, r.Body, r.Args, default);
            }
        }
    }

    private (string Type, string[]? Args, byte[] Body)? Default(AgentFrame frame) => frame.Type switch
    {
        "HELLO" => ("READY", [ProtocolVersion.ToString(CultureInfo.InvariantCulture), "fake/1.0"], []),
        "INVOKE" => ("RESULT", ["0", "1000", frame.Body.Length.ToString(CultureInfo.InvariantCulture)], frame.Body.ToArray().Select(b => (byte)char.ToUpperInvariant((char)b)).ToArray()),
        _ => ("OK", null, []),
    };
}
