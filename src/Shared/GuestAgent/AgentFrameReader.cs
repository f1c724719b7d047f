namespace OnDemandExecution.GuestAgent;

/// <summary>Reads ODX1 frames off a stream, buffering so that a header line costs no per-byte reads.</summary>
internal sealed class AgentFrameReader
{
    private readonly Stream _stream;
    private readonly int _maxBodyBytes;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    public AgentFrameReader(Stream stream, int maxBodyBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBodyBytes);
        _stream = stream;
        _maxBodyBytes = maxBodyBytes;
    }

    /// <summary>Reads the next frame; null when the stream ends cleanly between frames.</summary>
    /// <exception cref="AgentProtocolException">The bytes are not a valid frame, or the stream ended inside one (<see cref="AgentProtocolError.Truncated"/>).</exception>
    public async ValueTask<AgentFrame?> ReadAsync(CancellationToken cancellationToken)
    {
        int newline;
        var scanned = 0;
        while ((newline = Array.IndexOf(_buffer, (byte)'\n', _start + scanned, _end - _start - scanned)) < 0)
        {
            scanned = _end - _start;
            if (scanned >= AgentFrameCodec.MaxHeaderBytes)
            {
                throw new AgentProtocolException(AgentProtocolError.HeaderTooLong, $"No end of frame header within {AgentFrameCodec.MaxHeaderBytes} bytes.");
            }

            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                if (_end == _start)
                {
                    return null;
                }

                throw new AgentProtocolException(AgentProtocolError.Truncated, $"The stream ended inside a frame header ({_end - _start} bytes).");
            }
        }

        if (newline - _start >= AgentFrameCodec.MaxHeaderBytes)
        {
            throw new AgentProtocolException(AgentProtocolError.HeaderTooLong, $"The frame header is longer than {AgentFrameCodec.MaxHeaderBytes} bytes.");
        }

        var (type, id, length, args) = AgentFrameCodec.ParseHeader(_buffer.AsSpan(_start, newline - _start), _maxBodyBytes);
        _start = newline + 1;

        var body = length == 0 ? [] : new byte[length];
        var copied = Math.Min(length, _end - _start);
        _buffer.AsSpan(_start, copied).CopyTo(body);
        _start += copied;
        while (copied < length)
        {
            var n = await _stream.ReadAsync(body.AsMemory(copied), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new AgentProtocolException(AgentProtocolError.Truncated, $"The stream ended inside the body of a {type} frame ({copied} of {length} bytes).");
            }

            copied += n;
        }

        return new AgentFrame(type, id, args, body);
    }

    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        var n = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        _end += n;
        return n > 0;
    }
}
