using System.IO.Compression;
using System.Text;

namespace Strata.Server.Storage;

/// <summary>A file that should be a gzip-compressed tar archive and is not (or is a damaged
/// one); the message says what the file is and what was expected.</summary>
public sealed class InvalidArchiveException(string message) : Exception(message);

/// <summary>
/// Reads gzip-compressed tar archives (model.tar.gz, sourcedir.tar.gz) for whoever unpacks one.
/// A file that is something else is named by what its first bytes show (a zip archive, plain
/// text, an uncompressed tar, …) beside what was expected, rather than by what the decompressor
/// or the tar reader tripped over ("unsupported compression method").
/// </summary>
public static class TarGzArchive
{
    /// <summary>A tar header block: enough to tell a tar from anything else.</summary>
    const int Head = 512;

    /// <summary>Checks <paramref name="body"/> is a gzip-compressed tar and hands the tar stream to
    /// <paramref name="readTar"/>. <paramref name="subject"/> names the file in messages ("the model
    /// artifact s3://…"); <paramref name="expectedName"/> is what such a file is usually called.</summary>
    /// <exception cref="InvalidArchiveException">The file is not a gzip-compressed tar, or is damaged.</exception>
    public static async Task ReadAsync(Stream body, string subject, long size, string expectedName,
        Func<Stream, CancellationToken, Task> readTar, CancellationToken ct)
    {
        var about = $"{subject} ({size} bytes)";
        var head = new byte[Head];
        var n = await body.ReadAtLeastAsync(head, Head, throwOnEndOfStream: false, ct);
        if (!IsGzip(head.AsSpan(0, n)))
            throw new InvalidArchiveException($"{about} is {Describe(head.AsSpan(0, n))}, not a gzip-compressed tar archive ({expectedName})");
        try
        {
            await using var gzip = new GZipStream(new PrefixedStream(head.AsMemory(0, n), body), CompressionMode.Decompress);
            var tarHead = new byte[Head];
            var m = await gzip.ReadAtLeastAsync(tarHead, Head, throwOnEndOfStream: false, ct);
            if (!IsTar(tarHead.AsSpan(0, m)))
                throw new InvalidArchiveException($"{about} is gzip-compressed, but what it holds is {Describe(tarHead.AsSpan(0, m))}, not a tar archive; expected a gzip-compressed tar archive ({expectedName})");
            await readTar(new PrefixedStream(tarHead.AsMemory(0, m), gzip), ct);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new InvalidArchiveException($"{about} is a damaged gzip-compressed tar archive: it ends early or its data is corrupt");
        }
    }

    static bool IsGzip(ReadOnlySpan<byte> head) => head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b;

    /// <summary>A tar header block: "ustar" at 257 (POSIX and GNU), or the header checksum a
    /// pre-POSIX (v7) tar has; a block of zeros is the end of an empty archive.</summary>
    static bool IsTar(ReadOnlySpan<byte> head)
    {
        if (head.Length < Head) return false;
        if (head.Slice(257, 5).SequenceEqual("ustar"u8)) return true;
        if (!head.ContainsAnyExcept((byte)0)) return true;
        var stored = Encoding.ASCII.GetString(head.Slice(148, 8)).Trim('\0', ' ');
        if (stored.Length == 0 || stored.Any(c => c is < '0' or > '7')) return false;
        long sum = 0;
        for (var i = 0; i < Head; i++) sum += i is >= 148 and < 156 ? ' ' : head[i];
        return sum == Convert.ToInt64(stored, 8);
    }

    /// <summary>What a file is, from its first bytes: "a zip archive", "plain text", …</summary>
    public static string Describe(ReadOnlySpan<byte> head)
    {
        if (head.Length == 0) return "empty";
        if (IsGzip(head)) return "gzip-compressed";
        if (head.StartsWith("PK\u0003\u0004"u8) || head.StartsWith("PK\u0005\u0006"u8) || head.StartsWith("PK\u0007\u0008"u8)) return "a zip archive";
        if (IsTar(head)) return "an uncompressed tar archive";
        if (head.StartsWith("BZh"u8)) return "bzip2-compressed";
        if (head.StartsWith((ReadOnlySpan<byte>)[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return "xz-compressed";
        if (head.StartsWith((ReadOnlySpan<byte>)[0x28, 0xb5, 0x2f, 0xfd])) return "zstd-compressed";
        if (head.StartsWith((ReadOnlySpan<byte>)[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return "a 7-Zip archive";
        if (head.Length >= 6 && head[0] == 0x93 && head[1..6].SequenceEqual("NUMPY"u8)) return "a NumPy .npy array";
        if (head.Length >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5) return "a Python pickle";
        // ONNX's ModelProto begins with ir_version (field 1, a varint), then another of its fields.
        if (head.Length >= 3 && head[0] == 0x08 && head[1] < 0x80 && head[2] is 0x12 or 0x1a or 0x22 or 0x28 or 0x32 or 0x3a or 0x42)
            return "a bare ONNX model, not packed in an archive";
        if (IsText(head))
        {
            var first = Encoding.UTF8.GetString(head).TrimStart();
            return first.StartsWith('{') || first.StartsWith('[') ? "JSON text" : "plain text";
        }
        return "binary data beginning " + string.Join(' ', head[..Math.Min(4, head.Length)].ToArray().Select(b => $"0x{b:x2}"));
    }

    /// <summary>UTF-8 without control characters but tabs and line ends (a character cut at the
    /// end of the head is still text).</summary>
    static bool IsText(ReadOnlySpan<byte> head)
    {
        for (var cut = 0; cut < 4 && cut < head.Length; cut++)
        {
            var span = head[..^cut];
            if (!Utf8Valid(span)) continue;
            foreach (var c in Encoding.UTF8.GetString(span))
                if (c < ' ' && c is not ('\t' or '\r' or '\n')) return false;
            return true;
        }
        return false;
    }

    static bool Utf8Valid(ReadOnlySpan<byte> bytes) => System.Text.Unicode.Utf8.IsValid(bytes);

    /// <summary>Bytes already read, then the rest of the stream.</summary>
    sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream rest) : ForwardReadStream
    {
        ReadOnlyMemory<byte> _prefix = prefix;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_prefix.IsEmpty) return await rest.ReadAsync(buffer, cancellationToken);
            var n = Math.Min(buffer.Length, _prefix.Length);
            _prefix[..n].CopyTo(buffer);
            _prefix = _prefix[n..];
            return n;
        }
    }
}
