namespace Strata.Server.Services.CloudTrail;

/// <summary>
/// What CloudTrail needs of S3 and KMS, as the composition root adapts them: whether a bucket
/// exists, whether its policy lets the <c>cloudtrail.amazonaws.com</c> service principal do an
/// action, and putting a file there (as CloudTrail, encrypted with the trail's key).
/// </summary>
public interface ITrailBuckets
{
    public const string ServicePrincipal = "cloudtrail.amazonaws.com";

    bool Exists(string bucket);

    /// <summary>Whether the bucket's policy allows the CloudTrail service principal
    /// <paramref name="action"/> on <paramref name="resource"/>, for the trail
    /// <paramref name="sourceArn"/> of <paramref name="sourceAccount"/> (aws:SourceArn,
    /// aws:SourceAccount, and s3:x-amz-acl bucket-owner-full-control, which CloudTrail sends).</summary>
    bool Allows(string bucket, string action, string resource, string sourceArn, string sourceAccount);

    /// <summary>The ARN of the KMS key <paramref name="keyId"/> (id, ARN, alias) of the account, or null.</summary>
    string? KmsKeyArn(string account, string keyId);

    /// <summary>Puts an object as CloudTrail does (authorized by the bucket's policy). Null when it
    /// was put, else the error code GetTrailStatus reports (<c>NoSuchBucket</c>, <c>AccessDenied</c>, …).</summary>
    string? Put(string bucket, string key, byte[] body, string contentType, IReadOnlyDictionary<string, string> metadata, string? kmsKeyId,
        string sourceArn, string sourceAccount);
}
