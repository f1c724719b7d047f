using System.Globalization;
using System.Net.Sockets;
using System.Text;
using OnDemandExecution.GuestAgent;
using OnDemandExecution.Oci.Diagnostics;
using OnDemandExecution.Oci.Runtime;

namespace OnDemandExecution.Oci;

/// <summary>
/// One OCI container: created and started by the runtime with the ODX1 agent as its init, which connects to a Unix
/// socket this instance listens on (bind-mounted read-only at <c>/odx</c>). The listener is closed and its file removed
/// as soon as the agent is connected, so nothing in the container can open a second channel. The agent channel
/// closing (the container's init exiting, killed from outside or by the OOM killer) marks the instance dead; after
/// that every call fails with <see cref="InstanceDiedException"/> and only disposal is left.
/// </summary>
internal sealed class OciInstance : IInstance
{
    private readonly OciInstanceProvider _provider;
    private readonly string _directory;
    private AgentChannel? _agent;
    private string? _deathReason;
    private string? _loadedFunction;
    private int _disposed;
    private int _created;

    private OciInstance(OciInstanceProvider provider, string id, string directory)
    {
        _provider = provider;
        Id = id;
        _directory = directory;
    }

    public string Id { get; }

    public InstanceLocation Location => InstanceLocation.Local;

    public bool IsAlive => Volatile.Read(ref _deathReason) is null && Volatile.Read(ref _disposed) == 0;

    /// <summary>The container's init (the agent) as a host pid, 0 before it started.</summary>
    public int Pid { get; private set; }

    /// <summary>The agent's version from its READY frame.</summary>
    public string AgentVersion { get; private set; } = "unknown";

    /// <summary>The instance's own directory (config.json, socket, <c>work/</c>, console log); deleted on disposal.</summary>
    internal string WorkingDirectory => _directory;

    /// <summary>The host side of the container's <c>/work</c>.</summary>
    internal string WorkPath => Path.Combine(_directory, "work");

    private string ConsoleLog => Path.Combine(_directory, "console.log");

    /// <summary>Creates and starts the container and waits until the agent answers HELLO.</summary>
    public static async Task<OciInstance> StartAsync(OciInstanceProvider provider, string id, ContainerConfig config, CancellationToken cancellationToken)
    {
        var tp = provider.TimeProvider;
        var timeout = provider.Options.StartTimeout;
        using var activity = OciMetrics.ActivitySource.StartActivity(OciDiagnostics.StartActivity);
        var started = tp.GetTimestamp();
        var dir = Path.GetDirectoryName(config.WorkDirectory)!;
        var instance = new OciInstance(provider, id, dir);
        using var timeoutCts = new CancellationTokenSource(timeout, tp);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token);
        var ct = linked.Token;
        Socket? listener = null;
        var socketPath = Path.Combine(config.SocketDirectory, "agent.sock");
        try
        {
            listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(socketPath));
            listener.Listen(1);
            UnixModes.Set(socketPath, 0x1B6); // 0666: the agent runs as an unprivileged uid

            OciSpecWriter.Write(dir, config);
            var create = await provider.Cli.CreateAsync(id, dir, Path.Combine(dir, "init.pid"), instance.ConsoleLog, ct).ConfigureAwait(false);
            Volatile.Write(ref instance._created, 1);
            if (!create.Succeeded)
            {
                throw new RuntimeCommandException("create", create);
            }

            instance.Pid = ReadPid(Path.Combine(dir, "init.pid"));
            var start = await provider.Cli.StartAsync(id, ct).ConfigureAwait(false);
            if (!start.Succeeded)
            {
                throw new RuntimeCommandException("start", start);
            }

            // accept the agent's connection, giving up early if the container's init is already gone
            var accept = listener.AcceptAsync(ct).AsTask();
            while (!accept.IsCompleted)
            {
                await Task.WhenAny(accept, Task.Delay(TimeSpan.FromMilliseconds(20), tp, ct)).ConfigureAwait(false);
                if (!accept.IsCompleted && instance.Pid > 0 && HostIdentity.StartTime(instance.Pid) is null)
                {
                    throw new InvalidOperationException("the container's init exited before its agent connected");
                }
            }

            var connection = await accept.ConfigureAwait(false);
            listener.Dispose();
            listener = null;
            File.Delete(socketPath);
            instance._agent = new AgentChannel(new NetworkStream(connection, ownsSocket: true), provider.Options.MaxFrameBytes, tp);
            instance._agent.Closed += ex => instance.MarkDead("the agent channel closed: " + ex.Message);
            var hello = await instance._agent.HelloAsync(Timeout.InfiniteTimeSpan, ct).ConfigureAwait(false);
            if (hello.ProtocolVersion != AgentFrameCodec.ProtocolVersion)
            {
                throw new AgentProtocolException(AgentProtocolError.BadMagic, $"The guest agent speaks protocol version {hello.ProtocolVersion}; this host speaks {AgentFrameCodec.ProtocolVersion}.");
            }

            instance.AgentVersion = hello.AgentVersion;
            var elapsed = tp.GetElapsedTime(started);
            provider.Metrics.StartDuration.Record(elapsed.TotalSeconds);
            OciLog.ContainerStarted(provider.Logger, id, elapsed.TotalMilliseconds, instance.Pid, hello.AgentVersion);
            return instance;
        }
        catch (Exception ex)
        {
            listener?.Dispose();
            var console = RuntimeCli.ReadTail(instance.ConsoleLog);
            await instance.DisposeAsync().ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            var what = timeoutCts.IsCancellationRequested ? $"the agent was not ready within {timeout.TotalSeconds:F0} s" : ex.Message;
            throw new InstanceProviderException(
                $"Starting container {id} with {provider.Cli.RuntimePath} failed: {what}.{(console.Length == 0 || ex is RuntimeCommandException ? string.Empty : " Console: " + console)}", ex)
            { ProviderName = OciInstanceProvider.ProviderName };
        }
    }

    public async ValueTask LoadAsync(FunctionDefinition definition, TenantId tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (definition.Code is not ProgramFunctionCode program)
        {
            throw new InstanceProviderException($"The OCI provider runs programs (ProgramFunctionCode), not {definition.Code.Kind} code (function '{definition.Name}').") { FunctionName = definition.Name, ProviderName = OciInstanceProvider.ProviderName };
        }

        if (_loadedFunction is not null)
        {
            throw new InvalidOperationException($"Instance {Id} already holds function '{_loadedFunction}'; recycle it before loading '{definition.Name}'.");
        }

        var agent = ReadyAgent(definition.Name);
        var timeout = _provider.Options.AgentTimeout;
        await ControlAsync(definition.Name, async ct =>
        {
            foreach (var (path, content) in program.Files ?? new Dictionary<string, byte[]>())
            {
                if (WorkRelative(path) is { } relative)
                {
                    CopyIntoWork(definition.Name, relative, content);
                }
                else if (AgentFrameCodec.IsValidToken(path) && !path.Contains("..", StringComparison.Ordinal))
                {
                    await agent.WriteFileAsync(path, content, timeout, ct).ConfigureAwait(false); // elsewhere (/tmp): the agent writes it
                }
                else
                {
                    throw new InstanceProviderException($"File path '{path}' of function '{definition.Name}' is not valid: use a relative path or one under /work or /tmp, printable ASCII without spaces or '..'.") { FunctionName = definition.Name, ProviderName = OciInstanceProvider.ProviderName };
                }
            }

            await agent.LoadAsync(program.Command, timeout, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        _loadedFunction = definition.Name;
    }

    public async ValueTask<ReadOnlyMemory<byte>> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_loadedFunction is null)
        {
            throw new InvalidOperationException($"Instance {Id} has no function loaded.");
        }

        var agent = ReadyAgent(request.FunctionName);
        AgentInvokeResult result;
        try
        {
            result = await agent.InvokeAsync(request.Payload, request.InvocationId, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the program goes on until StopWorkAsync cancels it; its late RESULT is dropped by id
            throw;
        }
        catch (Exception ex) when (ex is AgentChannelClosedException || (ex is AgentProtocolException p && p.Error != AgentProtocolError.AgentError))
        {
            MarkDead(ex.Message);
            throw Died(request.FunctionName, ex);
        }
        catch (AgentProtocolException ex)
        {
            throw new InstanceProviderException($"The agent of container {Id} refused the call: {ex.Message}", ex) { FunctionName = request.FunctionName, ProviderName = OciInstanceProvider.ProviderName };
        }

        if (result.ExitCode != 0)
        {
            var stderr = Encoding.UTF8.GetString(result.Error.Span).Trim();
            throw new FunctionExecutionException(
                $"Function '{request.FunctionName}' exited with status {result.ExitCode} in container {Id}{(stderr.Length == 0 ? "." : ": " + stderr)}")
            { FunctionName = request.FunctionName };
        }

        return result.Output;
    }

    public async ValueTask<bool> StopWorkAsync(CancellationToken cancellationToken)
    {
        if (!IsAlive || _agent is not { } agent)
        {
            return false;
        }

        try
        {
            // CANCEL kills the running program's whole process group and answers OK only once it is gone
            var reply = await agent.RequestAsync("CANCEL", default, null, _provider.Options.AgentTimeout, cancellationToken).ConfigureAwait(false);
            return reply.Type == AgentMessageTypes.Ok;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (TimeoutException ex)
        {
            MarkDead(ex.Message);
            return false;
        }
        catch (Exception ex) when (ex is AgentChannelClosedException or AgentProtocolException)
        {
            return false;
        }
    }

    public async ValueTask<bool> RecycleAsync(CancellationToken cancellationToken)
    {
        if (!IsAlive)
        {
            return false;
        }

        try
        {
            var agent = ReadyAgent(_loadedFunction);
            // RESET: the agent kills every process but itself and empties /work and /tmp; then the host empties the
            // host side of /work as root too, so nothing the function made survives even if it dodged the agent
            await ControlAsync(_loadedFunction, ct => agent.ResetAsync(_provider.Options.AgentTimeout, ct), cancellationToken).ConfigureAwait(false);
            EmptyDirectory(WorkPath);
            _loadedFunction = null;
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is OnDemandExecutionException or AgentProtocolException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public async ValueTask<InstanceHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        if (!IsAlive || _agent is not { } agent)
        {
            return InstanceHealth.Dead;
        }

        try
        {
            await agent.HealthAsync(_provider.Options.AgentTimeout, cancellationToken).ConfigureAwait(false);
            return InstanceHealth.Healthy;
        }
        catch (TimeoutException ex)
        {
            MarkDead(ex.Message);
            return InstanceHealth.Dead;
        }
        catch (AgentChannelClosedException)
        {
            return InstanceHealth.Dead;
        }
        catch (AgentProtocolException)
        {
            return InstanceHealth.Degraded;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _provider.Untrack(this);
        try
        {
            if (_agent is not null)
            {
                await _agent.DisposeAsync().ConfigureAwait(false);
            }

            if (Volatile.Read(ref _created) != 0)
            {
                // delete --force kills whatever runs and removes the state and cgroup; once more after a plain kill if it failed
                var r = await _provider.Cli.DeleteAsync(Id, CancellationToken.None).ConfigureAwait(false);
                if (!r.Succeeded && await _provider.Cli.StateAsync(Id, CancellationToken.None).ConfigureAwait(false) is not null)
                {
                    await _provider.Cli.KillAsync(Id, "KILL", all: true, CancellationToken.None).ConfigureAwait(false);
                    r = await _provider.Cli.DeleteAsync(Id, CancellationToken.None).ConfigureAwait(false);
                    if (!r.Succeeded)
                    {
                        throw new RuntimeCommandException("delete", r);
                    }
                }
            }

            if (Directory.Exists(_directory))
            {
                Directory.Delete(_directory, recursive: true);
            }

            OciLog.ContainerRemoved(_provider.Logger, Id);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or TimeoutException)
        {
            OciLog.CleanupFailed(_provider.Logger, Id, ex);
        }
    }

    /// <summary>A path inside <c>/work</c> (relative, or absolute under /work), or null when it lies elsewhere.</summary>
    internal static string? WorkRelative(string path)
    {
        var relative = path.StartsWith("/work/", StringComparison.Ordinal) ? path["/work/".Length..] : path.StartsWith('/') ? null : path;
        if (relative is null)
        {
            return null;
        }

        if (relative.Length == 0 || relative.Split('/').Any(s => s is "" or "." or "..") || relative.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }

        return relative;
    }

    private static int ReadPid(string pidFile)
    {
        try
        {
            return int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static void EmptyDirectory(string path)
    {
        var dir = new DirectoryInfo(path);
        foreach (var entry in dir.EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo d && d.LinkTarget is null)
            {
                d.Delete(recursive: true);
            }
            else
            {
                entry.Delete();
            }
        }
    }

    private void CopyIntoWork(string function, string relative, byte[] content)
    {
        // written by the host (root-owned, 0755): the function can read and run its files but not rewrite them
        var target = Path.Combine(WorkPath, relative);
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        if (new FileInfo(target).LinkTarget is not null || Directory.Exists(target))
        {
            throw new InstanceProviderException($"File path '{relative}' of function '{function}' names a directory or link in the container.") { FunctionName = function, ProviderName = OciInstanceProvider.ProviderName };
        }

        File.WriteAllBytes(target, content);
        UnixModes.Set(target, 0x1ED); // 0755
    }

    private AgentChannel ReadyAgent(string? function)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Volatile.Read(ref _deathReason) is not null || _agent is null)
        {
            throw Died(function, null);
        }

        return _agent;
    }

    private async Task ControlAsync(string? function, Func<CancellationToken, Task> call, CancellationToken cancellationToken)
    {
        try
        {
            await call(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is TimeoutException or AgentChannelClosedException || (ex is AgentProtocolException p && p.Error != AgentProtocolError.AgentError))
        {
            MarkDead(ex.Message);
            throw Died(function, ex);
        }
        catch (AgentProtocolException ex)
        {
            throw new InstanceProviderException($"The agent of container {Id} refused a request: {ex.Message}", ex) { FunctionName = function, ProviderName = OciInstanceProvider.ProviderName };
        }
    }

    private InstanceDiedException Died(string? function, Exception? inner)
    {
        var console = RuntimeCli.ReadTail(ConsoleLog);
        return new($"Container {Id} died: {Volatile.Read(ref _deathReason) ?? inner?.Message ?? "unknown"}.{(console.Length == 0 ? string.Empty : " Console: " + console)}", inner)
        {
            InstanceId = Id,
            FunctionName = function,
        };
    }

    private void MarkDead(string reason)
    {
        if (Interlocked.CompareExchange(ref _deathReason, reason, null) is not null || Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        _provider.Metrics.InstancesDied.Add(1);
        OciLog.ContainerDied(_provider.Logger, Id, reason);
    }
}
