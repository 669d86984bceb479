using System.Buffers.Binary;

namespace Strata.Server.Jobs;

/// <summary>
/// MXNet's RecordIO framing (dmlc-core's <c>RecordIOWriter</c>), which SageMaker's
/// <c>RecordWrapperType RecordIO</c> wraps each S3 object (or each attribute of an augmented
/// manifest's line) in. A record is: the magic word <c>0xced7230a</c>, a length word whose top 3
/// bits are a continuation flag and whose low 29 bits are the length of the data that follows,
/// the data, then zero bytes up to a multiple of 4. A reader finds records by the magic word, so
/// a record whose data holds the magic word at a 4-byte aligned offset is written in parts, cut
/// where the magic word is (the word itself left out, the reader puts it back): the first part
/// has flag 1, the middle ones 2, the last 3; a record in one part has flag 0. All words are
/// little-endian, as MXNet writes them on the machines SageMaker runs.
/// </summary>
public static class RecordIO
{
    public const uint Magic = 0xced7230a;

    /// <summary>The longest record: its length has 29 bits.</summary>
    public const long MaxLength = (1L << 29) - 1;

    static uint LengthWord(uint flag, long length) => (flag << 29) | (uint)length;

    static long Padded(long length) => (length + 3) & ~3L;

    static bool IsMagic(ReadOnlySpan<byte> word) => BinaryPrimitives.ReadUInt32LittleEndian(word) == Magic;

    /// <summary>Writes one record whose data is in memory.</summary>
    public static void Write(Stream output, ReadOnlySpan<byte> data)
    {
        if (data.Length > MaxLength) throw new ArgumentException($"a RecordIO record holds at most {MaxLength} bytes, not {data.Length}", nameof(data));
        var cuts = new List<long>();
        for (var i = 0; i + 4 <= data.Length; i += 4)
            if (IsMagic(data.Slice(i, 4))) cuts.Add(i);
        var start = 0;
        var part = 0;
        foreach (var cut in cuts)
        {
            WriteHeader(output, part++ == 0 ? 1u : 2u, cut - start);
            output.Write(data[start..(int)cut]);
            start = (int)cut + 4;
        }
        WriteHeader(output, cuts.Count == 0 ? 0u : 3u, data.Length - start);
        output.Write(data[start..]);
        WritePadding(output, data.Length);
    }

    /// <summary>Writes one record whose data is a stream too long to hold in memory (an S3
    /// object): <paramref name="open"/> is read twice, first to find where the magic word is (the
    /// length of each part precedes it), then to copy. Returns the data's length.</summary>
    /// <exception cref="JobException">The data is longer than a record holds, or was not the same
    /// the second time.</exception>
    public static long Write(Stream output, Func<Stream> open, string what, CancellationToken ct)
    {
        var buffer = new byte[256 * 1024];
        var cuts = new List<long>();
        long length = 0;
        using (var first = open())
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                // Whole buffers but the last, so that every aligned word lies inside one.
                var n = first.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
                for (var i = 0; i + 4 <= n; i += 4)
                    if (IsMagic(buffer.AsSpan(i, 4))) cuts.Add(length + i);
                length += n;
                if (length > MaxLength) throw new JobException($"ClientError: {what} is longer than a RecordIO record holds ({MaxLength} bytes)");
                if (n < buffer.Length) break;
            }
        }
        using var second = open();
        long start = 0;
        var part = 0;
        foreach (var cut in cuts)
        {
            WriteHeader(output, part++ == 0 ? 1u : 2u, cut - start);
            Copy(second, output, cut - start, buffer, what, ct);
            second.ReadExactly(buffer, 0, 4);
            if (!IsMagic(buffer.AsSpan(0, 4))) throw Changed(what);
            start = cut + 4;
        }
        WriteHeader(output, cuts.Count == 0 ? 0u : 3u, length - start);
        Copy(second, output, length - start, buffer, what, ct);
        if (second.Read(buffer, 0, 1) != 0) throw Changed(what);
        WritePadding(output, length);
        return length;
    }

    static JobException Changed(string what) => new($"ClientError: {what} changed while it was being read");

    static void Copy(Stream from, Stream to, long count, byte[] buffer, string what, CancellationToken ct)
    {
        while (count > 0)
        {
            ct.ThrowIfCancellationRequested();
            var n = from.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (n == 0) throw Changed(what);
            to.Write(buffer, 0, n);
            count -= n;
        }
    }

    static void WriteHeader(Stream output, uint flag, long length)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], LengthWord(flag, length));
        output.Write(header);
    }

    static void WritePadding(Stream output, long length)
    {
        Span<byte> zeros = stackalloc byte[3];
        zeros.Clear();
        output.Write(zeros[..(int)(Padded(length) - length)]);
    }
}
