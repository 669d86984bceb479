using System.Security.Cryptography;
using System.Text;
using Strata.Server.Auth;
using Strata.Server.Protocol;

namespace Strata.Server.Tests.Unit;

public sealed class SigV4Tests
{
    const string ExampleSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    [Fact]
    public void SigningKeyMatchesTheAwsDocumentationExample()
    {
        // AWS General Reference, "Examples of how to derive a signing key for Signature Version 4".
        var key = SigV4.SigningKey(ExampleSecret, "20120215", "us-east-1", "iam");
        Assert.Equal("f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d", SigV4.Hex(key));
    }

    [Fact]
    public void GetVanillaFromTheAwsTestSuite()
    {
        // aws-sig-v4-test-suite "get-vanilla": GET / with host and x-amz-date signed.
        var canonical = SigV4.CanonicalRequest("GET", SigV4.CanonicalUri("/", s3: false), SigV4.CanonicalQuery(""),
            [("host", "example.amazonaws.com"), ("x-amz-date", "20150830T123600Z")], "host;x-amz-date", SigV4.EmptySha256);
        var sts = SigV4.StringToSign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", canonical);
        var signature = SigV4.Sign(SigV4.SigningKey(ExampleSecret, "20150830", "us-east-1", "service"), sts);
        Assert.Equal("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", signature);
    }

    [Theory]
    [InlineData("/bucket/a%20b/c%2Bd", true, "/bucket/a%20b/c%2Bd")]
    [InlineData("/bucket/caf%C3%A9", true, "/bucket/caf%C3%A9")]
    [InlineData("/bucket/a b", true, "/bucket/a%20b")]
    [InlineData("/a%20b", false, "/a%2520b")] // every service but S3 encodes the encoded path again
    [InlineData("", false, "/")]
    public void CanonicalUri(string raw, bool s3, string expected) => Assert.Equal(expected, SigV4.CanonicalUri(raw, s3));

    [Fact]
    public void CanonicalQuerySortsAndReencodes()
    {
        Assert.Equal("a=1&b=&b=2&list-type=2&prefix=a%20b%2Fc", SigV4.CanonicalQuery("prefix=a%20b/c&list-type=2&b=2&a=1&b"));
        Assert.Equal("X-Amz-Date=1", SigV4.CanonicalQuery("X-Amz-Signature=abc&X-Amz-Date=1", exclude: "X-Amz-Signature"));
        Assert.Equal("k=%2B", SigV4.CanonicalQuery("k=%2b"));
    }

    [Fact]
    public void HeaderValuesAreTrimmedAndSpacesCollapsed()
        => Assert.Equal("a b c", SigV4.CanonicalHeaderValue("  a   b c "));

    [Fact]
    public void LegacySignatureMatchesTheAwsDocumentationExample()
    {
        // Amazon S3 developer guide, "Signing and authenticating REST requests", object GET example.
        var sts = SigV2.StringToSign("GET", null, null, "Tue, 27 Mar 2007 19:36:42 +0000", [], "/awsexamplebucket1/photos/puppy.jpg", "");
        Assert.Equal("GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg", sts);
        Assert.Equal("qgk2+6Sv9/oM7G3qLEjTH1a1l1g=", SigV2.Sign("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", sts));
    }

    [Fact]
    public void LegacySignatureIncludesOnlySubresources()
    {
        var sts = SigV2.StringToSign("PUT", "md5", "text/plain", "date", [new("x-amz-meta-b", " 2 "), new("x-amz-acl", "private")], "/b/k", "uploadId=U%2B1&partNumber=2&foo=bar");
        Assert.Equal("PUT\nmd5\ntext/plain\ndate\nx-amz-acl:private\nx-amz-meta-b:2\n/b/k?partNumber=2&uploadId=U+1", sts);
    }
}

public sealed class AwsChunkedStreamTests
{
    static readonly byte[] Key = SigV4.SigningKey("secret", "20261127", "us-east-1", "s3");
    const string Date = "20261127T000000Z";
    const string Scope = "20261127/us-east-1/s3/aws4_request";
    const string Seed = "seedsignature";

    /// <summary>An aws-chunked body, signed as the S3 documentation defines it.</summary>
    static byte[] Encode(IEnumerable<byte[]> chunks, bool signed, string? trailer = null, Func<int, string, string>? tamper = null)
    {
        var output = new MemoryStream();
        var previous = Seed;
        var index = 0;
        foreach (var chunk in chunks.Append([]))
        {
            var header = chunk.Length.ToString("x");
            if (signed)
            {
                var signature = SigV4.ChunkSignature(Key, Date, Scope, previous, SigV4.Sha256Hex(chunk));
                previous = signature;
                header += ";chunk-signature=" + (tamper?.Invoke(index, signature) ?? signature);
            }
            output.Write(Encoding.ASCII.GetBytes(header + "\r\n"));
            output.Write(chunk);
            if (chunk.Length > 0) output.Write("\r\n"u8);
            index++;
        }
        if (trailer is not null)
        {
            output.Write(Encoding.ASCII.GetBytes(trailer + "\r\n"));
            if (signed)
            {
                var signature = SigV4.TrailerSignature(Key, Date, Scope, previous, SigV4.Sha256Hex(trailer + "\n"));
                output.Write(Encoding.ASCII.GetBytes("x-amz-trailer-signature:" + signature + "\r\n"));
            }
        }
        output.Write("\r\n"u8);
        return output.ToArray();
    }

    static async Task<byte[]> DecodeAsync(byte[] encoded, bool signed, long? length, Action<AwsChunkedStream>? inspect = null)
    {
        await using var stream = new AwsChunkedStream(new MemoryStream(encoded), signed ? new ChunkSigner(Key, Date, Scope, Seed) : null, length);
        var output = new MemoryStream();
        await stream.CopyToAsync(output, 1000); // small reads cross chunk boundaries
        inspect?.Invoke(stream);
        return output.ToArray();
    }

    [Fact]
    public async Task DecodesSignedChunks()
    {
        var chunks = new[] { RandomNumberGenerator.GetBytes(65536), RandomNumberGenerator.GetBytes(65536), RandomNumberGenerator.GetBytes(1024) };
        var decoded = await DecodeAsync(Encode(chunks, signed: true), signed: true, 132096);
        Assert.Equal(chunks.SelectMany(c => c).ToArray(), decoded);
    }

    [Fact]
    public async Task RejectsATamperedChunkSignature()
    {
        var encoded = Encode([new byte[100], new byte[50]], signed: true, tamper: (i, s) => i == 1 ? new string('0', 64) : s);
        var e = await Assert.ThrowsAsync<AwsException>(() => DecodeAsync(encoded, signed: true, 150));
        Assert.Equal("SignatureDoesNotMatch", e.Code);
    }

    [Fact]
    public async Task RejectsAlteredChunkData()
    {
        var encoded = Encode([Encoding.ASCII.GetBytes("hello world")], signed: true);
        encoded[encoded.AsSpan().IndexOf("hello"u8)] = (byte)'j';
        var e = await Assert.ThrowsAsync<AwsException>(() => DecodeAsync(encoded, signed: true, 11));
        Assert.Equal("SignatureDoesNotMatch", e.Code);
    }

    [Fact]
    public async Task ReadsUnsignedTrailers()
    {
        var data = Encoding.ASCII.GetBytes("trailer payload");
        IReadOnlyDictionary<string, string>? trailers = null;
        var decoded = await DecodeAsync(Encode([data], signed: false, trailer: "x-amz-checksum-crc32:AAAAAA=="), signed: false, data.Length, s => trailers = s.Trailers);
        Assert.Equal(data, decoded);
        Assert.Equal("AAAAAA==", trailers!["x-amz-checksum-crc32"]);
    }

    [Fact]
    public async Task VerifiesSignedTrailers()
    {
        var data = new byte[10];
        await DecodeAsync(Encode([data], signed: true, trailer: "x-amz-checksum-crc32:abc="), signed: true, 10);
        var forged = Encoding.ASCII.GetString(Encode([data], signed: true, trailer: "x-amz-checksum-crc32:abc=")).Replace("crc32:abc=", "crc32:xyz=");
        var e = await Assert.ThrowsAsync<AwsException>(() => DecodeAsync(Encoding.ASCII.GetBytes(forged), signed: true, 10));
        Assert.Equal("SignatureDoesNotMatch", e.Code);
    }

    [Fact]
    public async Task RejectsATruncatedBodyOrWrongLength()
    {
        var encoded = Encode([new byte[100]], signed: false);
        var truncated = await Assert.ThrowsAsync<AwsException>(() => DecodeAsync(encoded[..50], signed: false, 100));
        Assert.Equal("IncompleteBody", truncated.Code);
        var wrongLength = await Assert.ThrowsAsync<AwsException>(() => DecodeAsync(encoded, signed: false, 99));
        Assert.Equal("IncompleteBody", wrongLength.Code);
        var garbage = await Assert.ThrowsAsync<AwsException>(() => DecodeAsync("zz\r\nabc"u8.ToArray(), signed: false, 3));
        Assert.Equal("IncompleteBody", garbage.Code);
    }

    [Fact]
    public async Task Sha256VerifyingStreamRejectsAMismatch()
    {
        var data = "payload"u8.ToArray();
        var ok = new Sha256VerifyingStream(new MemoryStream(data), SigV4.Sha256Hex(data));
        await ok.CopyToAsync(Stream.Null);
        var bad = new Sha256VerifyingStream(new MemoryStream(data), SigV4.Sha256Hex("other"u8));
        var e = await Assert.ThrowsAsync<AwsException>(() => bad.CopyToAsync(Stream.Null));
        Assert.Equal("XAmzContentSHA256Mismatch", e.Code);
    }
}
