using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Jobs.Trail;

namespace Strata.Server.Tests.Unit;

public sealed class TrailDigestTests : IDisposable
{
    static readonly TrailDestination Destination = new("trail-bucket", "audit", "123456789012", "us-east-1");
    static readonly DateTimeOffset Start = new(2026, 3, 1, 9, 0, 31, TimeSpan.Zero);
    static readonly DateTimeOffset End = Start.AddHours(1);

    readonly string _dataDir = Directory.CreateTempSubdirectory("strata-trail-digest-").FullName;
    readonly TrailSigningKey _key;

    public TrailDigestTests() => _key = new TrailKeys(_dataDir, new FakeTimeProvider(Start.AddDays(-1))).Current("us-east-1");

    public void Dispose() => Directory.Delete(_dataDir, true);

    static readonly TrailDigestLogFile[] LogFiles =
    [
        new("trail-bucket", "audit/AWSLogs/123456789012/CloudTrail/us-east-1/2026/03/01/a.json.gz", new string('a', 64),
            new DateTimeOffset(2026, 3, 1, 9, 20, 0, TimeSpan.Zero), new DateTimeOffset(2026, 3, 1, 9, 1, 0, TimeSpan.Zero)),
        new("trail-bucket", "audit/AWSLogs/123456789012/CloudTrail/us-east-1/2026/03/01/b.json.gz", new string('b', 64),
            new DateTimeOffset(2026, 3, 1, 9, 58, 7, TimeSpan.Zero), new DateTimeOffset(2026, 3, 1, 9, 30, 0, TimeSpan.Zero)),
    ];

    static JsonElement Json(TrailDigest digest) => JsonDocument.Parse(TrailLogFileTests.Gunzip(digest.GzipBytes)).RootElement;

    [Fact]
    public void KeyFollowsTheLayoutTheCliLists()
    {
        var key = TrailDigest.KeyFor(Destination, "main", "us-east-1", End);
        Assert.Equal("audit/AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/03/01/123456789012_CloudTrail-Digest_us-east-1_main_us-east-1_20260301T100031Z.json.gz", key);
        // validate-logs reads the stamp back as key[-24:-8].
        Assert.Equal("20260301T100031Z", key[^24..^8]);
        // A digest of another region of a trail whose home is elsewhere: the region, the trail, its home region.
        Assert.Equal("AWSLogs/123456789012/CloudTrail-Digest/eu-west-1/2026/03/02/123456789012_CloudTrail-Digest_eu-west-1_org_us-east-1_20260302T000000Z.json.gz",
            TrailDigest.KeyFor(Destination with { S3KeyPrefix = "", Region = "eu-west-1" }, "org", "us-east-1", new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void FirstDigestHasEveryFieldAndNullLinks()
    {
        var digest = TrailDigest.Build(Destination, "main", "us-east-1", Start, End, LogFiles, null, _key);
        var json = Json(digest);
        string[] names = ["awsAccountId", "digestStartTime", "digestEndTime", "digestS3Bucket", "digestS3Object", "digestPublicKeyFingerprint",
            "digestSignatureAlgorithm", "newestEventTime", "oldestEventTime", "previousDigestS3Bucket", "previousDigestS3Object",
            "previousDigestHashValue", "previousDigestHashAlgorithm", "previousDigestSignature", "logFiles"];
        Assert.Equal(names, json.EnumerateObject().Select(p => p.Name));
        Assert.Equal("123456789012", json.GetProperty("awsAccountId").GetString());
        Assert.Equal("2026-03-01T09:00:31Z", json.GetProperty("digestStartTime").GetString());
        Assert.Equal("2026-03-01T10:00:31Z", json.GetProperty("digestEndTime").GetString());
        Assert.Equal("trail-bucket", json.GetProperty("digestS3Bucket").GetString());
        Assert.Equal(digest.Key, json.GetProperty("digestS3Object").GetString());
        Assert.Equal(_key.Fingerprint, json.GetProperty("digestPublicKeyFingerprint").GetString());
        Assert.Equal("SHA256withRSA", json.GetProperty("digestSignatureAlgorithm").GetString());
        Assert.Equal("2026-03-01T09:58:07Z", json.GetProperty("newestEventTime").GetString());
        Assert.Equal("2026-03-01T09:01:00Z", json.GetProperty("oldestEventTime").GetString());
        foreach (var name in names.Where(n => n.StartsWith("previous", StringComparison.Ordinal)))
            Assert.Equal(JsonValueKind.Null, json.GetProperty(name).ValueKind);
        var files = json.GetProperty("logFiles").EnumerateArray().ToArray();
        Assert.Equal(2, files.Length);
        Assert.Equal(["s3Bucket", "s3Object", "hashValue", "hashAlgorithm", "newestEventTime", "oldestEventTime"], files[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(LogFiles[1].S3Object, files[1].GetProperty("s3Object").GetString());
        Assert.Equal(new string('b', 64), files[1].GetProperty("hashValue").GetString());
        Assert.Equal("SHA-256", files[1].GetProperty("hashAlgorithm").GetString());
        Assert.Equal("2026-03-01T09:58:07Z", files[1].GetProperty("newestEventTime").GetString());
        Assert.Equal("2026-03-01T09:30:00Z", files[1].GetProperty("oldestEventTime").GetString());
    }

    [Fact]
    public void AnHourWithoutLogFilesStillHasADigest()
    {
        var json = Json(TrailDigest.Build(Destination, "main", "us-east-1", Start, End, [], null, _key));
        Assert.Equal(0, json.GetProperty("logFiles").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("newestEventTime").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("oldestEventTime").ValueKind);
    }

    [Fact]
    public void SignatureIsInTheMetadataAndVerifiesOverTheStringTheCliRebuilds()
    {
        var digest = TrailDigest.Build(Destination, "main", "us-east-1", Start, End, LogFiles, null, _key);
        Assert.Equal(digest.Signature, digest.Metadata["signature"]);
        Assert.Equal("SHA256withRSA", digest.Metadata["signature-algorithm"]);
        Assert.Equal(2, digest.Metadata.Count);
        Assert.True(Verifies(digest, out var stringToSign));
        Assert.EndsWith("\nnull", stringToSign, StringComparison.Ordinal);
    }

    [Fact]
    public void EachDigestChainsToThePreviousOne()
    {
        var first = TrailDigest.Build(Destination, "main", "us-east-1", Start, End, LogFiles, null, _key);
        var second = TrailDigest.Build(Destination, "main", "us-east-1", End, End.AddHours(1), [], first.Link, _key);
        var json = Json(second);
        Assert.Equal("trail-bucket", json.GetProperty("previousDigestS3Bucket").GetString());
        Assert.Equal(first.Key, json.GetProperty("previousDigestS3Object").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(TrailLogFileTests.Gunzip(first.GzipBytes))), json.GetProperty("previousDigestHashValue").GetString());
        Assert.Equal("SHA-256", json.GetProperty("previousDigestHashAlgorithm").GetString());
        Assert.Equal(first.Signature, json.GetProperty("previousDigestSignature").GetString());
        Assert.Equal(json.GetProperty("digestStartTime").GetString(), Json(first).GetProperty("digestEndTime").GetString());
        Assert.True(Verifies(second, out var stringToSign));
        Assert.EndsWith("\n" + first.Signature, stringToSign, StringComparison.Ordinal);
        Assert.Equal(new TrailDigestLink("trail-bucket", second.Key, Convert.ToHexStringLower(SHA256.HashData(TrailLogFileTests.Gunzip(second.GzipBytes))), second.Signature), second.Link);
    }

    [Fact]
    public void AChangedDigestNoLongerVerifies()
    {
        var digest = TrailDigest.Build(Destination, "main", "us-east-1", Start, End, LogFiles, null, _key);
        var text = Encoding.UTF8.GetString(TrailLogFileTests.Gunzip(digest.GzipBytes)).Replace(new string('b', 64), new string('c', 64), StringComparison.Ordinal);
        var forged = digest with { GzipBytes = GzipText(text) };
        Assert.False(Verifies(forged, out _));
    }

    [Fact]
    public void ADigestIsSignedWithItsOwnRegionsKey()
    {
        var other = new TrailKeys(_dataDir, TimeProvider.System).Current("eu-west-1");
        Assert.Throws<ArgumentException>(() => TrailDigest.Build(Destination, "main", "us-east-1", Start, End, [], null, other));
    }

    static byte[] GzipText(string text)
    {
        var output = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest)) gzip.Write(Encoding.UTF8.GetBytes(text));
        return output.ToArray();
    }

    /// <summary>Verifies as validate-logs does: the string to sign from the parsed JSON and the
    /// decompressed bytes, the hex signature from the metadata, the key from its PKCS#1 DER.</summary>
    bool Verifies(TrailDigest digest, out string stringToSign)
    {
        var inflated = TrailLogFileTests.Gunzip(digest.GzipBytes);
        var json = JsonDocument.Parse(inflated).RootElement;
        stringToSign = $"{json.GetProperty("digestEndTime").GetString()}\n{json.GetProperty("digestS3Bucket").GetString()}/"
            + $"{json.GetProperty("digestS3Object").GetString()}\n{Convert.ToHexStringLower(SHA256.HashData(inflated))}\n"
            + (json.GetProperty("previousDigestSignature").GetString() ?? "null");
        Assert.Equal(TrailDigest.StringToSign(json.GetProperty("digestEndTime").GetString()!, json.GetProperty("digestS3Bucket").GetString()!,
            json.GetProperty("digestS3Object").GetString()!, Convert.ToHexStringLower(SHA256.HashData(inflated)),
            json.GetProperty("previousDigestSignature").GetString()), stringToSign);
        using var rsa = RSA.Create();
        rsa.ImportRSAPublicKey(_key.PublicKey, out _);
        return rsa.VerifyData(Encoding.UTF8.GetBytes(stringToSign), Convert.FromHexString(digest.Metadata["signature"]),
            HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }
}
