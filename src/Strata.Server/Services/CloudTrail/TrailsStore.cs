using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Server.Storage;

namespace Strata.Server.Services.CloudTrail;

// The rows CloudTrail's trails keep in the state store (not the wire shapes: their JSON is what
// data directories hold). Keys: trails {account}/{name}; records waiting for the next log file
// {account}/{trail}/{event time ms}-{event id}, so a trail's records are one prefix scan, oldest first.

public sealed record TrailRow
{
    public required string Name { get; init; }
    public required string TrailARN { get; init; }
    public required string HomeRegion { get; init; }
    public required string S3BucketName { get; init; }
    public string? S3KeyPrefix { get; init; }
    public string? SnsTopicName { get; init; }
    public bool IncludeGlobalServiceEvents { get; init; } = true;
    public bool IsMultiRegionTrail { get; init; }
    public bool LogFileValidationEnabled { get; init; }
    public string? KmsKeyId { get; init; }
    public string? CloudWatchLogsLogGroupArn { get; init; }
    public string? CloudWatchLogsRoleArn { get; init; }
    /// <summary>Null: the default selector (all management events, read and write, no data events).</summary>
    public List<EventSelectorRow>? EventSelectors { get; init; }
    public List<AdvancedEventSelectorRow>? AdvancedEventSelectors { get; init; }
    public Dictionary<string, string> Tags { get; init; } = [];
    public TrailStatusRow Status { get; init; } = new();
}

public sealed record EventSelectorRow
{
    public string ReadWriteType { get; init; } = "All";
    public bool IncludeManagementEvents { get; init; } = true;
    public List<DataResourceRow> DataResources { get; init; } = [];
    public List<string> ExcludeManagementEventSources { get; init; } = [];
}

public sealed record DataResourceRow(string Type, List<string> Values);

public sealed record AdvancedEventSelectorRow
{
    public string? Name { get; init; }
    public List<FieldSelectorRow> FieldSelectors { get; init; } = [];
}

public sealed record FieldSelectorRow
{
    public required string Field { get; init; }
    public List<string>? EqualsValue { get; init; }
    public List<string>? StartsWith { get; init; }
    public List<string>? EndsWith { get; init; }
    public List<string>? NotEquals { get; init; }
    public List<string>? NotStartsWith { get; init; }
    public List<string>? NotEndsWith { get; init; }
}

/// <summary>What GetTrailStatus answers, and where the delivery job is: the digest period under
/// way (its start and the log files delivered in it) and the last digest, which the next one
/// chains to.</summary>
public sealed record TrailStatusRow
{
    public bool IsLogging { get; init; }
    public DateTimeOffset? StartLoggingTime { get; init; }
    public DateTimeOffset? StopLoggingTime { get; init; }
    public DateTimeOffset? LatestDeliveryTime { get; init; }
    public DateTimeOffset? LatestDeliveryAttemptTime { get; init; }
    public bool? LatestDeliveryAttemptSucceeded { get; init; }
    public string? LatestDeliveryError { get; init; }
    public DateTimeOffset? LatestDigestDeliveryTime { get; init; }
    public string? LatestDigestDeliveryError { get; init; }
    public DateTimeOffset? LatestCloudWatchLogsDeliveryTime { get; init; }
    public string? LatestCloudWatchLogsDeliveryError { get; init; }
    /// <summary>The waiting records already put into the trail's log group: a log file that failed
    /// to reach S3 is tried again, but its records are not put into the group twice. A set, not a
    /// watermark: a record persisted late with an earlier key must not be skipped.</summary>
    public List<string> CloudWatchLogsDelivered { get; init; } = [];
    public DateTimeOffset? DigestStartTime { get; init; }
    public List<DigestLogFileRow> DigestLogFiles { get; init; } = [];
    public DigestLinkRow? LastDigest { get; init; }
}

public sealed record DigestLogFileRow(string S3Bucket, string S3Object, string HashValue, DateTimeOffset NewestEventTime, DateTimeOffset OldestEventTime);

public sealed record DigestLinkRow(string S3Bucket, string S3Object, string HashValue, string Signature);

[JsonSerializable(typeof(TrailRow))]
internal sealed partial class TrailRowsJson : JsonSerializerContext;

/// <summary>CloudTrail's trails and the records accepted for them but not yet delivered.</summary>
public sealed class TrailsStore(IStateStore state)
{
    const string Trails = "cloudtrail-trails", Pending = "cloudtrail-pending";

    static string TrailKey(string account, string name) => $"{account}/{name}";

    static TrailRow Parse(string json) => JsonSerializer.Deserialize(json, TrailRowsJson.Default.TrailRow)!;
    static string Json(TrailRow row) => JsonSerializer.Serialize(row, TrailRowsJson.Default.TrailRow);

    public TrailRow? Get(string account, string name)
        => state.Read(r => r.Get(Trails, TrailKey(account, name))) is { } json ? Parse(json) : null;

    public List<TrailRow> TrailsOf(string account)
        => state.Read(r => r.Scan(Trails, account + "/", null, int.MaxValue)).Select(kv => Parse(kv.Value)).ToList();

    /// <summary>Every account's trails (the delivery job's view).</summary>
    public List<(string Account, TrailRow Trail)> All()
        => state.Read(r => r.Scan(Trails, "", null, int.MaxValue)).Select(kv => (kv.Key[..kv.Key.IndexOf('/')], Parse(kv.Value))).ToList();

    /// <summary>Adds a trail; false when one of that name exists.</summary>
    public bool Add(string account, TrailRow trail) => state.Write(w =>
    {
        if (w.Get(Trails, TrailKey(account, trail.Name)) is not null) return false;
        w.Put(Trails, TrailKey(account, trail.Name), Json(trail));
        return true;
    });

    /// <summary>Changes a trail in one transaction; null when it does not exist.</summary>
    public TrailRow? Update(string account, string name, Func<TrailRow, TrailRow> change) => state.Write(w =>
    {
        if (w.Get(Trails, TrailKey(account, name)) is not { } json) return null;
        var changed = change(Parse(json));
        w.Put(Trails, TrailKey(account, name), Json(changed));
        return changed;
    });

    /// <summary>Deletes a trail and what it had not delivered yet.</summary>
    public bool Delete(string account, string name) => state.Write(w =>
    {
        if (!w.Delete(Trails, TrailKey(account, name))) return false;
        foreach (var kv in w.Scan(Pending, TrailKey(account, name) + "/", null, int.MaxValue)) w.Delete(Pending, kv.Key);
        return true;
    });

    /// <summary>Keeps records for trails, in one transaction: (account, trail, key, record JSON).</summary>
    public void AddPending(IReadOnlyList<(string Account, string Trail, string Key, string Json)> records) => state.Write(w =>
    {
        foreach (var (account, trail, key, json) in records)
            if (w.Get(Trails, TrailKey(account, trail)) is not null) w.Put(Pending, $"{account}/{trail}/{key}", json);
        return 0;
    });

    /// <summary>Up to <paramref name="max"/> of a trail's records, oldest first, with their keys.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> PendingOf(string account, string trail, int max)
        => state.Read(r => r.Scan(Pending, TrailKey(account, trail) + "/", null, max));

    /// <summary>Removes delivered records and records the trail's new status, together: a log file
    /// is either delivered and forgotten, or still to deliver.</summary>
    public void Delivered(string account, string trail, IEnumerable<string> keys, Func<TrailRow, TrailRow> change) => state.Write(w =>
    {
        foreach (var key in keys) w.Delete(Pending, key);
        if (w.Get(Trails, TrailKey(account, trail)) is { } json) w.Put(Trails, TrailKey(account, trail), Json(change(Parse(json))));
        return 0;
    });
}
