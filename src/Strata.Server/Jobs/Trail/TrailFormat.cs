using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Strata.Server.Jobs.Trail;

/// <summary>
/// Where one region of a trail delivers: the bucket, the optional key prefix (the trail's
/// <c>S3KeyPrefix</c>), the account and the region whose events the files hold. Log files and
/// digests of that region are laid out under <c>[prefix/]AWSLogs/&lt;account&gt;/</c>.
/// </summary>
public sealed record TrailDestination(string S3Bucket, string? S3KeyPrefix, string AccountId, string Region)
{
    /// <summary>A key under the trail's prefix. <c>aws cloudtrail validate-logs</c> joins the
    /// prefix and <c>AWSLogs/…</c> with one slash when the prefix is not empty, so we must too.</summary>
    internal string Key(string rest) => string.IsNullOrEmpty(S3KeyPrefix) ? rest : S3KeyPrefix + "/" + rest;
}

/// <summary>The encodings CloudTrail's files share: times, hashes, gzip.</summary>
static class TrailFormat
{
    /// <summary>The hash algorithm named in digests for log files and for the previous digest.</summary>
    public const string HashAlgorithm = "SHA-256";

    /// <summary>Event and digest times in the JSON (<c>2015-08-17T14:01:31Z</c>): whole seconds, UTC.</summary>
    public static string Time(DateTimeOffset time)
        => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>The <c>YYYY/MM/DD</c> folder of a key.</summary>
    public static string DateFolder(DateTimeOffset time)
        => time.UtcDateTime.ToString("yyyy'/'MM'/'dd", CultureInfo.InvariantCulture);

    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static byte[] Gzip(ReadOnlySpan<byte> bytes)
    {
        var output = new MemoryStream();
        // One gzip member: the CLI inflates with zlib.decompress(…, MAX_WBITS | 16), which reads
        // only the first member of a multi-member file.
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true)) gzip.Write(bytes);
        return output.ToArray();
    }
}
