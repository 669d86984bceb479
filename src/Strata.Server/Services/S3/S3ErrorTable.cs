using Strata.Server.Protocol;

namespace Strata.Server.Services.S3;

// S3's domain errors: what the store refuses, in its own terms. The table below is the one place
// that says which S3 error each one is (code, status, message and the extra elements S3 adds).

/// <summary>No bucket by that name.</summary>
public sealed class BucketNotFound(string bucket) : DomainError($"bucket {bucket} does not exist")
{
    public string Bucket { get; } = bucket;
}

/// <summary>The bucket name is taken: by the caller's own account, or by another.</summary>
public sealed class BucketNameTaken(string bucket, bool byCaller) : DomainError($"bucket {bucket} already exists")
{
    public string Bucket { get; } = bucket;
    public bool ByCaller { get; } = byCaller;
}

/// <summary>A bucket that still holds objects cannot be deleted.</summary>
public sealed class BucketNotEmpty(string bucket) : DomainError($"bucket {bucket} is not empty")
{
    public string Bucket { get; } = bucket;
}

/// <summary>No multipart upload by that id (never started, aborted, or completed).</summary>
public sealed class UploadNotFound(string uploadId) : DomainError($"upload {uploadId} does not exist")
{
    public string UploadId { get; } = uploadId;
}

/// <summary>No object under that key.</summary>
public sealed class ObjectNotFound(string key) : DomainError($"key {key} does not exist")
{
    public string Key { get; } = key;
}

/// <summary>No version of the key has that id.</summary>
public sealed class VersionNotFound(string key, string versionId) : DomainError($"key {key} has no version {versionId}")
{
    public string Key { get; } = key;
    public string VersionId { get; } = versionId;
}

/// <summary>The version named is a delete marker, which has no body, metadata or tags.</summary>
public sealed class VersionIsDeleteMarker(string key, string versionId) : DomainError($"version {versionId} of {key} is a delete marker")
{
    public string Key { get; } = key;
    public string VersionId { get; } = versionId;
}

public static class S3ErrorTable
{
    public static readonly ErrorTable Errors = new ErrorTable()
        .Map<BucketNotFound>(e => S3Errors.NoSuchBucket(e.Bucket))
        .Map<BucketNameTaken>(e => e.ByCaller ? S3Errors.BucketAlreadyOwnedByYou(e.Bucket) : S3Errors.BucketAlreadyExists(e.Bucket))
        .Map<BucketNotEmpty>(e => S3Errors.BucketNotEmpty(e.Bucket))
        .Map<UploadNotFound>(e => S3Errors.NoSuchUpload(e.UploadId))
        .Map<ObjectNotFound>(e => S3Errors.NoSuchKey(e.Key))
        .Map<VersionNotFound>(e => S3Errors.NoSuchVersion(e.Key, e.VersionId))
        .Map<VersionIsDeleteMarker>(_ => S3Errors.MethodNotAllowed("PUT", "DeleteMarker"));

    /// <summary>Errors S3's error-code table lists that the service model declares for no
    /// operation (S3 documents them once, for every operation).</summary>
    public static readonly IReadOnlySet<string> UndeclaredCodes = new HashSet<string>(StringComparer.Ordinal) { "BucketNotEmpty", "NoSuchVersion", "MethodNotAllowed" };
}
