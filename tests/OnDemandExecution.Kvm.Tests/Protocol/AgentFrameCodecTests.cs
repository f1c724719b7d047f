using System.Text;
using OnDemandExecution.GuestAgent;

namespace OnDemandExecution.Kvm.Tests.Protocol;

public class AgentFrameCodecTests
{
    private static async Task<List<AgentFrame>> ReadAllAsync(byte[] bytes, int max = 1 << 20)
    {
        var reader = new AgentFrameReader(new MemoryStream(bytes), max);
        var frames = new List<AgentFrame>();
        while (await reader.ReadAsync(CancellationToken.None) is { } f)
        {
            frames.Add(f);
        }

        return frames;
    }

    private static async Task<AgentProtocolException> ReadFailsAsync(byte[] bytes, int max = 1 << 20)
        => await Assert.ThrowsAsync<AgentProtocolException>(() => ReadAllAsync(bytes, max));

    [Fact]
    public async Task WriteThenRead_RoundTripsTypeIdArgsAndBody()
    {
        var ms = new MemoryStream();
        var big = new byte[100_000];
        new Random(1).NextBytes(big);
        await AgentFrameCodec.WriteAsync(ms, "RESULT", 7, Encoding.UTF8.GetBytes("out\nerr"), ["0", "120000", "3"], default);
        await AgentFrameCodec.WriteAsync(ms, "OK", 8, default, null, default);
        await AgentFrameCodec.WriteAsync(ms, "INVOKE", 9, big, null, default);

        var frames = await ReadAllAsync(ms.ToArray());

        Assert.Equal(3, frames.Count);
        Assert.Equal(("RESULT", 7L), (frames[0].Type, frames[0].Id));
        Assert.Equal(["0", "120000", "3"], frames[0].Args);
        Assert.Equal("out\nerr", Encoding.UTF8.GetString(frames[0].Body.Span));
        Assert.Equal(("OK", 8L, 0), (frames[1].Type, frames[1].Id, frames[1].Body.Length));
        Assert.True(frames[2].Body.Span.SequenceEqual(big));
    }

    [Fact]
    public void EncodeHeader_IsOneAsciiLine()
    {
        var header = Encoding.ASCII.GetString(AgentFrameCodec.EncodeHeader("FILE", 3, 42, ["bin/run"]));
        Assert.Equal("ODX1 FILE 3 42 bin/run\n", header);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("")]
    [InlineData("tab\there")]
    [InlineData("naïve")]
    public void EncodeHeader_RejectsArgumentsThatAreNotTokens(string arg)
        => Assert.Throws<ArgumentException>(() => AgentFrameCodec.EncodeHeader("FILE", 1, 0, [arg]));

    [Fact]
    public async Task Read_EmptyStream_ReturnsNull()
        => Assert.Empty(await ReadAllAsync([]));

    [Fact]
    public async Task Read_TruncatedHeader_IsTruncated()
        => Assert.Equal(AgentProtocolError.Truncated, (await ReadFailsAsync("ODX1 OK 1 0"u8.ToArray())).Error);

    [Fact]
    public async Task Read_TruncatedBody_IsTruncated()
    {
        var ex = await ReadFailsAsync("ODX1 RESULT 1 10 0 0 10\nabc"u8.ToArray());
        Assert.Equal(AgentProtocolError.Truncated, ex.Error);
        Assert.Contains("3 of 10", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_OversizedFrame_IsRejectedBeforeItsBodyIsRead()
        => Assert.Equal(AgentProtocolError.FrameTooLarge, (await ReadFailsAsync("ODX1 RESULT 1 5000 0 0 5000\n"u8.ToArray(), max: 4096)).Error);

    [Fact]
    public async Task Read_OtherMagic_IsBadMagic()
        => Assert.Equal(AgentProtocolError.BadMagic, (await ReadFailsAsync("ODX2 OK 1 0\n"u8.ToArray())).Error);

    [Theory]
    [InlineData("ODX1 OK\n")]
    [InlineData("ODX1 ok 1 0\n")]
    [InlineData("ODX1 OK x 0\n")]
    [InlineData("ODX1 OK 1 -5\n")]
    [InlineData("ODX1 OK 1 0 \u0001\n")]
    public async Task Read_MalformedHeader_IsMalformed(string header)
        => Assert.Equal(AgentProtocolError.MalformedHeader, (await ReadFailsAsync(Encoding.Latin1.GetBytes(header))).Error);

    [Fact]
    public async Task Read_HeaderWithoutNewline_IsTooLong()
        => Assert.Equal(AgentProtocolError.HeaderTooLong, (await ReadFailsAsync(Encoding.ASCII.GetBytes("ODX1 OK 1 0 " + new string('a', 5000)))).Error);
}
