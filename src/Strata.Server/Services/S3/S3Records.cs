using System.Text.Json.Serialization;

namespace Strata.Server.Services.S3;

/// <summary>A bucket, with its policy (JSON as the owner wrote it), public access block, default
/// encryption, notification, CORS and lifecycle configuration, versioning status (null: never
/// versioned; <see cref="VersioningStatus.Enabled"/> or <see cref="VersioningStatus.Suspended"/>),
/// tags (null: no tag set, which GetBucketTagging tells apart from any set), Object Lock
/// (null: not enabled, which it can never be again once it is), Object Ownership
/// (<see cref="S3.ObjectOwnership"/>; null: BucketOwnerEnforced) and ACL (null: the owner's full control).</summary>
public sealed record BucketRecord(string Name, string OwnerAccountId, string Region, DateTimeOffset CreationDate,
    string? Policy = null, PublicAccessBlock? PublicAccessBlock = null, DefaultEncryption? Encryption = null, BucketNotification? Notification = null,
    string? Versioning = null, List<CorsRuleRecord>? Cors = null, BucketLifecycle? Lifecycle = null, List<ObjectTag>? Tags = null,
    ObjectLockConfigurationRecord? ObjectLock = null, string? ObjectOwnership = null, List<AclGrant>? Acl = null);

/// <summary>A bucket's Object Lock configuration (its presence means Object Lock is enabled) and
/// the default retention new versions get: a mode with a period of days or of years, or none.</summary>
public sealed record ObjectLockConfigurationRecord(string? DefaultMode = null, int? DefaultDays = null, int? DefaultYears = null);

/// <summary>A bucket's versioning status, as S3 names it. A bucket once versioned is never
/// unversioned again: it can only be suspended.</summary>
public static class VersioningStatus
{
    public const string Enabled = "Enabled";
    public const string Suspended = "Suspended";
}

/// <summary>One CORS rule as configured (validated on write).</summary>
public sealed record CorsRuleRecord(string? Id, List<string> AllowedOrigins, List<string> AllowedMethods, List<string> AllowedHeaders,
    List<string> ExposeHeaders, int? MaxAgeSeconds);

/// <summary>A bucket's lifecycle configuration as configured (validated on write), and the
/// default minimum size of an object that transitions (S3 echoes it; storage classes are
/// labels here).</summary>
public sealed record BucketLifecycle(List<LifecycleRuleRecord> Rules, string TransitionDefaultMinimumObjectSize);

/// <summary>One lifecycle rule. A rule of the API's first version names its objects by a
/// top-level <see cref="LegacyPrefix"/>; a current one by a <see cref="Filter"/>. Its actions:
/// expiring current objects (after <see cref="ExpirationDays"/> or on <see cref="ExpirationDate"/>),
/// removing expired object delete markers, expiring noncurrent versions (keeping the
/// <see cref="NewerNoncurrentVersions"/> newest), aborting incomplete multipart uploads; and
/// transitions, kept only to be read back.</summary>
public sealed record LifecycleRuleRecord
{
    public required string Id { get; init; }
    public required bool Enabled { get; init; }
    public string? LegacyPrefix { get; init; }
    public LifecycleFilterRecord? Filter { get; init; }
    public int? ExpirationDays { get; init; }
    public DateTimeOffset? ExpirationDate { get; init; }
    public bool? ExpiredObjectDeleteMarker { get; init; }
    public int? NoncurrentDays { get; init; }
    public int? NewerNoncurrentVersions { get; init; }
    public int? AbortDaysAfterInitiation { get; init; }
    public List<LifecycleTransitionRecord>? Transitions { get; init; }
    public List<LifecycleTransitionRecord>? NoncurrentVersionTransitions { get; init; }

    /// <summary>The key prefix the rule applies to ("" for every key).</summary>
    [JsonIgnore]
    public string KeyPrefix => LegacyPrefix ?? Filter?.Prefix ?? "";
}

/// <summary>A rule's filter: every condition given must hold. <see cref="And"/> says the
/// conditions were written inside <c>And</c> (so they are read back the same way).</summary>
public sealed record LifecycleFilterRecord(string? Prefix, List<ObjectTag> Tags, long? ObjectSizeGreaterThan, long? ObjectSizeLessThan, bool And);

/// <summary>A transition (or noncurrent version transition): kept and read back, never applied
/// (an object keeps the class it was written with).</summary>
public sealed record LifecycleTransitionRecord(int? Days, DateTimeOffset? Date, string StorageClass, int? NewerNoncurrentVersions = null);

/// <summary>Where a bucket's object events go: EventBridge (the owner's default event bus), the
/// one destination Strata delivers to.</summary>
public sealed record BucketNotification(bool EventBridge);

public sealed record PublicAccessBlock(bool BlockPublicAcls, bool IgnorePublicAcls, bool BlockPublicPolicy, bool RestrictPublicBuckets);

/// <summary>A stored piece of an object's body: one blob (a whole single-part body, or one part
/// of a multipart upload, kept as uploaded so completing an upload copies nothing, with the number
/// it was uploaded as, which GetObjectAttributes reports).</summary>
public sealed record Segment(string BlobId, long Size, string? ETag = null, string? Checksum = null, int? PartNumber = null);

public sealed record ObjectTag(string Key, string Value);

public sealed record ObjectRecord
{
    public required string Key { get; init; }
    public required long Size { get; init; }
    /// <summary>Quoted, as S3 sends it: MD5 hex, or for multipart MD5-of-part-MD5s "-N".</summary>
    public required string ETag { get; init; }
    public required DateTimeOffset LastModified { get; init; }
    public required List<Segment> Segments { get; init; }
    /// <summary>Set for objects made by a multipart upload: the part count (GET ?partNumber).</summary>
    public int? PartsCount { get; init; }
    /// <summary>Standard headers (Content-Type, Content-Encoding, Cache-Control, …) as given.</summary>
    public Dictionary<string, string> Headers { get; init; } = [];
    /// <summary>User metadata, names lower-cased without the x-amz-meta- prefix.</summary>
    public Dictionary<string, string> Metadata { get; init; } = [];
    public List<ObjectTag> Tags { get; init; } = [];
    public string? ChecksumAlgorithm { get; init; }
    public string? Checksum { get; init; }
    /// <summary>FULL_OBJECT or COMPOSITE (a checksum of the part checksums, "-N").</summary>
    public string? ChecksumType { get; init; }
    public string StorageClass { get; init; } = "STANDARD";
    public required string OwnerAccountId { get; init; }
    /// <summary>Null: the body is stored as sent.</summary>
    public ObjectEncryption? Encryption { get; init; }
    /// <summary>Null: the "null" version (every object of a bucket never versioned, objects
    /// written before versioning was enabled, and writes while it is suspended).</summary>
    public string? VersionId { get; init; }
    /// <summary>A delete marker: a version with no body that hides the versions below it.</summary>
    public bool? DeleteMarker { get; init; }
    /// <summary>The last RestoreObject of an archived object (GLACIER, DEEP_ARCHIVE); null when
    /// none was asked for.</summary>
    public ObjectRestore? Restore { get; init; }
    /// <summary>Object Lock retention (GOVERNANCE or COMPLIANCE, until when; kept after it passes,
    /// as S3 keeps it) and legal hold (ON or OFF; null: never set), of this version.</summary>
    public string? ObjectLockMode { get; init; }
    public DateTimeOffset? ObjectLockRetainUntilDate { get; init; }
    public string? ObjectLockLegalHold { get; init; }
    /// <summary>The version's ACL; null: its owner's full control.</summary>
    public List<AclGrant>? Acl { get; init; }

    [JsonIgnore]
    public bool IsDeleteMarker => DeleteMarker == true;

    /// <summary>The version id as S3 answers it.</summary>
    [JsonIgnore]
    public string WireVersionId => VersionId ?? "null";
}

/// <summary>A restore of an archived object: running until <see cref="CompletesAt"/>, then its
/// copy readable until <see cref="ExpiresAt"/>.</summary>
public sealed record ObjectRestore(DateTimeOffset CompletesAt, DateTimeOffset ExpiresAt, int Days, string Tier);

/// <summary>A key's versions other than its current object, newest first: noncurrent objects and
/// delete markers. When the newest is a delete marker and no current object exists, the key's
/// latest version is that marker.</summary>
public sealed record VersionStack(List<ObjectRecord> Entries);

public sealed record UploadRecord
{
    public required string UploadId { get; init; }
    public required string Bucket { get; init; }
    public required string Key { get; init; }
    public required DateTimeOffset Initiated { get; init; }
    public required string OwnerAccountId { get; init; }
    public required string InitiatorArn { get; init; }
    public Dictionary<string, string> Headers { get; init; } = [];
    public Dictionary<string, string> Metadata { get; init; } = [];
    public List<ObjectTag> Tags { get; init; } = [];
    public string? ChecksumAlgorithm { get; init; }
    public string? ChecksumType { get; init; }
    public string StorageClass { get; init; } = "STANDARD";
    /// <summary>Every part is sealed with the upload's data key; the object inherits it.</summary>
    public ObjectEncryption? Encryption { get; init; }
    /// <summary>The Object Lock settings the upload was created with, which the object gets.</summary>
    public string? ObjectLockMode { get; init; }
    public DateTimeOffset? ObjectLockRetainUntilDate { get; init; }
    public string? ObjectLockLegalHold { get; init; }
    /// <summary>The ACL the object gets on completion (null: its owner's full control).</summary>
    public List<AclGrant>? Acl { get; init; }
}

public sealed record PartRecord(int PartNumber, string BlobId, long Size, string ETag, DateTimeOffset LastModified, string? Checksum);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BucketRecord))]
[JsonSerializable(typeof(Dictionary<string, string>), TypeInfoPropertyName = "DictionaryStringString")]
[JsonSerializable(typeof(ObjectRecord))]
[JsonSerializable(typeof(UploadRecord))]
[JsonSerializable(typeof(PartRecord))]
[JsonSerializable(typeof(VersionStack))]
internal sealed partial class S3Json : JsonSerializerContext;
