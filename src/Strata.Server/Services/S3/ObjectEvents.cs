using System.Text.Json.Nodes;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Protocol;

namespace Strata.Server.Services.S3;

/// <summary>
/// S3's object events on EventBridge, for buckets whose notification configuration enables it,
/// shaped as the S3 user guide's "EventBridge event message structure" shows them: source
/// <c>aws.s3</c>, detail-type "Object Created" or "Object Deleted", account the bucket owner's,
/// the bucket's ARN as the only resource, and a detail with the bucket, the object (key; size and
/// ETag, unquoted, when created; a sequencer that orders the events of a key), the request's id,
/// the requester's account, its source IP address and the reason (the API that made or removed
/// the object). In a versioned bucket the object carries its version-id, and a deletion says
/// whether it made a delete marker ("Delete Marker Created", the marker's id) or removed a
/// version for good ("Permanently Deleted", the version's id).
/// </summary>
public static class ObjectEvents
{
    public const string Source = "aws.s3";
    public const string ObjectCreatedType = "Object Created";
    public const string ObjectDeletedType = "Object Deleted";

    static long _lastSequencer;

    /// <summary>The event of <paramref name="record"/> made at its key by <paramref name="reason"/>
    /// (PutObject, CopyObject, CompleteMultipartUpload); null when the bucket sends none.</summary>
    public static ServiceEvent? ObjectCreated(BucketRecord bucket, ObjectRecord record, RequestContext ctx, string reason)
    {
        if (bucket.Notification?.EventBridge != true) return null;
        var o = new JsonObject
        {
            ["key"] = record.Key,
            ["size"] = record.Size,
            ["etag"] = record.ETag.Trim('"'),
        };
        if (record.VersionId is { } versionId) o["version-id"] = versionId;
        o["sequencer"] = Sequencer(record.LastModified);
        return Event(bucket, ObjectCreatedType, o, ctx, reason, null, record.LastModified);
    }

    /// <summary>The event of the object at <paramref name="key"/> deleted at <paramref name="at"/>
    /// by a DeleteObject or DeleteObjects request (<paramref name="versionId"/>: the version it
    /// named, if any); null when the bucket sends none.</summary>
    public static ServiceEvent? ObjectDeleted(BucketRecord bucket, string key, string? versionId, S3Store.DeleteOutcome outcome, RequestContext ctx, DateTimeOffset at)
    {
        if (bucket.Notification?.EventBridge != true) return null;
        // A delete that names no version in a versioned bucket makes a marker; one that names a
        // version (a marker included) removes it for good.
        var markerMade = versionId is null && outcome.DeleteMarker;
        var o = new JsonObject { ["key"] = key };
        if ((markerMade ? outcome.VersionId : versionId) is { } id) o["version-id"] = id;
        o["sequencer"] = Sequencer(at);
        return Event(bucket, ObjectDeletedType, o, ctx, "DeleteObject", markerMade ? "Delete Marker Created" : "Permanently Deleted", at);
    }

    /// <summary>The event of a version lifecycle removed at <paramref name="at"/>, or of the
    /// delete marker it made expiring a current object; null when the bucket sends none. S3
    /// itself is the requester: there is no request, and no source address.</summary>
    public static ServiceEvent? LifecycleExpired(BucketRecord bucket, string key, S3Store.DeleteOutcome outcome, bool currentExpired, DateTimeOffset at)
    {
        if (bucket.Notification?.EventBridge != true) return null;
        var o = new JsonObject { ["key"] = key };
        if (outcome.VersionId is { } versionId) o["version-id"] = versionId;
        o["sequencer"] = Sequencer(at);
        return Event(bucket, ObjectDeletedType, o, null, LifecycleReason, currentExpired && outcome.DeleteMarker ? "Delete Marker Created" : "Permanently Deleted", at);
    }

    public const string LifecycleReason = "Lifecycle Expiration";

    static ServiceEvent Event(BucketRecord bucket, string type, JsonObject o, RequestContext? ctx, string reason, string? deletionType, DateTimeOffset time)
    {
        var detail = new JsonObject
        {
            ["version"] = "0",
            ["event-version"] = "1.0",
            ["bucket"] = new JsonObject { ["name"] = bucket.Name },
            ["object"] = o,
        };
        if (ctx is not null) detail["request-id"] = ctx.RequestId;
        detail["requester"] = ctx is null ? "s3.amazonaws.com" : ctx.Principal.IsAnonymous ? "anonymous" : ctx.Principal.AccountId;
        if (ctx?.Http.Connection.RemoteIpAddress is { } ip) detail["source-ip-address"] = (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString();
        detail["reason"] = reason;
        if (deletionType is not null) detail["deletion-type"] = deletionType;
        return new ServiceEvent(bucket.OwnerAccountId, Source, type, [$"arn:aws:s3:::{bucket.Name}"], detail, time);
    }

    /// <summary>S3's sequencer: hexadecimal, larger for a later event of the same key. Made from
    /// the event's time in microseconds, and from one more than the last one handed out when the
    /// clock has not moved since (a fake clock, several events in one microsecond).</summary>
    static string Sequencer(DateTimeOffset at)
    {
        var now = at.ToUnixTimeMilliseconds() * 1000 + at.Ticks / 10 % 1000;
        while (true)
        {
            var last = Interlocked.Read(ref _lastSequencer);
            var next = Math.Max(last + 1, now);
            if (Interlocked.CompareExchange(ref _lastSequencer, next, last) == last) return next.ToString("X18", System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
