using Strata.Server.Protocol;

namespace Strata.Server.Services.S3;

/// <summary>
/// S3's storage classes as a general-purpose bucket takes them. Strata keeps every body on one
/// disk, so most classes are labels an object carries and reports. The archive classes
/// (<c>GLACIER</c>, <c>DEEP_ARCHIVE</c>) change what a client may do, and that is kept exactly:
/// an archived object answers HEAD but not GET or copy until a RestoreObject completes, and its
/// restored copy lasts the days the restore asked for. A restore's progress is a function of the
/// injected clock (when it was asked, which tier), so nothing runs in the background for it.
/// </summary>
public static class StorageClasses
{
    public const string Standard = "STANDARD";
    public const string Glacier = "GLACIER";
    public const string DeepArchive = "DEEP_ARCHIVE";

    /// <summary>What a write may name. OUTPOSTS, SNOW, EXPRESS_ONEZONE and the FSx classes
    /// belong to other kinds of bucket: S3 refuses them here.</summary>
    static readonly string[] Writable =
        [Standard, "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", Glacier, DeepArchive];

    /// <summary>The request's <c>x-amz-storage-class</c>, or <paramref name="absent"/> when it names none.</summary>
    public static string Requested(RequestContext ctx, string absent = Standard) => Validate(ctx.Header("x-amz-storage-class")) ?? absent;

    /// <summary>A storage class as written; null for none. Anything S3 would not store in a
    /// general-purpose bucket is InvalidStorageClass.</summary>
    public static string? Validate(string? value)
    {
        if (value is null) return null;
        if (!Writable.Contains(value, StringComparer.Ordinal))
            throw new AwsException("InvalidStorageClass", 400, "The storage class you specified is not valid").With("StorageClassRequested", value);
        return value;
    }

    public static bool IsArchive(string storageClass) => storageClass is Glacier or DeepArchive;

    /// <summary>Whether the object's body can be read now: not archived, or archived with a
    /// restored copy that has not expired.</summary>
    public static bool IsReadable(ObjectRecord record, DateTimeOffset now)
        => !IsArchive(record.StorageClass) || record.Restore is { } r && r.CompletesAt <= now && now < r.ExpiresAt;

    /// <summary>GET of an archived object, as S3 refuses it.</summary>
    public static AwsException NotInActiveTier(ObjectRecord record)
        => new AwsException("InvalidObjectState", 403, "The operation is not valid for the object's storage class").With("StorageClass", record.StorageClass);

    /// <summary>A copy (CopyObject, UploadPartCopy) whose source is archived.</summary>
    public static AwsException SourceNotInActiveTier()
        => new("InvalidObjectState", 403, "The source object of the COPY action is not in the active tier and is only stored in Amazon S3 Glacier.");

    /// <summary><c>x-amz-restore</c> for an object a restore was asked for: still running, or done
    /// and until when. Null when none was asked for, or its copy has expired.</summary>
    public static string? RestoreHeader(ObjectRecord record, DateTimeOffset now) => record.Restore switch
    {
        null => null,
        { } r when now < r.CompletesAt => "ongoing-request=\"true\"",
        { } r when now < r.ExpiresAt => $"ongoing-request=\"false\", expiry-date=\"{Xml.HttpDate(r.ExpiresAt)}\"",
        _ => null,
    };

    /// <summary>How long a retrieval takes, by storage class and tier: the low end of the range S3
    /// publishes (Expedited 1–5 minutes, Standard 3–5 hours, Bulk 5–12 hours from GLACIER; from
    /// DEEP_ARCHIVE, Standard within 12 hours and Bulk within 48, and no Expedited).</summary>
    public static TimeSpan RetrievalTime(string storageClass, string tier) => (storageClass, tier) switch
    {
        (Glacier, "Expedited") => TimeSpan.FromMinutes(1),
        (Glacier, "Standard") => TimeSpan.FromHours(3),
        (Glacier, "Bulk") => TimeSpan.FromHours(5),
        (DeepArchive, "Standard") => TimeSpan.FromHours(12),
        (DeepArchive, "Bulk") => TimeSpan.FromHours(48),
        (DeepArchive, "Expedited") => throw S3Errors.InvalidArgument("Expedited retrievals are not available for objects in the DEEP_ARCHIVE storage class", "Tier", tier),
        _ => throw S3Errors.MalformedXml(),
    };

    /// <summary>When a restored copy expires: the days asked for after the restore completes,
    /// rounded up to the next midnight UTC, as S3 computes it.</summary>
    public static DateTimeOffset RestoreExpiry(DateTimeOffset completesAt, int days)
    {
        var end = completesAt.ToUniversalTime().AddDays(days);
        return new DateTimeOffset(end.Date, TimeSpan.Zero).AddDays(1);
    }
}
