using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Strata.Server.Jobs.Trail;

namespace Strata.Server.Tests.Unit;

public sealed class TrailLogFileTests
{
    static readonly TrailDestination Destination = new("trail-bucket", "audit/team", "123456789012", "eu-west-1");
    static readonly DateTimeOffset DeliveredAt = new(2026, 3, 1, 9, 5, 42, TimeSpan.Zero);

    static string Record(string eventTime, string name = "PutObject")
        => $$$"""{"eventVersion":"1.08","eventTime":"{{{eventTime}}}","eventSource":"s3.amazonaws.com","eventName":"{{{name}}}","requestParameters":{"eventTime":"not this one"}}""";

    internal static byte[] Gunzip(byte[] gzip)
    {
        using var input = new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress);
        var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    [Fact]
    public void KeyFollowsCloudTrailsLayout()
    {
        var file = TrailLogFile.Build(Destination, DeliveredAt, [Record("2026-03-01T09:04:00Z")]);
        Assert.Matches(@"^audit/team/AWSLogs/123456789012/CloudTrail/eu-west-1/2026/03/01/123456789012_CloudTrail_eu-west-1_20260301T0905Z_[A-Za-z0-9]{16}\.json\.gz$", file.Key);
        Assert.Equal("trail-bucket", file.S3Bucket);
        Assert.Equal(file.Key, file.DigestEntry.S3Object);
        Assert.Equal("trail-bucket", file.DigestEntry.S3Bucket);
    }

    [Fact]
    public void KeyWithoutPrefixStartsAtAWSLogs()
    {
        var key = TrailLogFile.KeyFor(Destination with { S3KeyPrefix = null }, new DateTimeOffset(2026, 12, 31, 23, 59, 59, TimeSpan.FromHours(-5)), "abcdefghijklmnop");
        // The time is written in UTC, date folder included.
        Assert.Equal("AWSLogs/123456789012/CloudTrail/eu-west-1/2027/01/01/123456789012_CloudTrail_eu-west-1_20270101T0459Z_abcdefghijklmnop.json.gz", key);
    }

    [Fact]
    public void NamesAreUniqueWithinTheMinute()
    {
        var a = TrailLogFile.Build(Destination, DeliveredAt, [Record("2026-03-01T09:04:00Z")]);
        var b = TrailLogFile.Build(Destination, DeliveredAt, [Record("2026-03-01T09:04:00Z")]);
        Assert.NotEqual(a.Key, b.Key);
    }

    [Fact]
    public void ContentIsTheGzipOfTheRecordsAndTheHashIsOverTheDecompressedBytes()
    {
        string[] records = [Record("2026-03-01T09:04:10Z", "GetObject"), Record("2026-03-01T09:01:00Z"), Record("2026-03-01T09:03:30Z")];
        var file = TrailLogFile.Build(Destination, DeliveredAt, records);
        var json = Gunzip(file.GzipBytes);
        Assert.Equal($$"""{"Records":[{{string.Join(',', records)}}]}""", System.Text.Encoding.UTF8.GetString(json));
        using var doc = JsonDocument.Parse(json);
        Assert.Equal(3, doc.RootElement.GetProperty("Records").GetArrayLength());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(json)), file.DigestEntry.HashValue);
        Assert.NotEqual(Convert.ToHexStringLower(SHA256.HashData(file.GzipBytes)), file.DigestEntry.HashValue);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 9, 4, 10, TimeSpan.Zero), file.DigestEntry.NewestEventTime);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 9, 1, 0, TimeSpan.Zero), file.DigestEntry.OldestEventTime);
    }

    [Theory]
    [InlineData("""["not","an","object"]""")]
    [InlineData("""{"eventName":"NoTime"}""")]
    [InlineData("""{"eventTime":"yesterday"}""")]
    [InlineData("""{"eventTime":"2026-03-01T09:04:10Z",""")]
    [InlineData("""{"eventTime":"2026-03-01T09:04:10Z"},{"eventTime":"2026-03-01T09:04:10Z"}""")]
    public void RejectsRecordsThatAreNotCloudTrailEvents(string record)
        => Assert.ThrowsAny<ArgumentException>(() => TrailLogFile.Build(Destination, DeliveredAt, [record]));

    [Fact]
    public void RejectsAnEmptyLogFile()
        => Assert.Throws<ArgumentException>(() => TrailLogFile.Build(Destination, DeliveredAt, []));

    [Fact]
    public void RandomSuffixIsAlphanumeric()
    {
        for (var i = 0; i < 50; i++)
        {
            var key = TrailLogFile.Build(Destination, DeliveredAt, [Record("2026-03-01T09:04:00Z")]).Key;
            Assert.Matches(new Regex("_[A-Za-z0-9]{16}\\.json\\.gz$"), key);
        }
    }
}
