using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;

namespace OnDemandExecution.Oci.Runtime;

/// <summary>What <see cref="OciProviderOptions.BundlePath"/> points at.</summary>
internal enum BundleKind
{
    /// <summary>Not something the provider can run.</summary>
    Unknown,

    /// <summary>An OCI bundle: a directory holding <c>rootfs/</c> (its config.json, if any, is ignored: the provider writes its own).</summary>
    Bundle,

    /// <summary>A root file system directory itself (it holds <c>bin/</c>).</summary>
    RootFs,

    /// <summary>An OCI image layout (<c>oci-layout</c>, <c>index.json</c>, <c>blobs/</c>).</summary>
    ImageLayout,
}

/// <summary>
/// Turns the configured image into a root file system directory: a bundle's <c>rootfs/</c>, a root file system as is,
/// or an OCI image layout's first manifest unpacked once (layers in order, whiteouts applied) into a directory named
/// after the manifest digest. Nothing is pulled: blobs must be on disk.
/// </summary>
internal static class BundleSource
{
    public static BundleKind Classify(string path)
    {
        if (File.Exists(Path.Combine(path, "oci-layout")) && File.Exists(Path.Combine(path, "index.json")))
        {
            return BundleKind.ImageLayout;
        }

        if (Directory.Exists(Path.Combine(path, "rootfs")))
        {
            return BundleKind.Bundle;
        }

        return Directory.Exists(Path.Combine(path, "bin")) ? BundleKind.RootFs : BundleKind.Unknown;
    }

    /// <summary>The root file system to run; unpacks an image layout under <paramref name="cacheDirectory"/> when needed (returns the layer count, 0 when nothing was unpacked).</summary>
    public static (string RootFs, int LayersUnpacked) ResolveRootFs(string path, string cacheDirectory)
    {
        switch (Classify(path))
        {
            case BundleKind.Bundle:
                return (Path.GetFullPath(Path.Combine(path, "rootfs")), 0);
            case BundleKind.RootFs:
                return (Path.GetFullPath(path), 0);
            case BundleKind.ImageLayout:
                return UnpackImageLayout(path, cacheDirectory);
            default:
                throw new InvalidOperationException($"'{path}' is neither a bundle (rootfs/), a root file system (bin/) nor an OCI image layout.");
        }
    }

    private static (string RootFs, int LayersUnpacked) UnpackImageLayout(string layout, string cacheDirectory)
    {
        using var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(layout, "index.json")));
        var manifests = index.RootElement.GetProperty("manifests");
        if (manifests.GetArrayLength() == 0)
        {
            throw new InvalidOperationException($"The OCI image layout {layout} lists no manifest in index.json.");
        }

        var manifestDigest = manifests[0].GetProperty("digest").GetString()!;
        var target = Path.Combine(cacheDirectory, "images", manifestDigest.Replace(':', '-'));
        if (File.Exists(target + ".done"))
        {
            return (Path.Combine(target, "rootfs"), 0);
        }

        if (Directory.Exists(target))
        {
            Directory.Delete(target, recursive: true); // an unpack that was interrupted
        }

        using var manifest = JsonDocument.Parse(ReadBlob(layout, manifestDigest));
        var rootfs = Path.Combine(target, "rootfs");
        Directory.CreateDirectory(rootfs);
        var layers = 0;
        foreach (var layer in manifest.RootElement.GetProperty("layers").EnumerateArray())
        {
            var mediaType = layer.GetProperty("mediaType").GetString() ?? string.Empty;
            var digest = layer.GetProperty("digest").GetString()!;
            using var blob = new MemoryStream(ReadBlob(layout, digest));
            using Stream tar = mediaType.EndsWith("+gzip", StringComparison.Ordinal) || mediaType.EndsWith(".gzip", StringComparison.Ordinal)
                ? new GZipStream(blob, CompressionMode.Decompress)
                : mediaType.EndsWith(".tar", StringComparison.Ordinal) || mediaType.EndsWith("tar", StringComparison.Ordinal)
                    ? blob
                    : throw new NotSupportedException($"Layer {digest} of {layout} has media type {mediaType}; only tar and tar+gzip layers are supported.");
            ExtractLayer(tar, rootfs);
            layers++;
        }

        File.WriteAllText(target + ".done", manifestDigest);
        return (rootfs, layers);
    }

    private static byte[] ReadBlob(string layout, string digest)
    {
        var parts = digest.Split(':', 2);
        if (parts.Length != 2 || parts[0] != "sha256" || parts[1].Length != 64 || parts[1].Any(c => !char.IsAsciiHexDigitLower(c)))
        {
            throw new InvalidOperationException($"Unsupported or malformed digest '{digest}' in {layout} (sha256 expected).");
        }

        var bytes = File.ReadAllBytes(Path.Combine(layout, "blobs", "sha256", parts[1]));
        if (!Convert.ToHexString(SHA256.HashData(bytes)).Equals(parts[1], StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"Blob {digest} of {layout} does not match its digest.");
        }

        return bytes;
    }

    private static void ExtractLayer(Stream tar, string rootfs)
    {
        var root = Path.GetFullPath(rootfs) + Path.DirectorySeparatorChar;
        using var reader = new TarReader(tar);
        while (reader.GetNextEntry() is { } entry)
        {
            var name = entry.Name.TrimStart('.', '/');
            if (name.Length == 0)
            {
                continue;
            }

            var full = Path.GetFullPath(Path.Combine(root, name));
            if (!full.StartsWith(root, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"Layer entry '{entry.Name}' escapes the root file system.");
            }

            var fileName = Path.GetFileName(full);
            var dir = Path.GetDirectoryName(full)!;
            if (fileName == ".wh..wh..opq")
            {
                // opaque directory: hide what lower layers put there
                foreach (var e in Directory.EnumerateFileSystemEntries(dir))
                {
                    Remove(e);
                }

                continue;
            }

            if (fileName.StartsWith(".wh.", StringComparison.Ordinal))
            {
                Remove(Path.Combine(dir, fileName[4..]));
                continue;
            }

            Directory.CreateDirectory(dir);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(full);
                    break;
                case TarEntryType.SymbolicLink:
                    Remove(full);
                    File.CreateSymbolicLink(full, entry.LinkName);
                    break;
                case TarEntryType.HardLink:
                    Remove(full);
                    var linkTarget = Path.GetFullPath(Path.Combine(root, entry.LinkName.TrimStart('.', '/')));
                    if (!linkTarget.StartsWith(root, StringComparison.Ordinal))
                    {
                        throw new InvalidOperationException($"Layer hard link '{entry.Name}' points outside the root file system.");
                    }

                    File.Copy(linkTarget, full);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    Remove(full);
                    entry.ExtractToFile(full, overwrite: true);
                    break;
                default:
                    break; // device nodes, fifos: a container's /dev comes from the runtime
            }
        }
    }

    private static void Remove(string path)
    {
        if (Directory.Exists(path) && !new FileInfo(path).Attributes.HasFlag(FileAttributes.ReparsePoint))
        {
            Directory.Delete(path, recursive: true);
        }
        else if (File.Exists(path) || new FileInfo(path).LinkTarget is not null)
        {
            File.Delete(path);
        }
    }
}
