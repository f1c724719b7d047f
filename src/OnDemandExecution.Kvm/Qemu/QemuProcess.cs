using System.Diagnostics;
using System.Text;

namespace OnDemandExecution.Kvm.Qemu;

/// <summary>One QEMU child process: started with redirected standard streams (so it never touches the host's terminal), keeping the tail of its standard error for error messages.</summary>
internal sealed class QemuProcess : IDisposable
{
    private const int MaxStderrChars = 4096;
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly object _stderrLock = new();
    private int _killed;

    private QemuProcess(Process process)
    {
        _process = process;
    }

    /// <summary>Raised once when the process exits, with its exit code.</summary>
    public event Action<int>? Exited;

    public int Pid { get; private set; }

    public bool HasExited
    {
        get
        {
            try
            {
                return _process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

    /// <summary>Whether the process was killed by <see cref="KillAsync"/> (an exit expected by the host).</summary>
    public bool KilledByHost => Volatile.Read(ref _killed) != 0;

    /// <summary>Starts QEMU, through <paramref name="prefix"/> (programs that exec it in place: unshare, setpriv) when not empty.</summary>
    public static QemuProcess Start(IReadOnlyList<string> prefix, string qemuPath, IEnumerable<string> arguments)
    {
        var psi = new ProcessStartInfo(prefix.Count > 0 ? prefix[0] : qemuPath)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        foreach (var a in prefix.Skip(1).Concat(prefix.Count > 0 ? [qemuPath] : []).Concat(arguments))
        {
            psi.ArgumentList.Add(a);
        }

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var q = new QemuProcess(process);
        process.ErrorDataReceived += (_, e) => q.AppendStderr(e.Data);
        process.OutputDataReceived += (_, _) => { };
        process.Exited += (_, _) => q.OnExited();
        process.Start();
        q.Pid = process.Id;
        process.StandardInput.Close();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return q;
    }

    /// <summary>The last few KiB QEMU wrote to standard error.</summary>
    public string StandardErrorTail()
    {
        lock (_stderrLock)
        {
            return _stderr.ToString().Trim();
        }
    }

    public int? ExitCode
    {
        get
        {
            try
            {
                return _process.HasExited ? _process.ExitCode : null;
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }
    }

    /// <summary>Kills the process (SIGKILL) and waits for it to be reaped, at most <paramref name="wait"/>.</summary>
    public async Task KillAsync(TimeSpan wait, TimeProvider timeProvider)
    {
        Interlocked.Exchange(ref _killed, 1);
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync().WaitAsync(wait, timeProvider).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            // already gone, or not reaped in time (the runtime reaps it later)
        }
    }

    public void Dispose() => _process.Dispose();

    private void OnExited()
    {
        int code;
        try
        {
            code = _process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            code = -1;
        }

        Exited?.Invoke(code);
    }

    private void AppendStderr(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_stderrLock)
        {
            _stderr.AppendLine(line);
            if (_stderr.Length > MaxStderrChars)
            {
                _stderr.Remove(0, _stderr.Length - MaxStderrChars);
            }
        }
    }
}
