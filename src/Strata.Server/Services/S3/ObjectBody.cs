using System.Buffers;
using System.Security.Cryptography;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Services.S3;

/// <summary>A body received and committed to a blob, with what was computed over it.</summary>
public sealed record ReceivedBody(string BlobId, long Size, string Md5Hex, ChecksumAlgorithm? ChecksumAlgorithm, string? Checksum);

/// <summary>
/// Receives an object body: streams it to a temporary blob in constant memory while computing
/// the MD5 (the ETag) and the requested flexible checksum, then verifies <c>Content-MD5</c> and
/// <c>x-amz-checksum-*</c> (header or trailer) before the blob is committed. A body that fails
/// any check leaves nothing behind.
/// </summary>
internal static class ObjectBody
{
    const int BufferSize = 1024 * 1024;

    /// <summary>The checksum algorithm a request asks for: <c>x-amz-sdk-checksum-algorithm</c>,
    /// the one <c>x-amz-checksum-*</c> header present, or the one named in <c>x-amz-trailer</c>.</summary>
    public static ChecksumAlgorithm? RequestedAlgorithm(RequestContext ctx)
    {
        ChecksumAlgorithm? found = null;
        foreach (var algorithm in Checksums.All)
        {
            if (ctx.Header(Checksums.HeaderName(algorithm)) is null) continue;
            if (found is not null)
                throw S3Errors.InvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.");
            found = algorithm;
        }
        if (found is not null) return found;
        if (ctx.Header("x-amz-trailer") is { } trailer && trailer.StartsWith("x-amz-checksum-", StringComparison.OrdinalIgnoreCase))
        {
            if (!Checksums.TryParse(trailer["x-amz-checksum-".Length..], out var fromTrailer))
                throw S3Errors.InvalidRequest("The value specified in the x-amz-trailer header is not supported");
            return fromTrailer;
        }
        if (ctx.Header("x-amz-sdk-checksum-algorithm") is { } named)
        {
            if (!Checksums.TryParse(named, out var algorithm))
                throw S3Errors.InvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.");
            return algorithm;
        }
        return null;
    }

    /// <summary>Stores the request body as a new blob, sealed with <paramref name="dataKey"/>
    /// when the object is encrypted.</summary>
    public static async Task<ReceivedBody> ReceiveAsync(RequestContext ctx, BlobStore blobs, ChecksumAlgorithm? algorithm, byte[]? dataKey = null)
    {
        await using var writer = blobs.CreateWriter();
        var sealing = dataKey is null ? null : SegmentCipher.Encrypt(writer.Stream, dataKey, writer.Id);
        long size;
        string md5Hex;
        string? checksum;
        await using (sealing)
        {
            (size, md5Hex, checksum) = await CopyVerifiedAsync(ctx, sealing ?? writer.Stream, algorithm, long.MaxValue);
            if (sealing is not null) await sealing.FinishAsync();
        }
        var blobId = await writer.CommitAsync();
        return new ReceivedBody(blobId, size, md5Hex, algorithm, checksum);
    }

    /// <summary>Copies the plaintext bytes [offset, offset+count) of a segment stored in
    /// <paramref name="file"/> to <paramref name="sink"/>: the one place stored bodies are read
    /// (decrypted with <paramref name="dataKey"/> when the object is encrypted).</summary>
    public static async Task CopySegmentAsync(FileStream file, Segment segment, byte[]? dataKey, long offset, long count,
        Func<ReadOnlyMemory<byte>, ValueTask> sink, byte[] buffer, CancellationToken ct = default)
    {
        Stream source = file;
        if (dataKey is null) file.Position = offset;
        else source = SegmentCipher.Decrypt(file, dataKey, segment.BlobId, segment.Size, offset);
        try
        {
            for (var remaining = count; remaining > 0;)
            {
                var n = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), ct);
                if (n == 0) throw AwsException.Internal("A stored object is shorter than its record.");
                await sink(buffer.AsMemory(0, n));
                remaining -= n;
            }
        }
        catch (CryptographicException)
        {
            throw AwsException.Internal("A stored encrypted object failed its integrity check.");
        }
        finally
        {
            if (source != file) await source.DisposeAsync();
        }
    }

    /// <summary>Copies the request body to <paramref name="destination"/> while computing its MD5
    /// and checksum, and throws (after the last byte) if <c>Content-MD5</c> or the
    /// <c>x-amz-checksum-*</c> header/trailer does not match what arrived.</summary>
    public static async Task<(long Size, string Md5Hex, string? Checksum)> CopyVerifiedAsync(RequestContext ctx, Stream destination, ChecksumAlgorithm? algorithm, long maxSize)
    {
        byte[]? contentMd5 = null;
        if (ctx.Header("Content-MD5") is { } md5Header)
        {
            try { contentMd5 = Convert.FromBase64String(md5Header); }
            catch (FormatException) { throw S3Errors.InvalidDigest(); }
            if (contentMd5.Length != 16) throw S3Errors.InvalidDigest();
        }

        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using var checksum = algorithm is { } a ? Checksums.Create(a) : null;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long size = 0;
        try
        {
            int n;
            while ((n = await ctx.Body.ReadAsync(buffer.AsMemory(0, BufferSize))) > 0)
            {
                md5.AppendData(buffer, 0, n);
                checksum?.Append(buffer.AsSpan(0, n));
                await destination.WriteAsync(buffer.AsMemory(0, n));
                size += n;
                if (size > maxSize) throw S3Errors.MalformedXml();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var digest = md5.GetHashAndReset();
        if (contentMd5 is not null && !digest.AsSpan().SequenceEqual(contentMd5))
            throw S3Errors.BadDigest(Convert.ToBase64String(contentMd5), Convert.ToBase64String(digest));

        string? value = null;
        if (checksum is not null)
        {
            value = checksum.Base64();
            var name = Checksums.HeaderName(checksum.Algorithm);
            var provided = ctx.Header(name);
            if (provided is null && ctx.ChunkedBody?.Trailers.TryGetValue(name, out var trailed) == true) provided = trailed;
            if (provided is not null && provided != value) throw S3Errors.ChecksumMismatch(checksum.Algorithm);
        }
        return (size, Convert.ToHexStringLower(digest), value);
    }

    /// <summary>Whether the request carries an integrity check of its body: <c>Content-MD5</c>, or
    /// an <c>x-amz-checksum-*</c> header or trailer.</summary>
    public static bool HasDigest(RequestContext ctx)
        => ctx.Header("Content-MD5") is not null || Checksums.All.Any(a => ctx.Header(Checksums.HeaderName(a)) is not null) || ctx.Header("x-amz-trailer") is not null;

    /// <summary>A small XML body S3 takes only with an integrity check (DeleteObjects,
    /// PutBucketTagging): refused without <c>Content-MD5</c> or an <c>x-amz-checksum-*</c> header
    /// or trailer, read whole and verified against it, then put back as the body the handler reads.</summary>
    public static async Task BufferDigestedBodyAsync(RequestContext ctx)
    {
        if (!HasDigest(ctx))
            throw S3Errors.InvalidRequest("Missing required header for this request: Content-MD5");
        var body = new MemoryStream();
        await CopyVerifiedAsync(ctx, body, RequestedAlgorithm(ctx), 4 * 1024 * 1024);
        body.Position = 0;
        ctx.Body = body;
    }

    /// <summary>Copies a byte range of a stored object into a new blob (CopyObject,
    /// UploadPartCopy), computing its MD5 and, if asked, a checksum.</summary>
    public static async Task<ReceivedBody> CopyAsync(BlobStore blobs, ObjectRecord source, byte[]? sourceKey, long offset, long length,
        ChecksumAlgorithm? algorithm, byte[]? dataKey)
    {
        await using var writer = blobs.CreateWriter();
        var sealing = dataKey is null ? null : SegmentCipher.Encrypt(writer.Stream, dataKey, writer.Id);
        var destination = sealing ?? writer.Stream;
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using var checksum = algorithm is { } a ? Checksums.Create(a) : null;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            foreach (var (segment, segOffset, count) in Ranges(source, offset, length))
            {
                await using var input = blobs.OpenRead(segment.BlobId);
                await CopySegmentAsync(input, segment, sourceKey, segOffset, count, async chunk =>
                {
                    md5.AppendData(chunk.Span);
                    checksum?.Append(chunk.Span);
                    await destination.WriteAsync(chunk);
                }, buffer);
            }
            if (sealing is not null) await sealing.FinishAsync();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (sealing is not null) await sealing.DisposeAsync();
        }
        var blob = await writer.CommitAsync();
        return new ReceivedBody(blob, length, Convert.ToHexStringLower(md5.GetHashAndReset()), algorithm, checksum?.Base64());
    }

    /// <summary>The (blob, offset, count) pieces that make up bytes [offset, offset+length) of an object.</summary>
    public static IEnumerable<(Segment Segment, long Offset, long Count)> Ranges(ObjectRecord record, long offset, long length)
    {
        long position = 0;
        foreach (var segment in record.Segments)
        {
            var start = Math.Max(offset, position);
            var end = Math.Min(offset + length, position + segment.Size);
            if (start < end) yield return (segment, start - position, end - start);
            position += segment.Size;
            if (position >= offset + length) yield break;
        }
    }
}
