namespace OnDemandExecution.Oci.Runtime;

/// <summary>File modes and directories with modes (the provider runs on Linux only; the options validator says so elsewhere).</summary>
internal static class UnixModes
{
    public static void Set(string path, int mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, (UnixFileMode)mode);
        }
    }

    public static void CreateDirectory(string path, int mode)
    {
        Directory.CreateDirectory(path);
        Set(path, mode);
    }
}
