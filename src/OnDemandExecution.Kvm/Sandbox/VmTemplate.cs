using System.Globalization;
using System.Security.Cryptography;

namespace OnDemandExecution.Kvm.Sandbox;

/// <summary>
/// One template (per memory/vCPU/accelerator shape): its RAM file (<c>.ram</c>, owned by QEMU's uid, mode 0600;
/// clones map it copy-on-write), its device state (<c>.state</c>, host-owned, 0600) and a manifest of both files'
/// SHA-256 (<c>.manifest</c>, host-owned, 0600) in a host-owned directory QEMU may only pass through (0711). A
/// template is verified against its manifest before its first restore in a process (the whole RAM file is hashed
/// once), and before every restore the device state read into memory is hashed again and the RAM file's size and
/// modification time are checked against the verified ones.
/// </summary>
internal sealed class VmTemplate(string basePath)
{
    public string RamPath { get; } = basePath + ".ram";

    public string StatePath { get; } = basePath + ".state";

    public string ManifestPath { get; } = basePath + ".manifest";

    public SemaphoreSlim Lock { get; } = new(1, 1);

    /// <summary>How many times making or restoring this template failed; after 3 the provider boots instead.</summary>
    public int Failures { get; set; }

    private byte[]? _stateHash;
    private int _generation;

    /// <summary>Changes whenever the template's files are discarded or made again: a clone launched before maps a file that is gone.</summary>
    public int Generation => Volatile.Read(ref _generation);
    private (long Length, DateTime Modified)? _ramStamp;

    /// <summary>Whether the template was verified in this process and its RAM file looks unchanged since.</summary>
    public bool IsVerified => _stateHash is not null && _ramStamp == RamStamp();

    /// <summary>Whether all three files exist.</summary>
    public bool FilesExist => File.Exists(RamPath) && File.Exists(StatePath) && File.Exists(ManifestPath);

    /// <summary>Writes the manifest for a template just made (hashes the RAM file) and marks it verified.</summary>
    public void Seal(byte[] state)
    {
        var ramHash = HashFile(RamPath);
        var stateHash = SHA256.HashData(state);
        var temp = ManifestPath + ".tmp";
        File.WriteAllText(temp, $"ram {Convert.ToHexString(ramHash)} {new FileInfo(RamPath).Length.ToString(CultureInfo.InvariantCulture)}\nstate {Convert.ToHexString(stateHash)} {state.Length.ToString(CultureInfo.InvariantCulture)}\n");
        QemuSandbox.Chmod(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temp, ManifestPath, overwrite: true);
        _stateHash = stateHash;
        _ramStamp = RamStamp();
    }

    /// <summary>Checks both files against the manifest (hashing the whole RAM file). Returns null when they match, else why not.</summary>
    public string? Verify()
    {
        _stateHash = null;
        _ramStamp = null;
        var lines = File.ReadAllLines(ManifestPath).Select(l => l.Split(' ')).Where(p => p.Length == 3).ToDictionary(p => p[0], p => p[1]);
        if (!lines.TryGetValue("ram", out var ram) || !lines.TryGetValue("state", out var state))
        {
            return "the manifest is incomplete";
        }

        var stamp = RamStamp();
        if (!string.Equals(Convert.ToHexString(HashFile(RamPath)), ram, StringComparison.Ordinal))
        {
            return "the RAM file's SHA-256 differs from the manifest";
        }

        var stateHash = SHA256.HashData(File.ReadAllBytes(StatePath));
        if (!string.Equals(Convert.ToHexString(stateHash), state, StringComparison.Ordinal))
        {
            return "the device state's SHA-256 differs from the manifest";
        }

        _stateHash = stateHash;
        _ramStamp = stamp;
        return null;
    }

    /// <summary>The device state, read and hashed now; throws <see cref="InvalidDataException"/> when it or the RAM file changed since verification.</summary>
    public byte[] ReadVerifiedState()
    {
        var expected = _stateHash ?? throw new InvalidDataException("The template is not verified.");
        if (_ramStamp != RamStamp())
        {
            throw new InvalidDataException($"The template's RAM file {RamPath} changed since it was verified.");
        }

        var state = File.ReadAllBytes(StatePath);
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(state), expected))
        {
            throw new InvalidDataException($"The template's device state {StatePath} does not match its SHA-256.");
        }

        return state;
    }

    /// <summary>Forgets the verification and deletes the files.</summary>
    public void Discard()
    {
        Interlocked.Increment(ref _generation);
        _stateHash = null;
        _ramStamp = null;
        foreach (var f in new[] { ManifestPath, StatePath, RamPath })
        {
            try
            {
                File.Delete(f);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // best effort: a later Seal overwrites
            }
        }
    }

    private static byte[] HashFile(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20);
        return SHA256.HashData(f);
    }

    private (long, DateTime)? RamStamp()
    {
        var f = new FileInfo(RamPath);
        return f.Exists ? (f.Length, f.LastWriteTimeUtc) : null;
    }
}
