using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace OnDemandExecution.GuestAgent;

/// <summary>What the agent said in its READY frame.</summary>
/// <param name="ProtocolVersion">The protocol version the agent speaks.</param>
/// <param name="AgentVersion">The agent's name and version (for example <c>odx-agent-c/2.0</c>).</param>
/// <param name="Features">The optional requests the agent implements (<c>seed</c>, <c>cancel</c>); empty for older agents.</param>
internal sealed record AgentHello(int ProtocolVersion, string AgentVersion, IReadOnlySet<string> Features)
{
    /// <summary>Whether the agent implements SEED.</summary>
    public bool CanSeed => Features.Contains("seed");

    /// <summary>Whether the agent implements CANCEL.</summary>
    public bool CanCancel => Features.Contains("cancel");
}

/// <summary>What CANCEL reported.</summary>
/// <param name="Stopped">True when the agent confirmed that no process of the program's group is left (it killed them, or nothing ran).</param>
/// <param name="Detail">The agent's words: <c>killed</c> or <c>idle</c>, or its error.</param>
internal sealed record AgentCancelResult(bool Stopped, string Detail);

/// <summary>The outcome of one INVOKE.</summary>
/// <param name="ExitCode">The program's exit status.</param>
/// <param name="Elapsed">How long the program ran, measured by the agent (the reference agent has 10 ms resolution).</param>
/// <param name="Output">The program's standard output.</param>
/// <param name="Error">The tail of the program's standard error (the reference agent keeps the last 4 KiB).</param>
internal sealed record AgentInvokeResult(int ExitCode, TimeSpan Elapsed, ReadOnlyMemory<byte> Output, ReadOnlyMemory<byte> Error);

/// <summary>
/// The host end of an ODX1 channel: writes requests, and one reader loop matches responses to them by id, so a
/// response that arrives after its caller gave up (cancellation) is dropped instead of answering the next request.
/// Transport-agnostic (a Unix socket for QEMU's virtio-serial chardev, a hvsocket or named pipe for Hyper-V).
/// </summary>
internal sealed class AgentChannel : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly AgentFrameReader _reader;
    private readonly TimeProvider _timeProvider;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<long, TaskCompletionSource<AgentFrame>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _readLoop;
    private long _nextId;
    private Exception? _closedBecause;

    public AgentChannel(Stream stream, int maxBodyBytes, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _stream = stream;
        _timeProvider = timeProvider;
        _reader = new AgentFrameReader(stream, maxBodyBytes);
        _readLoop = Task.Run(ReadLoopAsync);
    }

    /// <summary>Raised once when the channel closes (end of stream, I/O or protocol error); the argument says why.</summary>
    public event Action<Exception>? Closed;

    /// <summary>Why the channel closed, or null while it is open.</summary>
    public Exception? ClosedBecause => Volatile.Read(ref _closedBecause);

    /// <summary>Sends HELLO and waits for READY.</summary>
    public async Task<AgentHello> HelloAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var f = await RequestAsync(AgentMessageTypes.Hello, default, null, timeout, cancellationToken).ConfigureAwait(false);
        Expect(f, AgentMessageTypes.Ready);
        if (!int.TryParse(f.Arg(0), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            throw new AgentProtocolException(AgentProtocolError.MalformedHeader, $"READY carries no protocol version (args: {string.Join(' ', f.Args)}).");
        }

        var features = f.Arg(2) is { } list
            ? new HashSet<string>(list.Split(',', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal)
            : new HashSet<string>(StringComparer.Ordinal);
        return new AgentHello(version, f.Arg(1) ?? "unknown", features);
    }

    /// <summary>Sends SEED: the agent mixes <paramref name="entropy"/> into the guest kernel's RNG and reseeds it; returns its status text (<c>reseed=... boot_id=...</c>).</summary>
    public async Task<string> SeedAsync(ReadOnlyMemory<byte> entropy, string? instanceId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        string[]? args = AgentFrameCodec.IsValidToken(instanceId) ? [instanceId!] : null;
        var f = await RequestAsync(AgentMessageTypes.Seed, entropy, args, timeout, cancellationToken).ConfigureAwait(false);
        Expect(f, AgentMessageTypes.Ok);
        return Encoding.UTF8.GetString(f.Body.Span);
    }

    /// <summary>Sends CANCEL: the agent kills the running program's process group and says whether it is gone.</summary>
    public async Task<AgentCancelResult> CancelAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var f = await RequestAsync(AgentMessageTypes.Cancel, default, null, timeout, cancellationToken).ConfigureAwait(false);
        if (f.Type == AgentMessageTypes.Error)
        {
            return new AgentCancelResult(false, $"{f.Arg(0)}: {Encoding.UTF8.GetString(f.Body.Span)}");
        }

        Expect(f, AgentMessageTypes.Ok);
        return new AgentCancelResult(f.Arg(0) is "killed" or "idle", f.Arg(0) ?? "unknown");
    }

    /// <summary>Sends HEALTH; returns the agent's free-form status text.</summary>
    public async Task<string> HealthAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var f = await RequestAsync(AgentMessageTypes.Health, default, null, timeout, cancellationToken).ConfigureAwait(false);
        Expect(f, AgentMessageTypes.Ok);
        return Encoding.UTF8.GetString(f.Body.Span);
    }

    /// <summary>Places a file in the guest (FILE).</summary>
    public async Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var f = await RequestAsync(AgentMessageTypes.File, content, [path], timeout, cancellationToken).ConfigureAwait(false);
        Expect(f, AgentMessageTypes.Ok);
    }

    /// <summary>Sets the command later INVOKEs run (LOAD).</summary>
    public async Task LoadAsync(string command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var f = await RequestAsync(AgentMessageTypes.Load, Encoding.UTF8.GetBytes(command), null, timeout, cancellationToken).ConfigureAwait(false);
        Expect(f, AgentMessageTypes.Ok);
    }

    /// <summary>Runs the loaded command once with <paramref name="payload"/> on its standard input (INVOKE).</summary>
    public async Task<AgentInvokeResult> InvokeAsync(ReadOnlyMemory<byte> payload, string? invocationId, CancellationToken cancellationToken)
    {
        string[]? args = AgentFrameCodec.IsValidToken(invocationId) ? [invocationId!] : null;
        var f = await RequestAsync(AgentMessageTypes.Invoke, payload, args, Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
        Expect(f, AgentMessageTypes.Result);
        if (!int.TryParse(f.Arg(0), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exit)
            || !long.TryParse(f.Arg(1), NumberStyles.None, CultureInfo.InvariantCulture, out var micros)
            || !int.TryParse(f.Arg(2), NumberStyles.None, CultureInfo.InvariantCulture, out var outLength)
            || outLength > f.Body.Length)
        {
            throw new AgentProtocolException(AgentProtocolError.MalformedHeader, $"RESULT needs 'EXIT MICROSECONDS STDOUT_LENGTH' (args: {string.Join(' ', f.Args)}, body {f.Body.Length} bytes).");
        }

        return new AgentInvokeResult(exit, TimeSpan.FromTicks(micros * 10), f.Body[..outLength], f.Body[outLength..]);
    }

    /// <summary>Scrubs the guest back to a fresh state (RESET).</summary>
    public async Task ResetAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var f = await RequestAsync(AgentMessageTypes.Reset, default, null, timeout, cancellationToken).ConfigureAwait(false);
        Expect(f, AgentMessageTypes.Ok);
    }

    /// <summary>Sends one request and waits for the response with the same id.</summary>
    /// <exception cref="AgentChannelClosedException">The channel closed before the response came.</exception>
    /// <exception cref="TimeoutException">No response within <paramref name="timeout"/>.</exception>
    public async Task<AgentFrame> RequestAsync(string type, ReadOnlyMemory<byte> body, IReadOnlyList<string>? args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        var id = Interlocked.Increment(ref _nextId);
        var tcs = new TaskCompletionSource<AgentFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        try
        {
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ThrowIfClosed();
                await AgentFrameCodec.WriteAsync(_stream, type, id, body, args, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw new AgentChannelClosedException($"Writing a {type} frame to the guest agent failed: {ex.Message}", ex);
            }
            finally
            {
                _writeLock.Release();
            }

            if (timeout == Timeout.InfiniteTimeSpan)
            {
                return await tcs.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            try
            {
                return await tcs.Task.WaitAsync(timeout, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"The guest agent did not answer {type} within {timeout.TotalSeconds:F1} s.");
            }
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Close(new AgentChannelClosedException("The guest agent channel was disposed."));
        await _stop.CancelAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
        try
        {
            await _readLoop.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // the loop reports through Close; nothing more to do
        }

        _stop.Dispose();
        _writeLock.Dispose();
    }

    private static void Expect(AgentFrame frame, string type)
    {
        if (frame.Type == type)
        {
            return;
        }

        if (frame.Type == AgentMessageTypes.Error)
        {
            throw new AgentProtocolException(AgentProtocolError.AgentError, $"The guest agent answered with error '{frame.Arg(0) ?? "unknown"}': {Encoding.UTF8.GetString(frame.Body.Span)}", frame.Arg(0));
        }

        throw new AgentProtocolException(AgentProtocolError.UnknownType, $"The guest agent answered {frame.Type} where {type} was expected.");
    }

    private void ThrowIfClosed()
    {
        if (Volatile.Read(ref _closedBecause) is { } why)
        {
            throw why as AgentChannelClosedException ?? new AgentChannelClosedException($"The guest agent channel is closed: {why.Message}", why);
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var frame = await _reader.ReadAsync(_stop.Token).ConfigureAwait(false);
                if (frame is null)
                {
                    Close(new AgentChannelClosedException("The guest agent closed the channel (end of stream)."));
                    return;
                }

                if (!AgentMessageTypes.IsResponse(frame.Type))
                {
                    throw new AgentProtocolException(AgentProtocolError.UnknownType, $"The guest agent sent an unknown message type '{frame.Type}'.");
                }

                // a response whose caller gave up (cancelled or timed out) has no entry: drop it
                if (_pending.TryRemove(frame.Id, out var tcs))
                {
                    tcs.TrySetResult(frame);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (AgentProtocolException ex)
        {
            Close(ex);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            Close(new AgentChannelClosedException($"Reading from the guest agent failed: {ex.Message}", ex));
        }
    }

    private void Close(Exception why)
    {
        if (Interlocked.CompareExchange(ref _closedBecause, why, null) is not null)
        {
            return;
        }

        foreach (var (id, tcs) in _pending)
        {
            if (_pending.TryRemove(id, out _))
            {
                tcs.TrySetException(why is AgentChannelClosedException ? why : new AgentChannelClosedException($"The guest agent channel closed: {why.Message}", why));
            }
        }

        Closed?.Invoke(why);
    }
}
