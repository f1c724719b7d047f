using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using OnDemandExecution.Oci.Runtime;

namespace OnDemandExecution.Oci.Tests.Runtime;

public sealed class BundleSourceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("odx-bundle-test").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void BundleAndRootFs_AreUsedInPlace()
    {
        var bundle = Path.Combine(_dir, "bundle");
        Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "bin"));
        Assert.Equal(BundleKind.Bundle, BundleSource.Classify(bundle));
        Assert.Equal((Path.Combine(bundle, "rootfs"), 0), BundleSource.ResolveRootFs(bundle, _dir));
        Assert.Equal(BundleKind.RootFs, BundleSource.Classify(Path.Combine(bundle, "rootfs")));
        Assert.Equal(BundleKind.Unknown, BundleSource.Classify(_dir));
    }

    [Fact]
    public void ImageLayout_IsUnpackedOnce_LayersInOrder_WithWhiteouts()
    {
        var layout = Path.Combine(_dir, "layout");
        var lower = Layer(("bin/tool", "v1"), ("etc/old", "gone soon"), ("etc/keep", "kept"));
        var upper = Layer(("bin/tool", "v2"), ("etc/.wh.old", string.Empty));
        WriteLayout(layout, lower, upper);

        Assert.Equal(BundleKind.ImageLayout, BundleSource.Classify(layout));
        var cache = Path.Combine(_dir, "cache");
        var (rootfs, layers) = BundleSource.ResolveRootFs(layout, cache);
        Assert.Equal(2, layers);
        Assert.Equal("v2", File.ReadAllText(Path.Combine(rootfs, "bin", "tool")));
        Assert.Equal("kept", File.ReadAllText(Path.Combine(rootfs, "etc", "keep")));
        Assert.False(File.Exists(Path.Combine(rootfs, "etc", "old")));

        // the second provider start reuses the unpacked tree
        Assert.Equal((rootfs, 0), BundleSource.ResolveRootFs(layout, cache));
    }

    [Fact]
    public void ImageLayout_WithATamperedBlob_IsRefused()
    {
        var layout = Path.Combine(_dir, "layout");
        var digest = WriteLayout(layout, Layer(("bin/tool", "v1")))[0];
        File.WriteAllText(Path.Combine(layout, "blobs", "sha256", digest), "tampered");
        var ex = Assert.Throws<InvalidOperationException>(() => BundleSource.ResolveRootFs(layout, Path.Combine(_dir, "cache")));
        Assert.Contains("does not match its digest", ex.Message, StringComparison.Ordinal);
    }

    private static byte[] Layer(params (string Path, string Content)[] files)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gz))
        {
            foreach (var (path, content) in files)
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, path) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)) });
            }
        }

        return ms.ToArray();
    }

    /// <summary>Writes an OCI image layout with the given gzip layers; returns the layers' hex digests.</summary>
    private static List<string> WriteLayout(string layout, params byte[][] layers)
    {
        var blobs = Path.Combine(layout, "blobs", "sha256");
        Directory.CreateDirectory(blobs);
        string Put(byte[] bytes)
        {
            var hex = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
            File.WriteAllBytes(Path.Combine(blobs, hex), bytes);
            return hex;
        }

        var digests = layers.Select(Put).ToList();
        var config = Put("{}"u8.ToArray());
        var layerJson = string.Join(",", digests.Select((d, i) => $$"""{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:{{d}}","size":{{layers[i].Length}}}"""));
        var manifest = Put(Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{{config}}","size":2},"layers":[{{layerJson}}]}"""));
        File.WriteAllText(Path.Combine(layout, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        File.WriteAllText(Path.Combine(layout, "index.json"), $$"""{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{{manifest}}","size":1}]}""");
        return digests;
    }
}
