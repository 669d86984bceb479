using System.Security.Cryptography;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>Bodies sealed in authenticated chunks: every size and range reads back exactly, and
/// any change to the stored bytes (or a cut) is caught.</summary>
public sealed class SegmentCipherTests
{
    static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    static async Task<byte[]> Seal(byte[] plain, string blobId)
    {
        var stored = new MemoryStream();
        var sealing = SegmentCipher.Encrypt(stored, Key, blobId);
        // Written in uneven pieces, as a request body arrives.
        for (var i = 0; i < plain.Length; i += 7919) await sealing.WriteAsync(plain.AsMemory(i, Math.Min(7919, plain.Length - i)));
        await sealing.FinishAsync();
        return stored.ToArray();
    }

    static async Task<byte[]> Open(byte[] stored, string blobId, long plainSize, long offset, long count)
    {
        await using var reader = SegmentCipher.Decrypt(new MemoryStream(stored), Key, blobId, plainSize, offset);
        var result = new MemoryStream();
        var buffer = new byte[5000];
        while (result.Length < count)
        {
            var n = await reader.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count - result.Length)));
            if (n == 0) break;
            result.Write(buffer, 0, n);
        }
        return result.ToArray();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(SegmentCipher.ChunkSize - 1)]
    [InlineData(SegmentCipher.ChunkSize)]
    [InlineData(SegmentCipher.ChunkSize + 1)]
    [InlineData(3 * SegmentCipher.ChunkSize + 12345)]
    public async Task EverySizeRoundTrips(int size)
    {
        var plain = RandomNumberGenerator.GetBytes(size);
        var stored = await Seal(plain, "blob-a");
        Assert.Equal(SegmentCipher.StoredSize(size), stored.Length);
        Assert.Equal(plain, await Open(stored, "blob-a", size, 0, size));
        if (size >= 16) Assert.True(stored.AsSpan().IndexOf(plain.AsSpan(0, 16)) < 0, "plaintext visible at rest");
    }

    [Fact]
    public async Task RangesAcrossChunkBoundaries()
    {
        var plain = RandomNumberGenerator.GetBytes(3 * SegmentCipher.ChunkSize + 100);
        var stored = await Seal(plain, "blob-b");
        foreach (var (offset, count) in new[] { (0L, 10L), (SegmentCipher.ChunkSize - 5L, 10L), (SegmentCipher.ChunkSize, 1L), (2L * SegmentCipher.ChunkSize + 7, SegmentCipher.ChunkSize + 50L), (plain.Length - 1L, 1L) })
            Assert.Equal(plain.AsSpan((int)offset, (int)count).ToArray(), await Open(stored, "blob-b", plain.Length, offset, count));
        // Reading on past the end stops at the end.
        Assert.Equal(plain.AsSpan(plain.Length - 10).ToArray(), await Open(stored, "blob-b", plain.Length, plain.Length - 10, 1000));
    }

    [Fact]
    public async Task TamperingTruncationAndTheWrongBlobAreCaught()
    {
        var plain = RandomNumberGenerator.GetBytes(2 * SegmentCipher.ChunkSize + 10);
        var stored = await Seal(plain, "blob-c");
        var flipped = (byte[])stored.Clone();
        flipped[SegmentCipher.ChunkSize + 100] ^= 1;
        await Assert.ThrowsAnyAsync<CryptographicException>(() => Open(flipped, "blob-c", plain.Length, 0, plain.Length));
        // Dropping the last chunk, and claiming the body ended at a chunk boundary.
        var cut = stored.AsSpan(0, 2 * (SegmentCipher.ChunkSize + 16)).ToArray();
        await Assert.ThrowsAnyAsync<CryptographicException>(() => Open(cut, "blob-c", plain.Length, 0, plain.Length));
        await Assert.ThrowsAnyAsync<CryptographicException>(() => Open(cut, "blob-c", 2 * SegmentCipher.ChunkSize, 0, 2 * SegmentCipher.ChunkSize));
        // A blob moved under another id does not open: each blob has a key of its own.
        await Assert.ThrowsAnyAsync<CryptographicException>(() => Open(stored, "blob-d", plain.Length, 0, plain.Length));
    }
}
