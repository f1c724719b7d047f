using System.Text;
using OnDemandExecution.GuestAgent;
using OnDemandExecution.Kvm.Tests.TestSupport;
using OnDemandExecution.Tests.Shared;

namespace OnDemandExecution.Kvm.Tests.Protocol;

public class AgentChannelTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    private static async Task<AgentFrame> GuestReadAsync(AgentFrameReader reader)
        => (await reader.ReadAsync(CancellationToken.None))!;

    [Fact]
    public async Task Invoke_ParsesResult_SplittingStdoutFromStderr()
    {
        await using var pair = await SocketPair.CreateAsync();
        await using var channel = new AgentChannel(pair.Host, 1 << 20, TimeProvider.System);
        var guest = new AgentFrameReader(pair.Guest, 1 << 20);

        var call = channel.InvokeAsync("hi"u8.ToArray(), "inv1", default);
        var request = await GuestReadAsync(guest);
        Assert.Equal(("INVOKE", "inv1", "hi"), (request.Type, request.Arg(0), Encoding.UTF8.GetString(request.Body.Span)));
        await AgentFrameCodec.WriteAsync(pair.Guest, "RESULT", request.Id, "HIwarn"u8.ToArray(), ["3", "20000", "2"], default);

        var result = await call;
        Assert.Equal(3, result.ExitCode);
        Assert.Equal(TimeSpan.FromMilliseconds(20), result.Elapsed);
        Assert.Equal("HI", Encoding.UTF8.GetString(result.Output.Span));
        Assert.Equal("warn", Encoding.UTF8.GetString(result.Error.Span));
    }

    [Fact]
    public async Task LateResponseOfACancelledRequest_IsDropped_NotGivenToTheNextRequest()
    {
        await using var pair = await SocketPair.CreateAsync();
        await using var channel = new AgentChannel(pair.Host, 1 << 20, TimeProvider.System);
        var guest = new AgentFrameReader(pair.Guest, 1 << 20);

        using var cts = new CancellationTokenSource();
        var first = channel.HealthAsync(Long, cts.Token);
        var r1 = await GuestReadAsync(guest);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);

        var second = channel.HealthAsync(Long, default);
        var r2 = await GuestReadAsync(guest);
        await AgentFrameCodec.WriteAsync(pair.Guest, "OK", r1.Id, "stale"u8.ToArray(), null, default);
        await AgentFrameCodec.WriteAsync(pair.Guest, "OK", r2.Id, "fresh"u8.ToArray(), null, default);

        Assert.Equal("fresh", await second);
    }

    [Fact]
    public async Task ErrorFrame_BecomesAgentError_WithTheAgentsCode()
    {
        await using var pair = await SocketPair.CreateAsync();
        await using var channel = new AgentChannel(pair.Host, 1 << 20, TimeProvider.System);
        var guest = new AgentFrameReader(pair.Guest, 1 << 20);

        var call = channel.LoadAsync("true", Long, default);
        var r = await GuestReadAsync(guest);
        await AgentFrameCodec.WriteAsync(pair.Guest, "ERROR", r.Id, "no space"u8.ToArray(), ["io"], default);

        var ex = await Assert.ThrowsAsync<AgentProtocolException>(() => call);
        Assert.Equal((AgentProtocolError.AgentError, "io"), (ex.Error, ex.AgentCode));
        Assert.Contains("no space", ex.Message, StringComparison.Ordinal);
        Assert.Null(channel.ClosedBecause); // an agent error leaves the channel usable
    }

    [Fact]
    public async Task UnknownMessageType_ClosesTheChannel_AndFailsPendingRequests()
    {
        await using var pair = await SocketPair.CreateAsync();
        await using var channel = new AgentChannel(pair.Host, 1 << 20, TimeProvider.System);
        var guest = new AgentFrameReader(pair.Guest, 1 << 20);

        var call = channel.HealthAsync(Long, default);
        var r = await GuestReadAsync(guest);
        await AgentFrameCodec.WriteAsync(pair.Guest, "BANANA", r.Id, default, null, default);

        var ex = await Assert.ThrowsAsync<AgentChannelClosedException>(() => call);
        var cause = Assert.IsType<AgentProtocolException>(ex.InnerException);
        Assert.Equal(AgentProtocolError.UnknownType, cause.Error);
    }

    [Fact]
    public async Task OversizedResponse_ClosesTheChannel_WithFrameTooLarge()
    {
        await using var pair = await SocketPair.CreateAsync();
        await using var channel = new AgentChannel(pair.Host, 4096, TimeProvider.System);
        var guest = new AgentFrameReader(pair.Guest, 1 << 20);

        var call = channel.InvokeAsync("x"u8.ToArray(), null, default);
        var r = await GuestReadAsync(guest);
        await AgentFrameCodec.WriteAsync(pair.Guest, "RESULT", r.Id, new byte[10_000], ["0", "0", "10000"], default);

        var ex = await Assert.ThrowsAsync<AgentChannelClosedException>(() => call);
        Assert.Equal(AgentProtocolError.FrameTooLarge, Assert.IsType<AgentProtocolException>(ex.InnerException).Error);
    }

    [Fact]
    public async Task GuestHangingUp_FailsPendingAndLaterRequests_WithChannelClosed()
    {
        await using var pair = await SocketPair.CreateAsync();
        await using var channel = new AgentChannel(pair.Host, 1 << 20, TimeProvider.System);
        var closed = new TaskCompletionSource<Exception>();
        channel.Closed += ex => closed.TrySetResult(ex);

        var call = channel.InvokeAsync("x"u8.ToArray(), null, default);
        pair.Guest.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Both);

        await Assert.ThrowsAsync<AgentChannelClosedException>(() => call);
        await closed.Task.WaitAsync(Long);
        await Assert.ThrowsAsync<AgentChannelClosedException>(() => channel.HealthAsync(Long, default));
    }

    [Fact]
    public async Task SilentAgent_TimesOut()
    {
        await using var pair = await SocketPair.CreateAsync();
        await using var channel = new AgentChannel(pair.Host, 1 << 20, TimeProvider.System);
        var ex = await Assert.ThrowsAsync<TimeoutException>(() => channel.HealthAsync(TimeSpan.FromMilliseconds(100), default));
        Assert.Contains("HEALTH", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hello_ReadsProtocolAndAgentVersion()
    {
        await using var pair = await SocketPair.CreateAsync();
        await using var channel = new AgentChannel(pair.Host, 1 << 20, TimeProvider.System);
        var guest = new AgentFrameReader(pair.Guest, 1 << 20);

        var call = channel.HelloAsync(Long, default);
        var r = await GuestReadAsync(guest);
        Assert.Equal("HELLO", r.Type);
        await AgentFrameCodec.WriteAsync(pair.Guest, "READY", r.Id, default, ["1", "test/2.0"], default);

        var hello = await call;
        Assert.Equal(1, hello.ProtocolVersion);
        Assert.Equal("test/2.0", hello.AgentVersion);
        Assert.False(hello.CanSeed);
        Assert.False(hello.CanCancel);
    }

    [Fact]
    public async Task Hello_ReadsTheFeatureList()
    {
        await using var pair = await SocketPair.CreateAsync();
        await using var channel = new AgentChannel(pair.Host, 1 << 20, TimeProvider.System);
        var guest = new AgentFrameReader(pair.Guest, 1 << 20);

        var call = channel.HelloAsync(Long, default);
        var r = await GuestReadAsync(guest);
        await AgentFrameCodec.WriteAsync(pair.Guest, "READY", r.Id, default, ["1", "c/2.0", "seed,cancel"], default);

        var hello = await call;
        Assert.True(hello.CanSeed);
        Assert.True(hello.CanCancel);
    }

    [Fact]
    public async Task Cancel_WhileAnInvokeIsPending_IsAnsweredFirst_AndReportsTheGroupGone()
    {
        await using var pair = await SocketPair.CreateAsync();
        await using var channel = new AgentChannel(pair.Host, 1 << 20, TimeProvider.System);
        var guest = new AgentFrameReader(pair.Guest, 1 << 20);

        using var cts = new CancellationTokenSource();
        var invoke = channel.InvokeAsync("x"u8.ToArray(), "inv-1", cts.Token);
        var inv = await GuestReadAsync(guest);
        Assert.Equal("INVOKE", inv.Type);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => invoke);

        var cancel = channel.CancelAsync(Long, default);
        var c = await GuestReadAsync(guest);
        Assert.Equal("CANCEL", c.Type);
        // the agent reports the killed program's RESULT (dropped: its caller gave up) before answering CANCEL
        await AgentFrameCodec.WriteAsync(pair.Guest, "RESULT", inv.Id, default, ["137", "5", "0"], default);
        await AgentFrameCodec.WriteAsync(pair.Guest, "OK", c.Id, default, ["killed", inv.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], default);

        var result = await cancel;
        Assert.True(result.Stopped);
        Assert.Equal("killed", result.Detail);
    }

    [Fact]
    public async Task Cancel_ThatTheAgentCannotConfirm_IsNotStopped()
    {
        await using var pair = await SocketPair.CreateAsync();
        await using var channel = new AgentChannel(pair.Host, 1 << 20, TimeProvider.System);
        var guest = new AgentFrameReader(pair.Guest, 1 << 20);

        var cancel = channel.CancelAsync(Long, default);
        var c = await GuestReadAsync(guest);
        await AgentFrameCodec.WriteAsync(pair.Guest, "ERROR", c.Id, "group 12 survived"u8.ToArray(), ["cancel-failed"], default);

        Assert.False((await cancel).Stopped);
    }

    [Fact]
    public async Task Seed_SendsTheEntropyAndTheInstanceId()
    {
        await using var pair = await SocketPair.CreateAsync();
        await using var channel = new AgentChannel(pair.Host, 1 << 20, TimeProvider.System);
        var guest = new AgentFrameReader(pair.Guest, 1 << 20);
        var entropy = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 };

        var seed = channel.SeedAsync(entropy, "kvm-7", Long, default);
        var r = await GuestReadAsync(guest);
        Assert.Equal("SEED", r.Type);
        Assert.Equal("kvm-7", r.Arg(0));
        Assert.Equal(entropy, r.Body.ToArray());
        await AgentFrameCodec.WriteAsync(pair.Guest, "OK", r.Id, "reseed=addentropy+reseed boot_id=abc"u8.ToArray(), null, default);

        Assert.Equal("reseed=addentropy+reseed boot_id=abc", await seed);
    }
}
