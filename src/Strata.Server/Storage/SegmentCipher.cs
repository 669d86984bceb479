using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Strata.Server.Storage;

/// <summary>
/// Encryption of stored bodies in authenticated chunks: the plaintext is cut into 64 KiB chunks,
/// each sealed with AES-256-GCM under a key derived from the object's data key and the blob's
/// id (so no two blobs share a key, and a nonce is simply the chunk's index). The last chunk
/// is marked in its associated data, so a truncated blob never decrypts as a shorter body.
/// A byte range decrypts only the chunks it touches.
/// </summary>
public static class SegmentCipher
{
    public const int ChunkSize = 64 * 1024;
    const int TagSize = 16;
    const int NonceSize = 12;

    /// <summary>The stored size of a body of <paramref name="plainSize"/> bytes.</summary>
    public static long StoredSize(long plainSize) => plainSize + Chunks(plainSize) * TagSize;

    static long Chunks(long plainSize) => Math.Max(1, (plainSize + ChunkSize - 1) / ChunkSize);

    static byte[] BlobKey(ReadOnlySpan<byte> dataKey, string blobId)
        => HMACSHA256.HashData(dataKey, Encoding.UTF8.GetBytes("strata-segment:" + blobId));

    static void Nonce(Span<byte> nonce, long chunk)
    {
        nonce.Clear();
        BinaryPrimitives.WriteInt64BigEndian(nonce[4..], chunk);
    }

    static void Aad(Span<byte> aad, long chunk, bool last)
    {
        BinaryPrimitives.WriteInt64BigEndian(aad, chunk);
        aad[8] = last ? (byte)1 : (byte)0;
    }

    /// <summary>A write-only stream that encrypts what is written to it into <paramref name="blob"/>;
    /// <see cref="EncryptingStream.FinishAsync"/> seals the last chunk.</summary>
    public static EncryptingStream Encrypt(Stream blob, ReadOnlySpan<byte> dataKey, string blobId) => new(blob, BlobKey(dataKey, blobId));

    public sealed class EncryptingStream(Stream blob, byte[] key) : Stream
    {
        readonly AesGcm _gcm = new(key, TagSize);
        readonly byte[] _plain = new byte[ChunkSize];
        readonly byte[] _sealed = new byte[ChunkSize + TagSize];
        int _filled;
        long _chunk;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (buffer.Length > 0)
            {
                // A full chunk is sealed only once more bytes arrive: until then it may be the last.
                if (_filled == ChunkSize) await SealAsync(last: false, cancellationToken);
                var n = Math.Min(buffer.Length, ChunkSize - _filled);
                buffer[..n].CopyTo(_plain.AsMemory(_filled));
                _filled += n;
                buffer = buffer[n..];
            }
        }

        public Task FinishAsync(CancellationToken cancellationToken = default) => SealAsync(last: true, cancellationToken);

        async Task SealAsync(bool last, CancellationToken cancellationToken)
        {
            Seal(last);
            await blob.WriteAsync(_sealed.AsMemory(0, _filled + TagSize), cancellationToken);
            _filled = 0;
            _chunk++;
        }

        void Seal(bool last)
        {
            Span<byte> nonce = stackalloc byte[NonceSize];
            Span<byte> aad = stackalloc byte[9];
            Nonce(nonce, _chunk);
            Aad(aad, _chunk, last);
            _gcm.Encrypt(nonce, _plain.AsSpan(0, _filled), _sealed.AsSpan(0, _filled), _sealed.AsSpan(_filled, TagSize), aad);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _gcm.Dispose();
                CryptographicOperations.ZeroMemory(_plain);
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>The plaintext of a body of <paramref name="plainSize"/> bytes stored in
    /// <paramref name="blob"/> (seekable), from <paramref name="offset"/> on: only the chunks
    /// from there are read. Throws <see cref="CryptographicException"/> if the stored body was
    /// altered or cut short.</summary>
    public static Stream Decrypt(Stream blob, ReadOnlySpan<byte> dataKey, string blobId, long plainSize, long offset = 0, bool leaveOpen = true)
        => new DecryptingStream(blob, BlobKey(dataKey, blobId), plainSize, offset, leaveOpen);

    sealed class DecryptingStream : ForwardReadStream
    {
        readonly Stream _blob;
        readonly AesGcm _gcm;
        readonly long _plainSize;
        readonly long _chunks;
        readonly byte[] _sealed = ArrayPool<byte>.Shared.Rent(ChunkSize + TagSize);
        readonly byte[] _plain = ArrayPool<byte>.Shared.Rent(ChunkSize);
        long _chunk;
        int _start, _end;

        readonly bool _leaveOpen;

        public DecryptingStream(Stream blob, byte[] key, long plainSize, long offset, bool leaveOpen)
        {
            _blob = blob;
            _leaveOpen = leaveOpen;
            _gcm = new AesGcm(key, TagSize);
            _plainSize = plainSize;
            _chunks = Chunks(plainSize);
            _chunk = offset / ChunkSize;
            blob.Position = _chunk * (ChunkSize + TagSize);
            // The first chunk is opened in full; the bytes before the offset are skipped.
            _start = _end = -(int)(offset % ChunkSize);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (_start >= _end)
            {
                if (_chunk >= _chunks || _chunk * ChunkSize >= _plainSize && _plainSize > 0) return 0;
                var skip = -_start;
                var plainLength = (int)Math.Min(ChunkSize, _plainSize - _chunk * ChunkSize);
                try
                {
                    await _blob.ReadExactlyAsync(_sealed.AsMemory(0, plainLength + TagSize), cancellationToken);
                }
                catch (EndOfStreamException)
                {
                    throw new CryptographicException("A stored encrypted body is shorter than its record.");
                }
                Open(_gcm, _sealed.AsSpan(0, plainLength + TagSize), _plain.AsSpan(0, plainLength), _chunk, _chunk == _chunks - 1);
                _chunk++;
                _start = Math.Max(0, skip);
                _end = plainLength;
                if (_plainSize == 0) return 0;
            }
            var n = Math.Min(buffer.Length, _end - _start);
            _plain.AsMemory(_start, n).CopyTo(buffer);
            _start += n;
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _gcm.Dispose();
                CryptographicOperations.ZeroMemory(_plain);
                ArrayPool<byte>.Shared.Return(_sealed);
                ArrayPool<byte>.Shared.Return(_plain);
                if (!_leaveOpen) _blob.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    static void Open(AesGcm gcm, ReadOnlySpan<byte> sealedChunk, Span<byte> plain, long chunk, bool last)
    {
        Span<byte> nonce = stackalloc byte[NonceSize];
        Span<byte> aad = stackalloc byte[9];
        Nonce(nonce, chunk);
        Aad(aad, chunk, last);
        gcm.Decrypt(nonce, sealedChunk[..^TagSize], sealedChunk[^TagSize..], plain, aad);
    }
}
