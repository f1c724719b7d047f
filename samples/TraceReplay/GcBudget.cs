using System.Diagnostics;

namespace TraceReplay;

/// <summary>
/// Runs the replay with a large GC gen0 budget. A replay keeps thousands of calls in flight on virtual time, each an
/// async state machine that lives a few simulated seconds; with the default (cache-sized) gen0 budget most of them are
/// still alive at every gen0 collection and get promoted, so the GC, not the replay, takes most of the time. The budget
/// (<c>DOTNET_GCgen0size</c>) is read only at process start and only from the environment (no runtimeconfig knob), so
/// the program starts itself once more with it set, unless the caller already set it. Results do not depend on it; the
/// whole real day took 154 s without it and 93 s with it (docs/simulator.md).
/// </summary>
internal static class GcBudget
{
    private const string Variable = "DOTNET_GCgen0size";
    private const string Budget = "0x10000000"; // 256 MiB

    /// <summary>True (with the child's exit code) when this process ran the replay in a child with the larger budget.</summary>
    public static bool TryRunWithLargerBudget(string[] args, out int exitCode)
    {
        exitCode = 0;
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } || Environment.ProcessPath is not { } host)
        {
            return false;
        }

        var start = new ProcessStartInfo(host) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add(typeof(GcBudget).Assembly.Location);
        }

        foreach (var argument in args)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment[Variable] = Budget;
        try
        {
            using var child = Process.Start(start);
            if (child is null)
            {
                return false;
            }

            child.WaitForExit();
            exitCode = child.ExitCode;
            return true;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // cannot start a child here: replay in this process, only slower
        }
    }
}
