using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace OnDemandExecution.Kvm.Qmp;

/// <summary>An asynchronous event QEMU sent (<c>SHUTDOWN</c>, <c>STOP</c>, <c>RESUME</c>, <c>MIGRATION</c>...).</summary>
/// <param name="Name">The event's name.</param>
/// <param name="Data">Its <c>data</c> member (<see cref="JsonValueKind.Undefined"/> when absent).</param>
internal sealed record QmpEvent(string Name, JsonElement Data);

/// <summary>
/// A QMP client over a Unix socket: reads the greeting, negotiates capabilities, sends commands with ids and
/// matches the responses to them, and surfaces asynchronous events. Line-delimited JSON both ways.
/// </summary>
internal sealed class QmpClient : IAsyncDisposable
{
    private static readonly JsonElement IgnoreSharedArguments = JsonDocument.Parse("""{"capabilities":[{"capability":"x-ignore-shared","state":true}]}""").RootElement.Clone();
    private readonly Stream _stream;
    private readonly StreamReader _reader;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<long, (string Command, TaskCompletionSource<JsonElement> Tcs)> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _readLoop;
    private long _nextId;
    private Exception? _closedBecause;

    private QmpClient(Stream stream)
    {
        _stream = stream;
        _reader = new StreamReader(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: false, bufferSize: 8192, leaveOpen: true);
    }

    /// <summary>Raised for each asynchronous event, on the reader's thread.</summary>
    public event Action<QmpEvent>? EventReceived;


    /// <summary>Raised once when the connection closes; the argument says why.</summary>
    public event Action<Exception>? Closed;

    /// <summary>QEMU's version from the greeting.</summary>
    public string QemuVersion { get; private set; } = "unknown";

    /// <summary>Connects to a QMP Unix socket, retrying until it exists or <paramref name="timeout"/> elapses, then negotiates capabilities.</summary>
    public static async Task<QmpClient> ConnectAsync(string socketPath, TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken, Func<bool>? keepTrying = null)
    {
        var stream = await UnixSocket.ConnectAsync(socketPath, timeout, timeProvider, cancellationToken, keepTrying).ConfigureAwait(false);
        return await ConnectAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs the handshake on an already connected stream.</summary>
    public static async Task<QmpClient> ConnectAsync(Stream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var client = new QmpClient(stream);
        try
        {
            var line = await client._reader.ReadLineAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new QmpConnectionException("The QMP socket closed before QEMU sent its greeting.");
            QmpGreeting? greeting;
            try
            {
                greeting = JsonSerializer.Deserialize(line, QmpJsonContext.Default.QmpGreeting);
            }
            catch (JsonException ex)
            {
                throw new QmpConnectionException($"The QMP greeting is not JSON: {Truncate(line)}", ex);
            }

            if (greeting?.Qmp is null)
            {
                throw new QmpConnectionException($"Expected a QMP greeting, got: {Truncate(line)}");
            }

            client.QemuVersion = greeting.Qmp.Version?.Qemu?.ToString() ?? "unknown";
            client._readLoop = Task.Run(client.ReadLoopAsync, CancellationToken.None);
            await client.ExecuteAsync("qmp_capabilities", null, cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Runs a command and returns its <c>return</c> member.</summary>
    /// <exception cref="QmpCommandException">QEMU answered with an error.</exception>
    /// <exception cref="QmpConnectionException">The connection closed first.</exception>
    public async Task<JsonElement> ExecuteAsync(string command, JsonElement? arguments, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        ThrowIfClosed();
        var id = Interlocked.Increment(ref _nextId);
        var tcs = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = (command, tcs);
        try
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(new QmpCommand { Execute = command, Arguments = arguments, Id = id }, QmpJsonContext.Default.QmpCommand);
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ThrowIfClosed();
                var line = new byte[bytes.Length + 1];
                bytes.CopyTo(line, 0);
                line[^1] = (byte)'\n';
                await _stream.WriteAsync(line, cancellationToken).ConfigureAwait(false);
                await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                throw new QmpConnectionException($"Sending QMP command '{command}' failed: {ex.Message}", ex);
            }
            finally
            {
                _writeLock.Release();
            }

            return await tcs.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary><c>query-status</c>.</summary>
    public async Task<QmpStatusInfo> QueryStatusAsync(CancellationToken cancellationToken)
    {
        var r = await ExecuteAsync("query-status", null, cancellationToken).ConfigureAwait(false);
        return r.Deserialize(QmpJsonContext.Default.QmpStatusInfo) ?? throw new QmpConnectionException("query-status returned null.");
    }

    /// <summary><c>query-migrate</c>.</summary>
    public async Task<QmpMigrationInfo> QueryMigrateAsync(CancellationToken cancellationToken)
    {
        var r = await ExecuteAsync("query-migrate", null, cancellationToken).ConfigureAwait(false);
        return r.Deserialize(QmpJsonContext.Default.QmpMigrationInfo) ?? new QmpMigrationInfo();
    }

    /// <summary><c>migrate</c> to a URI (QEMU 7.2: <c>exec:</c> or <c>unix:</c>/<c>tcp:</c>; no <c>file:</c>).</summary>
    public Task MigrateAsync(string uri, CancellationToken cancellationToken)
        => ExecuteAsync("migrate", JsonSerializer.SerializeToElement(new QmpMigrateArguments { Uri = uri }, QmpJsonContext.Default.QmpMigrateArguments), cancellationToken);

    /// <summary><c>migrate-incoming</c>: a QEMU started with <c>-incoming defer</c> starts listening on <paramref name="uri"/>.</summary>
    public Task MigrateIncomingAsync(string uri, CancellationToken cancellationToken)
        => ExecuteAsync("migrate-incoming", JsonSerializer.SerializeToElement(new QmpMigrateArguments { Uri = uri }, QmpJsonContext.Default.QmpMigrateArguments), cancellationToken);

    /// <summary>
    /// <c>migrate-set-capabilities</c> with <c>x-ignore-shared</c> on: RAM in a shared memory backend is not sent (the
    /// template's RAM file is the RAM), so a saved state holds only the devices. Both sides must set it.
    /// </summary>
    public Task IgnoreSharedMemoryAsync(CancellationToken cancellationToken)
        => ExecuteAsync("migrate-set-capabilities", IgnoreSharedArguments.Clone(), cancellationToken);

    /// <summary><c>stop</c>: pauses the vCPUs.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => ExecuteAsync("stop", null, cancellationToken);

    /// <summary><c>cont</c>: resumes the vCPUs.</summary>
    public Task ContinueAsync(CancellationToken cancellationToken) => ExecuteAsync("cont", null, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        Close(new QmpConnectionException("The QMP client was disposed."));
        await _stop.CancelAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
        if (_readLoop is not null)
        {
            try
            {
                await _readLoop.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // reported through Close
            }
        }

        _reader.Dispose();
        _stop.Dispose();
        _writeLock.Dispose();
    }

    private static string Truncate(string s) => s.Length <= 200 ? s : s[..200] + "...";

    private void ThrowIfClosed()
    {
        if (Volatile.Read(ref _closedBecause) is { } why)
        {
            throw why as QmpConnectionException ?? new QmpConnectionException(why.Message, why);
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var line = await _reader.ReadLineAsync(_stop.Token).ConfigureAwait(false);
                if (line is null)
                {
                    Close(new QmpConnectionException("QEMU closed the QMP connection (the process exited or quit)."));
                    return;
                }

                if (line.Length == 0)
                {
                    continue;
                }

                Dispatch(line);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or JsonException or QmpConnectionException)
        {
            Close(ex as QmpConnectionException ?? new QmpConnectionException($"Reading from QMP failed: {ex.Message}", ex));
        }
    }

    private void Dispatch(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new QmpConnectionException($"QMP sent a line that is not a JSON object: {Truncate(line)}");
        }

        if (root.TryGetProperty("event", out var ev))
        {
            var data = root.TryGetProperty("data", out var d) ? d.Clone() : default;
            EventReceived?.Invoke(new QmpEvent(ev.GetString() ?? string.Empty, data));
            return;
        }

        if (!root.TryGetProperty("id", out var idElement) || !idElement.TryGetInt64(out var id) || !_pending.TryRemove(id, out var entry))
        {
            return; // a response nobody waits for any more (its caller was cancelled)
        }

        if (root.TryGetProperty("return", out var ret))
        {
            entry.Tcs.TrySetResult(ret.Clone());
        }
        else if (root.TryGetProperty("error", out var err))
        {
            var cls = err.TryGetProperty("class", out var c) ? c.GetString() ?? "GenericError" : "GenericError";
            var desc = err.TryGetProperty("desc", out var de) ? de.GetString() ?? string.Empty : string.Empty;
            entry.Tcs.TrySetException(new QmpCommandException(entry.Command, cls, desc));
        }
        else
        {
            entry.Tcs.TrySetException(new QmpConnectionException($"QMP answered '{entry.Command}' with neither return nor error: {Truncate(line)}"));
        }
    }

    private void Close(Exception why)
    {
        if (Interlocked.CompareExchange(ref _closedBecause, why, null) is not null)
        {
            return;
        }

        foreach (var (id, entry) in _pending)
        {
            if (_pending.TryRemove(id, out _))
            {
                entry.Tcs.TrySetException(why);
            }
        }

        Closed?.Invoke(why);
    }
}
