using Strata.Server.Protocol;

namespace Strata.Server.Services.S3;

/// <summary>S3's error codes, statuses and messages (the AWS S3 error-code table).</summary>
public static class S3Errors
{
    public static AwsException NoSuchBucket(string bucket)
        => new AwsException("NoSuchBucket", 404, "The specified bucket does not exist").With("BucketName", bucket);
    public static AwsException NoSuchKey(string key)
        => new AwsException("NoSuchKey", 404, "The specified key does not exist.").With("Key", key);
    public static AwsException NoSuchVersion(string key, string versionId)
        => new AwsException("NoSuchVersion", 404, "The specified version does not exist.").With("Key", key).With("VersionId", versionId);
    /// <summary>A versionId that cannot name any version (S3 refuses it before looking).</summary>
    public static AwsException InvalidVersionId(string versionId)
        => versionId.Length == 0 ? InvalidArgument("Version id cannot be the empty string", "versionId", versionId)
            : InvalidArgument("Invalid version id specified", "versionId", versionId);
    public static AwsException NoSuchUpload(string uploadId)
        => new AwsException("NoSuchUpload", 404, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.").With("UploadId", uploadId);
    public static AwsException AccessDenied() => new("AccessDenied", 403, "Access Denied");
    public static AwsException InvalidBucketName(string bucket)
        => new AwsException("InvalidBucketName", 400, "The specified bucket is not valid.").With("BucketName", bucket);
    public static AwsException BucketAlreadyOwnedByYou(string bucket)
        => new AwsException("BucketAlreadyOwnedByYou", 409, "Your previous request to create the named bucket succeeded and you already own it.").With("BucketName", bucket);
    public static AwsException BucketAlreadyExists(string bucket)
        => new AwsException("BucketAlreadyExists", 409, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.").With("BucketName", bucket);
    public static AwsException BucketNotEmpty(string bucket)
        => new AwsException("BucketNotEmpty", 409, "The bucket you tried to delete is not empty").With("BucketName", bucket);
    public static AwsException InvalidArgument(string message, string? name = null, string? value = null)
        => new AwsException("InvalidArgument", 400, message).With("ArgumentName", name).With("ArgumentValue", value);
    public static AwsException InvalidRequest(string message) => new("InvalidRequest", 400, message);
    public static AwsException MalformedXml()
        => new("MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema");
    public static AwsException PreconditionFailed(string condition)
        => new AwsException("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold").With("Condition", condition);
    public static AwsException NotModified() => new("NotModified", 304, "Not Modified");
    public static AwsException InvalidRange(long size)
        => new AwsException("InvalidRange", 416, "The requested range is not satisfiable").With("RangeRequested", null).With("ActualObjectSize", size.ToString());
    public static AwsException KeyTooLong(int size)
        => new AwsException("KeyTooLongError", 400, "Your key is too long").With("Size", size.ToString()).With("MaxSizeAllowed", "1024");
    public static AwsException InvalidDigest() => new("InvalidDigest", 400, "The Content-MD5 you specified was invalid.");
    public static AwsException BadDigest(string expected, string calculated)
        => new AwsException("BadDigest", 400, "The Content-MD5 you specified did not match what we received.").With("ExpectedDigest", expected).With("CalculatedDigest", calculated);
    public static AwsException ChecksumMismatch(ChecksumAlgorithm algorithm)
        => new("BadDigest", 400, $"The {algorithm} you specified did not match the calculated checksum.");
    public static AwsException InvalidTag(string message) => new("InvalidTag", 400, message);
    public static AwsException NotImplemented()
        => new("NotImplemented", 501, "A header you provided implies functionality that is not implemented.", senderFault: false);
    public static AwsException MethodNotAllowed(string method, string resourceType)
        => new AwsException("MethodNotAllowed", 405, "The specified method is not allowed against this resource.").With("Method", method).With("ResourceType", resourceType);
}
