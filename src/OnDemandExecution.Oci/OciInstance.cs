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
internal sealed class OciInstance : IInstance, IGuestAgentHost
{
    private readonly OciInstanceProvider _provider;
    private readonly string _directory;
    private GuestAgentSession? _session;
    private string? _deathReason;
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

    string IGuestAgentHost.InstanceId => Id;

    string IGuestAgentHost.ProviderName => OciInstanceProvider.ProviderName;

    bool IGuestAgentHost.IsPaused => false;

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
            var channel = new AgentChannel(new NetworkStream(connection, ownsSocket: true), provider.Options.MaxFrameBytes, tp);
            channel.Closed += ex => instance.MarkDead("the agent channel closed: " + ex.Message);
            instance._session = new GuestAgentSession(channel, instance, provider.Options.AgentTimeout);
            var hello = await instance._session.HelloAsync(ct).ConfigureAwait(false);
            // SEED gives the agent the instance id (ODX_INSTANCE_ID); the host's entropy is mixed in, not credited
            await instance._session.SeedAsync(id, ct).ConfigureAwait(false);
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
        var session = Session(definition.Name);
        if (definition.Code is ProgramFunctionCode { Files: { Count: > 0 } files } program && session.LoadedFunction is null)
        {
            // files under /work are copied by the host into the container's writable directory; the agent writes
            // only the others (under /tmp), so a large function does not travel through the socket
            var rest = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var (path, content) in files)
            {
                if (WorkRelative(path) is { } relative)
                {
                    CopyIntoWork(definition.Name, relative, content);
                }
                else
                {
                    rest[path] = content;
                }
            }

            definition = new FunctionDefinition(definition.Name, new ProgramFunctionCode(program.Command, rest));
        }

        await session.LoadAsync(definition, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<ReadOnlyMemory<byte>> InvokeAsync(InvocationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Session(request.FunctionName).InvokeAsync(request, cancellationToken);
    }

    public ValueTask<bool> StopWorkAsync(CancellationToken cancellationToken)
        => IsAlive && _session is { } session ? session.StopWorkAsync(cancellationToken) : new(false);

    public async ValueTask<bool> RecycleAsync(CancellationToken cancellationToken)
    {
        if (!IsAlive || _session is not { } session)
        {
            return false;
        }

        // RESET: the agent kills every process but itself and empties /work and /tmp; then the host empties the host
        // side of /work as root too, so nothing the function made survives even if it dodged the agent
        if (!await session.RecycleAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        try
        {
            EmptyDirectory(WorkPath);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            MarkDead("the host could not empty the container's /work: " + ex.Message);
            return false;
        }
    }

    public ValueTask<InstanceHealth> CheckHealthAsync(CancellationToken cancellationToken)
        => IsAlive && _session is { } session ? session.CheckHealthAsync(cancellationToken) : new(InstanceHealth.Dead);

    Task IGuestAgentHost.EnsureRunningAsync(string? function, CancellationToken cancellationToken)
    {
        Session(function);
        return Task.CompletedTask;
    }

    void IGuestAgentHost.MarkDead(string reason) => MarkDead(reason);

    InstanceDiedException IGuestAgentHost.Died(string? function, Exception? inner) => Died(function, inner);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _provider.Untrack(this);
        try
        {
            if (_session is not null)
            {
                await _session.Channel.DisposeAsync().ConfigureAwait(false);
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

    private GuestAgentSession Session(string? function)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Volatile.Read(ref _deathReason) is not null || _session is null)
        {
            throw Died(function, null);
        }

        return _session;
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
