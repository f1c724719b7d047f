using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace OnDemandExecution.Oci.Runtime;

/// <summary>What <c>runtime state</c> says about a container.</summary>
/// <param name="Status">created, running, paused or stopped.</param>
/// <param name="Pid">The container's init process on the host (0 when stopped).</param>
internal sealed record ContainerState(string Status, int Pid);

/// <summary>The outcome of one runtime command.</summary>
internal sealed record RuntimeResult(int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>
/// The OCI runtime's command line (<c>runc</c> and <c>crun</c> share it): <c>create</c>, <c>start</c>, <c>state</c>,
/// <c>kill</c>, <c>delete</c> and <c>list</c>, all under one <c>--root</c> state directory so a provider sees only its
/// own containers.
/// </summary>
internal sealed class RuntimeCli
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _timeProvider;

    public RuntimeCli(string runtimePath, string stateDirectory, TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        RuntimePath = runtimePath;
        StateDirectory = stateDirectory;
    }

    public string RuntimePath { get; }

    public string StateDirectory { get; }

    /// <summary>Resolves a runtime name or path to an executable file, or null when there is none.</summary>
    public static string? ResolveExecutable(string nameOrPath)
    {
        if (string.IsNullOrWhiteSpace(nameOrPath))
        {
            return null;
        }

        if (nameOrPath.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(nameOrPath) ? Path.GetFullPath(nameOrPath) : null;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, nameOrPath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        // root's PATH usually has the sbin directories, a service's may not
        foreach (var dir in new[] { "/usr/sbin", "/sbin", "/usr/local/sbin" })
        {
            var candidate = Path.Combine(dir, nameOrPath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary><c>runtime --version</c>'s first line.</summary>
    public async Task<string> VersionAsync(CancellationToken cancellationToken)
    {
        var r = await RunAsync(["--version"], withRoot: false, cancellationToken).ConfigureAwait(false);
        return r.StandardOutput.Split('\n', 2)[0].Trim();
    }

    /// <summary>
    /// <c>create --bundle DIR --pid-file FILE ID</c>: sets the container up; its init waits for <c>start</c>. The
    /// runtime hands its standard streams to the container's init, which outlives it: they go to
    /// <paramref name="consoleLog"/> (the agent's own messages land there too), never to pipes of this process.
    /// </summary>
    public async Task<RuntimeResult> CreateAsync(string id, string bundle, string pidFile, string consoleLog, CancellationToken cancellationToken)
    {
        var r = await RunAsync(["create", "--bundle", bundle, "--pid-file", pidFile, id], withRoot: true, cancellationToken, consoleLog).ConfigureAwait(false);
        return r with { StandardError = ReadTail(consoleLog) };
    }

    /// <summary>The last 2000 characters of a file, or empty when it cannot be read.</summary>
    public static string ReadTail(string path)
    {
        try
        {
            var text = File.Exists(path) ? File.ReadAllText(path).Trim() : string.Empty;
            return text.Length > 2000 ? text[^2000..] : text;
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    /// <summary><c>start ID</c>: runs the container's init (the agent).</summary>
    public Task<RuntimeResult> StartAsync(string id, CancellationToken cancellationToken)
        => RunAsync(["start", id], withRoot: true, cancellationToken);

    /// <summary><c>kill [--all] ID SIGNAL</c>.</summary>
    public Task<RuntimeResult> KillAsync(string id, string signal, bool all, CancellationToken cancellationToken)
        => RunAsync(all ? ["kill", "--all", id, signal] : ["kill", id, signal], withRoot: true, cancellationToken);

    /// <summary><c>delete --force ID</c>: kills what is left and removes the container's state and cgroup.</summary>
    public Task<RuntimeResult> DeleteAsync(string id, CancellationToken cancellationToken)
        => RunAsync(["delete", "--force", id], withRoot: true, cancellationToken);

    /// <summary><c>state ID</c>, or null when the runtime does not know the container.</summary>
    public async Task<ContainerState?> StateAsync(string id, CancellationToken cancellationToken)
    {
        var r = await RunAsync(["state", id], withRoot: true, cancellationToken).ConfigureAwait(false);
        if (!r.Succeeded)
        {
            return null;
        }

        using var doc = JsonDocument.Parse(r.StandardOutput);
        var root = doc.RootElement;
        return new ContainerState(
            root.TryGetProperty("status", out var s) ? s.GetString() ?? "unknown" : "unknown",
            root.TryGetProperty("pid", out var p) && p.TryGetInt32(out var pid) ? pid : 0);
    }

    /// <summary>The ids of every container under the state directory (<c>list --format json</c>).</summary>
    public async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(StateDirectory))
        {
            return [];
        }

        var r = await RunAsync(["list", "--format", "json"], withRoot: true, cancellationToken).ConfigureAwait(false);
        if (!r.Succeeded)
        {
            throw new InvalidOperationException($"{RuntimePath} list failed ({r.ExitCode}): {r.StandardError.Trim()}");
        }

        var text = r.StandardOutput.Trim();
        if (text.Length == 0 || text == "null")
        {
            return [];
        }

        using var doc = JsonDocument.Parse(text);
        var ids = new List<string>();
        foreach (var c in doc.RootElement.EnumerateArray())
        {
            if (c.TryGetProperty("id", out var id) && id.GetString() is { } s)
            {
                ids.Add(s);
            }
        }

        return ids;
    }

    private async Task<RuntimeResult> RunAsync(string[] args, bool withRoot, CancellationToken cancellationToken, string? stdioFile = null)
    {
        var psi = new ProcessStartInfo(stdioFile is null ? RuntimePath : "/bin/sh")
        {
            RedirectStandardOutput = stdioFile is null,
            RedirectStandardError = stdioFile is null,
            RedirectStandardInput = stdioFile is null,
            UseShellExecute = false,
        };
        if (stdioFile is not null)
        {
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("exec \"$0\" \"$@\" </dev/null >>\"$ODX_STDIO\" 2>&1");
            psi.ArgumentList.Add(RuntimePath);
            psi.Environment["ODX_STDIO"] = stdioFile;
        }

        if (withRoot)
        {
            psi.ArgumentList.Add("--root");
            psi.ArgumentList.Add(StateDirectory);
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = new Process { StartInfo = psi };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.Start();
        if (stdioFile is null)
        {
            process.StandardInput.Close();
            process.OutputDataReceived += (_, e) => Append(stdout, e.Data);
            process.ErrorDataReceived += (_, e) => Append(stderr, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        using var deadline = new CancellationTokenSource(CommandTimeout, _timeProvider);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new TimeoutException($"{RuntimePath} {string.Join(' ', args)} did not finish within {CommandTimeout.TotalSeconds:F0} s.");
        }

        lock (stdout)
        {
            lock (stderr)
            {
                return new RuntimeResult(process.ExitCode, stdout.ToString(), stderr.ToString());
            }
        }
    }

    private static void Append(StringBuilder sb, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (sb)
        {
            sb.Append(line).Append('\n');
        }
    }
}
