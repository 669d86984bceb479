using System.Buffers.Binary;
using System.Text;
using Strata.Server.Jobs;

namespace Strata.Server.Tests.Unit;

/// <summary>RecordIO as MXNet (dmlc-core) writes it, byte for byte, and read back by a reader
/// written here after dmlc-core's <c>RecordIOReader::ReadRecord</c>.</summary>
public sealed class RecordIOTests
{
    static byte[] Frame(byte[] data)
    {
        using var output = new MemoryStream();
        RecordIO.Write(output, data);
        return output.ToArray();
    }

    static byte[] FrameStreamed(byte[] data, Func<byte[]>? second = null)
    {
        using var output = new MemoryStream();
        var opened = 0;
        var length = RecordIO.Write(output, () => new MemoryStream(opened++ == 0 ? data : second?.Invoke() ?? data), "s3://b/k", CancellationToken.None);
        Assert.Equal(data.Length, length);
        Assert.Equal(2, opened);
        return output.ToArray();
    }

    static byte[] Words(params uint[] words)
    {
        var bytes = new byte[words.Length * 4];
        for (var i = 0; i < words.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), words[i]);
        return bytes;
    }

    static readonly byte[] MagicBytes = Words(RecordIO.Magic);

    /// <summary>dmlc-core's reader: a part's length is the low 29 bits, its flag the top 3; parts
    /// of flag 1 and 2 are followed by another, with the magic word between them.</summary>
    static List<byte[]> Read(byte[] stream)
    {
        var records = new List<byte[]>();
        var at = 0;
        while (at < stream.Length)
        {
            var record = new List<byte>();
            while (true)
            {
                Assert.Equal(RecordIO.Magic, BinaryPrimitives.ReadUInt32LittleEndian(stream.AsSpan(at)));
                var word = BinaryPrimitives.ReadUInt32LittleEndian(stream.AsSpan(at + 4));
                var (flag, length) = (word >> 29, (int)(word & ((1u << 29) - 1)));
                record.AddRange(stream.AsSpan(at + 8, length).ToArray());
                at += 8 + ((length + 3) & ~3);
                if (flag is 0 or 3) break;
                Assert.True(flag is 1 or 2, $"flag {flag}");
                record.AddRange(MagicBytes);
            }
            records.Add([.. record]);
        }
        return records;
    }

    [Fact]
    public void ARecordIsTheMagicItsLengthItsDataAndPaddingToFourBytes()
    {
        Assert.Equal([0x0a, 0x23, 0xd7, 0xce, 5, 0, 0, 0, (byte)'a', (byte)'b', (byte)'c', (byte)'d', (byte)'e', 0, 0, 0], Frame("abcde"u8.ToArray()));
        Assert.Equal([0x0a, 0x23, 0xd7, 0xce, 4, 0, 0, 0, (byte)'a', (byte)'b', (byte)'c', (byte)'d'], Frame("abcd"u8.ToArray()));
        Assert.Equal([0x0a, 0x23, 0xd7, 0xce, 0, 0, 0, 0], Frame([]));
    }

    [Fact]
    public void DataHoldingTheMagicWordAtAnAlignedOffsetIsWrittenInPartsCutThere()
    {
        byte[] data = [.. "abcd"u8, .. MagicBytes, .. "efgh"u8, .. MagicBytes, .. "ij"u8];
        var expected = new List<byte>();
        expected.AddRange(Words(RecordIO.Magic, (1u << 29) | 4));
        expected.AddRange("abcd"u8.ToArray());
        expected.AddRange(Words(RecordIO.Magic, (2u << 29) | 4));
        expected.AddRange("efgh"u8.ToArray());
        expected.AddRange(Words(RecordIO.Magic, (3u << 29) | 2));
        expected.AddRange("ij"u8.ToArray());
        // Padded as the whole record's length (18) is: to 20.
        expected.AddRange(new byte[2]);
        Assert.Equal([.. expected], Frame(data));
        Assert.Equal([.. expected], FrameStreamed(data));
        Assert.Equal([data], Read(Frame(data)));
    }

    [Fact]
    public void TheMagicWordAtTheStartOrEndMakesEmptyPartsAndUnalignedItIsData()
    {
        byte[] edges = [.. MagicBytes, .. "wxyz"u8, .. MagicBytes];
        Assert.Equal([.. Words(RecordIO.Magic, 1u << 29, RecordIO.Magic, (2u << 29) | 4), .. "wxyz"u8, .. Words(RecordIO.Magic, 3u << 29)], Frame(edges));
        Assert.Equal([edges], Read(Frame(edges)));
        byte[] unaligned = [(byte)'a', .. MagicBytes, (byte)'b'];
        Assert.Equal([.. Words(RecordIO.Magic, 6), .. unaligned, 0, 0], Frame(unaligned));
    }

    [Fact]
    public void StreamedRecordsAreTheSameAsInMemoryOnesAndReadBack()
    {
        var random = new Random(11);
        var records = new List<byte[]>();
        foreach (var length in new[] { 0, 1, 3, 4, 7, 1000, 256 * 1024 - 2, 256 * 1024, 256 * 1024 + 5, 600_001 })
        {
            var data = new byte[length];
            random.NextBytes(data);
            // The magic word at aligned offsets, across the streamed reader's buffer boundaries too.
            foreach (var at in new[] { 0, 8, 256 * 1024 - 4, 256 * 1024, 512 * 1024 + 12, length - 4 })
                if (at >= 0 && at + 4 <= length && at % 4 == 0) MagicBytes.CopyTo(data, at);
            Assert.Equal(Frame(data), FrameStreamed(data));
            records.Add(data);
        }
        using var stream = new MemoryStream();
        foreach (var record in records) RecordIO.Write(stream, record);
        Assert.Equal(0, stream.Length % 4);
        var read = Read(stream.ToArray());
        Assert.Equal(records.Count, read.Count);
        for (var i = 0; i < records.Count; i++) Assert.Equal(records[i], read[i]);
    }

    [Fact]
    public void AnObjectThatChangesBetweenTheTwoReadsFailsTheChannel()
    {
        var first = Encoding.ASCII.GetBytes("one version of it");
        var e = Assert.Throws<JobException>(() => FrameStreamed(first, () => Encoding.ASCII.GetBytes("another, longer version of it")));
        Assert.Equal("ClientError: s3://b/k changed while it was being read", e.Message);
        Assert.Throws<JobException>(() => FrameStreamed([.. "abcd"u8, .. MagicBytes], () => [.. "abcd"u8, .. "efgh"u8]));
    }
}
