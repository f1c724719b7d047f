using System.Buffers;
using System.Globalization;
using System.Text;

namespace OnDemandExecution.GuestAgent;

/// <summary>
/// Encodes and decodes ODX1 frames. The header is one ASCII line (<c>ODX1 TYPE ID LENGTH [ARG...]\n</c>) rather
/// than a binary length prefix because the reference agent is busybox sh: <c>read -r</c> takes exactly one line
/// off a character device without reading ahead, and <c>dd bs=LENGTH count=1 iflag=fullblock</c> then takes
/// exactly the body; a binary prefix would need od/hexdump round trips per frame.
/// </summary>
internal static class AgentFrameCodec
{
    /// <summary>The magic and protocol version that starts every header.</summary>
    public const string Magic = "ODX1";

    /// <summary>The protocol version this codec speaks.</summary>
    public const int ProtocolVersion = 1;

    /// <summary>The longest header line accepted, newline included.</summary>
    public const int MaxHeaderBytes = 1024;

    /// <summary>Encodes a frame's header line.</summary>
    /// <exception cref="ArgumentException">The type or an argument is not a valid token.</exception>
    public static byte[] EncodeHeader(string type, long id, int bodyLength, IReadOnlyList<string>? args)
    {
        ValidateToken(type, nameof(type));
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        ArgumentOutOfRangeException.ThrowIfNegative(bodyLength);
        var sb = new StringBuilder(64);
        sb.Append(Magic).Append(' ').Append(type).Append(' ')
          .Append(id.ToString(CultureInfo.InvariantCulture)).Append(' ')
          .Append(bodyLength.ToString(CultureInfo.InvariantCulture));
        if (args is not null)
        {
            foreach (var a in args)
            {
                ValidateToken(a, nameof(args));
                sb.Append(' ').Append(a);
            }
        }

        sb.Append('\n');
        if (sb.Length > MaxHeaderBytes)
        {
            throw new ArgumentException($"The frame header would be {sb.Length} bytes; the limit is {MaxHeaderBytes}.", nameof(args));
        }

        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>Whether <paramref name="token"/> can be a header argument: 1 to 255 printable ASCII characters, no space.</summary>
    public static bool IsValidToken(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 255)
        {
            return false;
        }

        foreach (var c in token)
        {
            if (c is <= ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Writes one frame (header and body) and flushes.</summary>
    public static async ValueTask WriteAsync(Stream stream, string type, long id, ReadOnlyMemory<byte> body, IReadOnlyList<string>? args, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var header = EncodeHeader(type, id, body.Length, args);
        if (body.Length <= 4096)
        {
            // one write for small frames: one packet on the socket, one wake-up of the agent
            var buffer = ArrayPool<byte>.Shared.Rent(header.Length + body.Length);
            try
            {
                header.CopyTo(buffer, 0);
                body.Span.CopyTo(buffer.AsSpan(header.Length));
                await stream.WriteAsync(buffer.AsMemory(0, header.Length + body.Length), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        else
        {
            await stream.WriteAsync(header, cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(body, cancellationToken).ConfigureAwait(false);
        }

        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Parses a header line (without its newline).</summary>
    /// <exception cref="AgentProtocolException">The line is not a valid ODX1 header, or announces a body larger than <paramref name="maxBodyBytes"/>.</exception>
    public static (string Type, long Id, int Length, string[] Args) ParseHeader(ReadOnlySpan<byte> line, int maxBodyBytes)
    {
        foreach (var b in line)
        {
            if (b is < 0x20 or > 0x7E)
            {
                throw new AgentProtocolException(AgentProtocolError.MalformedHeader, $"The frame header holds a non-printable byte 0x{b:X2}.");
            }
        }

        var parts = Encoding.ASCII.GetString(line).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts[0] != Magic)
        {
            throw new AgentProtocolException(
                AgentProtocolError.BadMagic,
                $"The frame header starts with '{(parts.Length == 0 ? string.Empty : Truncate(parts[0]))}', not {Magic}: the agent speaks another protocol or version.");
        }

        if (parts.Length < 4
            || !IsUpperWord(parts[1])
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            || !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            throw new AgentProtocolException(AgentProtocolError.MalformedHeader, $"Malformed frame header '{Truncate(Encoding.ASCII.GetString(line))}': expected '{Magic} TYPE ID LENGTH [ARG...]'.");
        }

        if (length > maxBodyBytes)
        {
            throw new AgentProtocolException(AgentProtocolError.FrameTooLarge, $"A {parts[1]} frame announces {length} body bytes; the limit is {maxBodyBytes}.");
        }

        return (parts[1], id, (int)length, parts[4..]);
    }

    private static bool IsUpperWord(string s)
    {
        foreach (var c in s)
        {
            if (c is < 'A' or > 'Z')
            {
                return false;
            }
        }

        return s.Length is > 0 and <= 32;
    }

    private static void ValidateToken(string token, string paramName)
    {
        if (!IsValidToken(token))
        {
            throw new ArgumentException($"'{token}' cannot be a frame header token: use 1 to 255 printable ASCII characters without spaces.", paramName);
        }
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
