using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>An archive that is not a gzip-compressed tar is named by what it is (from its first
/// bytes) and what was expected, never by what the decompressor tripped over.</summary>
public sealed class TarGzArchiveTests
{
    const string Subject = "the model artifact s3://b/m/model.tar.gz";

    static async Task<List<string>> Read(byte[] file)
    {
        var names = new List<string>();
        await TarGzArchive.ReadAsync(new MemoryStream(file), Subject, file.Length, "model.tar.gz", async (tar, ct) =>
        {
            await using var reader = new TarReader(tar);
            while (await reader.GetNextEntryAsync(false, ct) is { } entry) names.Add(entry.Name);
        }, CancellationToken.None);
        return names;
    }

    static async Task<string> Refused(byte[] file)
        => (await Assert.ThrowsAsync<InvalidArchiveException>(() => Read(file))).Message;

    static byte[] Tar(params string[] names)
    {
        var buffer = new MemoryStream();
        using (var tar = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var name in names)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream("x"u8.ToArray()) });
        return buffer.ToArray();
    }

    static byte[] Gzip(byte[] content)
    {
        var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(content);
        return buffer.ToArray();
    }

    static byte[] Zip()
    {
        var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var entry = zip.CreateEntry("model.onnx").Open();
            entry.Write("x"u8);
        }
        return buffer.ToArray();
    }

    [Fact]
    public async Task AGzipCompressedTarIsRead() => Assert.Equal(["model.onnx", "code/inference.py"], await Read(Gzip(Tar("model.onnx", "code/inference.py"))));

    [Fact]
    public async Task WhatIsNotATarGzIsNamed()
    {
        var zip = Zip();
        Assert.Equal($"{Subject} ({zip.Length} bytes) is a zip archive, not a gzip-compressed tar archive (model.tar.gz)", await Refused(zip));
        Assert.Equal($"{Subject} (12 bytes) is plain text, not a gzip-compressed tar archive (model.tar.gz)", await Refused("hello world\n"u8.ToArray()));
        Assert.Equal($"{Subject} (0 bytes) is empty, not a gzip-compressed tar archive (model.tar.gz)", await Refused([]));
        var tar = Tar("model.onnx");
        Assert.Equal($"{Subject} ({tar.Length} bytes) is an uncompressed tar archive, not a gzip-compressed tar archive (model.tar.gz)", await Refused(tar));
        Assert.Contains("is JSON text, not a gzip-compressed", await Refused("  {\"learner\": 1}"u8.ToArray()));
        Assert.Contains("is bzip2-compressed, not", await Refused("BZh91AY&SY"u8.ToArray()));
        Assert.Contains("is binary data beginning 0x00 0xff 0x10 0x01, not", await Refused([0x00, 0xff, 0x10, 0x01, 0x02]));
        // The bytes a bare model.onnx starts with: ir_version 8, then producer_name.
        Assert.Contains("is a bare ONNX model, not packed in an archive, not", await Refused([0x08, 0x08, 0x12, 0x07, (byte)'p', (byte)'y']));
    }

    [Fact]
    public async Task AGzipOfSomethingElseOrADamagedOneIsNamed()
    {
        var text = Gzip(Encoding.UTF8.GetBytes("just some text, gzipped\n"));
        Assert.Equal($"{Subject} ({text.Length} bytes) is gzip-compressed, but what it holds is plain text, not a tar archive; expected a gzip-compressed tar archive (model.tar.gz)",
            await Refused(text));
        var whole = Gzip(Tar("model.onnx", "other.bin"));
        var truncated = whole[..(whole.Length / 2)];
        Assert.Equal($"{Subject} ({truncated.Length} bytes) is a damaged gzip-compressed tar archive: it ends early or its data is corrupt", await Refused(truncated));
    }
}
