using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Auth;

/// <summary>Verifies aws-chunked chunk and trailer signatures; null for the unsigned variant.</summary>
public sealed record ChunkSigner(byte[] SigningKey, string AmzDate, string Scope, string SeedSignature);

/// <summary>
/// Decodes an <c>aws-chunked</c> request body (<c>STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]</c>,
/// <c>STREAMING-UNSIGNED-PAYLOAD-TRAILER</c>) into the payload bytes, as they arrive:
/// <c>hex-size[;chunk-signature=sig]\r\n data \r\n … 0[;chunk-signature=sig]\r\n trailers \r\n</c>.
/// Each chunk's signature is checked when the chunk ends; a bad one throws
/// <c>SignatureDoesNotMatch</c>, so the consumer (which only commits after reading to the end)
/// never keeps unverified bytes. Trailing headers are exposed in <see cref="Trailers"/>.
/// </summary>
public sealed class AwsChunkedStream(Stream inner, ChunkSigner? signer, long? decodedLength) : ForwardReadStream, IAwsChunkedBody
{
    readonly byte[] _buffer = new byte[64 * 1024];
    int _pos, _len;
    long _chunkRemaining = -1; // -1: at a chunk header
    long _decoded;
    bool _done;
    string _previousSignature = signer?.SeedSignature ?? "";
    string? _expectedChunkSignature;
    IncrementalHash? _chunkHash = signer is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    readonly Dictionary<string, string> _trailers = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyDictionary<string, string> Trailers => _trailers;
    public long DecodedLength => _decoded;

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        while (!_done)
        {
            if (_chunkRemaining < 0)
            {
                await ReadChunkHeaderAsync(cancellationToken);
                continue;
            }
            if (_chunkRemaining == 0)
            {
                // End of a data chunk: CRLF, then verify what it carried.
                await ExpectCrlfAsync(cancellationToken);
                VerifyChunk();
                _chunkRemaining = -1;
                continue;
            }
            if (_pos == _len && !await FillAsync(cancellationToken)) throw Incomplete();
            var n = (int)Math.Min(Math.Min(destination.Length, _len - _pos), _chunkRemaining);
            _buffer.AsSpan(_pos, n).CopyTo(destination.Span);
            _chunkHash?.AppendData(_buffer, _pos, n);
            _pos += n;
            _chunkRemaining -= n;
            _decoded += n;
            return n;
        }
        return 0;
    }

    async Task ReadChunkHeaderAsync(CancellationToken ct)
    {
        var line = await ReadLineAsync(ct) ?? throw Incomplete();
        var semi = line.IndexOf(';');
        var sizeText = semi < 0 ? line : line[..semi];
        if (!long.TryParse(sizeText.Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var size) || size < 0)
            throw new AwsException("IncompleteBody", 400, "The request body is not valid aws-chunked encoding.");
        _expectedChunkSignature = null;
        if (semi >= 0)
        {
            var ext = line[(semi + 1)..];
            const string prefix = "chunk-signature=";
            if (ext.StartsWith(prefix, StringComparison.Ordinal)) _expectedChunkSignature = ext[prefix.Length..].Trim();
        }
        if (signer is not null && _expectedChunkSignature is null)
            throw new AwsException("SignatureDoesNotMatch", 403, "A chunk of the aws-chunked body has no chunk-signature.");
        if (size > 0)
        {
            _chunkRemaining = size;
            return;
        }
        // The final, empty chunk: its signature covers the empty payload; then trailers.
        VerifyChunk();
        await ReadTrailersAsync(ct);
        if (decodedLength is { } expected && expected != _decoded)
            throw new AwsException("IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header.");
        _done = true;
    }

    void VerifyChunk()
    {
        if (signer is null || _chunkHash is null) return;
        var hash = SigV4.Hex(_chunkHash.GetHashAndReset());
        var expected = SigV4.ChunkSignature(signer.SigningKey, signer.AmzDate, signer.Scope, _previousSignature, hash);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(_expectedChunkSignature ?? "")))
            throw new AwsException("SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided. Check your key and signing method.");
        _previousSignature = expected;
    }

    async Task ReadTrailersAsync(CancellationToken ct)
    {
        var canonical = new StringBuilder();
        string? trailerSignature = null;
        while (true)
        {
            var line = await ReadLineAsync(ct);
            if (line is null || line.Length == 0) break;
            var colon = line.IndexOf(':');
            if (colon <= 0) throw new AwsException("MalformedTrailerError", 400, "The request contained trailing data that was not well-formed or did not conform to our published schema.");
            var name = line[..colon].Trim().ToLowerInvariant();
            var value = line[(colon + 1)..].Trim();
            if (name == "x-amz-trailer-signature")
            {
                trailerSignature = value;
                continue;
            }
            _trailers[name] = value;
            canonical.Append(name).Append(':').Append(value).Append('\n');
        }
        if (signer is not null && _trailers.Count > 0)
        {
            var expected = SigV4.TrailerSignature(signer.SigningKey, signer.AmzDate, signer.Scope, _previousSignature, SigV4.Sha256Hex(canonical.ToString()));
            if (trailerSignature is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(trailerSignature)))
                throw new AwsException("SignatureDoesNotMatch", 403, "The trailer signature we calculated does not match the signature you provided.");
        }
    }

    async Task ExpectCrlfAsync(CancellationToken ct)
    {
        var line = await ReadLineAsync(ct);
        if (line is null || line.Length != 0) throw new AwsException("IncompleteBody", 400, "The request body is not valid aws-chunked encoding.");
    }

    async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos == _len && !await FillAsync(ct)) return sb.Length == 0 ? null : sb.ToString();
            var span = _buffer.AsSpan(_pos, _len - _pos);
            var lf = span.IndexOf((byte)'\n');
            if (lf < 0)
            {
                sb.Append(Encoding.ASCII.GetString(span));
                _pos = _len;
                if (sb.Length > 8192) throw new AwsException("IncompleteBody", 400, "The request body is not valid aws-chunked encoding.");
                continue;
            }
            sb.Append(Encoding.ASCII.GetString(span[..lf]));
            _pos += lf + 1;
            if (sb.Length > 0 && sb[^1] == '\r') sb.Length--;
            return sb.ToString();
        }
    }

    async Task<bool> FillAsync(CancellationToken ct)
    {
        _pos = 0;
        _len = await inner.ReadAsync(_buffer, ct);
        return _len > 0;
    }

    static AwsException Incomplete() => new("IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header.");


    protected override void Dispose(bool disposing)
    {
        if (disposing) _chunkHash?.Dispose();
        _chunkHash = null;
        base.Dispose(disposing);
    }
}

/// <summary>A body whose SHA-256 was signed (<c>x-amz-content-sha256</c>): hashed as it is read,
/// checked at the end, so a body that does not match is refused before anything commits.</summary>
public sealed class Sha256VerifyingStream(Stream inner, string expectedHex) : ForwardReadStream
{
    readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    bool _verified;

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(destination, cancellationToken);
        if (n > 0)
        {
            _hash.AppendData(destination.Span[..n]);
            return n;
        }
        if (!_verified)
        {
            var actual = SigV4.Hex(_hash.GetHashAndReset());
            if (!string.Equals(actual, expectedHex, StringComparison.OrdinalIgnoreCase))
                throw new AwsException("XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed.")
                    .With("ClientComputedContentSHA256", expectedHex).With("S3ComputedContentSHA256", actual);
            _verified = true;
        }
        return 0;
    }


    protected override void Dispose(bool disposing)
    {
        if (disposing) _hash.Dispose();
        base.Dispose(disposing);
    }
}
