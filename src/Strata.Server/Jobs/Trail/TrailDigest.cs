using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Strata.Server.Jobs.Trail;

/// <summary>What the next digest of a region must say of this one (its <c>previousDigest…</c>
/// fields): where it is, the SHA-256 of its decompressed bytes (hex) and its signature (hex).</summary>
public sealed record TrailDigestLink(string S3Bucket, string S3Object, string HashValue, string Signature);

/// <summary>
/// One hourly digest file of a region of a trail, ready to put: the key
/// <c>[prefix/]AWSLogs/&lt;account&gt;/CloudTrail-Digest/&lt;region&gt;/YYYY/MM/DD/&lt;account&gt;_CloudTrail-Digest_&lt;region&gt;_&lt;trail&gt;_&lt;home region&gt;_&lt;YYYYMMDDTHHmmssZ&gt;.json.gz</c>
/// (the date folder and the stamp are the digest's end time), the gzip of its JSON, and the
/// object's user metadata <c>signature</c> and <c>signature-algorithm</c>, where
/// <c>validate-logs</c> reads the signature. <see cref="Link"/> is what the next digest chains to.
/// </summary>
public sealed record TrailDigest(string S3Bucket, string Key, byte[] GzipBytes, string Signature,
    IReadOnlyDictionary<string, string> Metadata, TrailDigestLink Link)
{
    /// <summary>
    /// Builds the digest of the log files delivered in [<paramref name="digestStartTime"/>,
    /// <paramref name="digestEndTime"/>] (whole seconds; the next digest starts where this one
    /// ends), signed with the region's current key. <paramref name="previous"/> is the region's
    /// last digest of this trail, or null for the first digest (or the first after logging or
    /// validation was off: <c>validate-logs</c> then reports a gap rather than a missing file).
    /// </summary>
    public static TrailDigest Build(TrailDestination destination, string trailName, string trailHomeRegion,
        DateTimeOffset digestStartTime, DateTimeOffset digestEndTime, IReadOnlyList<TrailDigestLogFile> logFiles,
        TrailDigestLink? previous, TrailSigningKey key)
    {
        if (key.Region != destination.Region)
            throw new ArgumentException($"A digest of {destination.Region} is signed with that region's key, not {key.Region}'s.", nameof(key));
        var objectKey = KeyFor(destination, trailName, trailHomeRegion, digestEndTime);
        var endTime = TrailFormat.Time(digestEndTime);
        var json = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            writer.WriteString("awsAccountId", destination.AccountId);
            writer.WriteString("digestStartTime", TrailFormat.Time(digestStartTime));
            writer.WriteString("digestEndTime", endTime);
            writer.WriteString("digestS3Bucket", destination.S3Bucket);
            writer.WriteString("digestS3Object", objectKey);
            writer.WriteString("digestPublicKeyFingerprint", key.Fingerprint);
            writer.WriteString("digestSignatureAlgorithm", TrailSigningKey.SignatureAlgorithm);
            // The hour's newest and oldest event over its log files; none delivered: null.
            WriteTimeOrNull(writer, "newestEventTime", logFiles.Count == 0 ? null : logFiles.Max(f => f.NewestEventTime));
            WriteTimeOrNull(writer, "oldestEventTime", logFiles.Count == 0 ? null : logFiles.Min(f => f.OldestEventTime));
            WriteStringOrNull(writer, "previousDigestS3Bucket", previous?.S3Bucket);
            WriteStringOrNull(writer, "previousDigestS3Object", previous?.S3Object);
            WriteStringOrNull(writer, "previousDigestHashValue", previous?.HashValue);
            WriteStringOrNull(writer, "previousDigestHashAlgorithm", previous is null ? null : TrailFormat.HashAlgorithm);
            WriteStringOrNull(writer, "previousDigestSignature", previous?.Signature);
            writer.WriteStartArray("logFiles");
            foreach (var file in logFiles)
            {
                writer.WriteStartObject();
                writer.WriteString("s3Bucket", file.S3Bucket);
                writer.WriteString("s3Object", file.S3Object);
                writer.WriteString("hashValue", file.HashValue);
                writer.WriteString("hashAlgorithm", TrailFormat.HashAlgorithm);
                writer.WriteString("newestEventTime", TrailFormat.Time(file.NewestEventTime));
                writer.WriteString("oldestEventTime", TrailFormat.Time(file.OldestEventTime));
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        var hash = TrailFormat.Sha256Hex(json.WrittenSpan);
        var signature = key.Sign(StringToSign(endTime, destination.S3Bucket, objectKey, hash, previous?.Signature));
        var metadata = new Dictionary<string, string>
        {
            ["signature"] = signature,
            ["signature-algorithm"] = TrailSigningKey.SignatureAlgorithm,
        };
        return new TrailDigest(destination.S3Bucket, objectKey, TrailFormat.Gzip(json.WrittenSpan), signature, metadata,
            new TrailDigestLink(destination.S3Bucket, objectKey, hash, signature));
    }

    /// <summary>
    /// The string that is signed, as <c>validate-logs</c> rebuilds it: the digest's
    /// <c>digestEndTime</c>, <c>bucket/key</c>, the hex SHA-256 of the decompressed digest, and the
    /// previous digest's signature, or the word <c>null</c> for the first digest; one per line.
    /// </summary>
    public static string StringToSign(string digestEndTime, string bucket, string key, string digestHash, string? previousSignature)
        => $"{digestEndTime}\n{bucket}/{key}\n{digestHash}\n{previousSignature ?? "null"}";

    /// <summary>The key of the digest ending at <paramref name="digestEndTime"/>. The CLI lists a
    /// region's digests with a regex on this shape and reads the stamp back as the 16 characters
    /// before <c>.json.gz</c>, so the stamp is to the second and nothing follows it.</summary>
    public static string KeyFor(TrailDestination destination, string trailName, string trailHomeRegion, DateTimeOffset digestEndTime)
    {
        var (account, region) = (destination.AccountId, destination.Region);
        var stamp = digestEndTime.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        return destination.Key($"AWSLogs/{account}/CloudTrail-Digest/{region}/{TrailFormat.DateFolder(digestEndTime)}/"
            + $"{account}_CloudTrail-Digest_{region}_{trailName}_{trailHomeRegion}_{stamp}.json.gz");
    }

    static void WriteStringOrNull(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null) writer.WriteNull(name);
        else writer.WriteString(name, value);
    }

    static void WriteTimeOrNull(Utf8JsonWriter writer, string name, DateTimeOffset? value)
        => WriteStringOrNull(writer, name, value is { } time ? TrailFormat.Time(time) : null);
}
