using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Strata.Server.Jobs.Trail;

/// <summary>
/// What a digest says of one log file (an element of its <c>logFiles</c>): where it is, the
/// SHA-256 of its decompressed bytes (hex), and the times of its newest and oldest events.
/// Small and plain, so a delivery job can keep the entries of the hour until the digest is due.
/// </summary>
public sealed record TrailDigestLogFile(string S3Bucket, string S3Object, string HashValue, DateTimeOffset NewestEventTime, DateTimeOffset OldestEventTime);

/// <summary>
/// One CloudTrail log file, ready to put: the key
/// <c>[prefix/]AWSLogs/&lt;account&gt;/CloudTrail/&lt;region&gt;/YYYY/MM/DD/&lt;account&gt;_CloudTrail_&lt;region&gt;_&lt;YYYYMMDDTHHmmZ&gt;_&lt;16 alphanumerics&gt;.json.gz</c>,
/// the gzip of <c>{"Records":[…]}</c>, and its entry for the hour's digest. The hash is over the
/// decompressed bytes: <c>aws cloudtrail validate-logs</c> inflates each log file and compares
/// the SHA-256 of what comes out with the digest's <c>hashValue</c>.
/// </summary>
public sealed record TrailLogFile(string S3Bucket, string Key, byte[] GzipBytes, TrailDigestLogFile DigestEntry)
{
    const string Alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>
    /// Builds the log file delivered at <paramref name="deliveredAt"/> (from the job's clock) for
    /// <paramref name="records"/>, each one CloudTrail event already serialised as a JSON object
    /// with its <c>eventTime</c>. CloudTrail never delivers an empty log file, so at least one
    /// record is required.
    /// </summary>
    public static TrailLogFile Build(TrailDestination destination, DateTimeOffset deliveredAt, IReadOnlyList<string> records)
    {
        if (records.Count == 0) throw new ArgumentException("A log file holds at least one record.", nameof(records));
        var json = new ArrayBufferWriter<byte>();
        DateTimeOffset? newest = null, oldest = null;
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("Records");
            foreach (var record in records)
            {
                var eventTime = EventTime(record);
                if (newest is null || eventTime > newest) newest = eventTime;
                if (oldest is null || eventTime < oldest) oldest = eventTime;
                writer.WriteRawValue(record);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        var key = KeyFor(destination, deliveredAt, RandomNumberGenerator.GetString(Alphanumerics, 16));
        var entry = new TrailDigestLogFile(destination.S3Bucket, key, TrailFormat.Sha256Hex(json.WrittenSpan), newest!.Value, oldest!.Value);
        return new TrailLogFile(destination.S3Bucket, key, TrailFormat.Gzip(json.WrittenSpan), entry);
    }

    /// <summary>The key of a log file delivered at <paramref name="deliveredAt"/>; the suffix makes
    /// names unique within the minute.</summary>
    public static string KeyFor(TrailDestination destination, DateTimeOffset deliveredAt, string uniqueSuffix)
    {
        var (account, region) = (destination.AccountId, destination.Region);
        var stamp = deliveredAt.UtcDateTime.ToString("yyyyMMdd'T'HHmm'Z'", CultureInfo.InvariantCulture);
        return destination.Key($"AWSLogs/{account}/CloudTrail/{region}/{TrailFormat.DateFolder(deliveredAt)}/"
            + $"{account}_CloudTrail_{region}_{stamp}_{uniqueSuffix}.json.gz");
    }

    /// <summary>The top-level <c>eventTime</c> of one record, read to its end: the record must be
    /// one whole JSON object, or the log file would not parse.</summary>
    static DateTimeOffset EventTime(string record)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(record));
        DateTimeOffset? eventTime = null;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new ArgumentException("Each CloudTrail record is a JSON object.", nameof(record));
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isEventTime = reader.ValueTextEquals("eventTime"u8);
                reader.Read();
                if (isEventTime && reader.TokenType == JsonTokenType.String
                    && DateTimeOffset.TryParse(reader.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
                    eventTime = time;
                reader.Skip();
            }
            if (reader.Read()) throw new ArgumentException("A CloudTrail record is one JSON object and nothing after it.", nameof(record));
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"A CloudTrail record is not valid JSON: {e.Message}", nameof(record), e);
        }
        return eventTime ?? throw new ArgumentException("Each CloudTrail record has an eventTime (as 2015-08-17T14:52:27Z).", nameof(record));
    }
}
