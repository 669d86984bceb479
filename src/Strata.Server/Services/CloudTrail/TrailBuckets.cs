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

    /// <summary>Whether the key is enabled and its key policy lets the CloudTrail service principal
    /// generate data keys for the trail <paramref name="sourceArn"/> (encryption context
    /// <c>aws:cloudtrail:arn</c>, aws:SourceArn, aws:SourceAccount).</summary>
    bool KeyAllows(string keyArn, string sourceArn, string sourceAccount);

    /// <summary>Puts an object as CloudTrail does (authorized by the bucket's policy). Null when it
    /// was put, else the error code GetTrailStatus reports (<c>NoSuchBucket</c>, <c>AccessDenied</c>, …).</summary>
    string? Put(string bucket, string key, byte[] body, string contentType, IReadOnlyDictionary<string, string> metadata, string? kmsKeyId,
        string sourceArn, string sourceAccount);
}

/// <summary>
/// What CloudTrail needs of CloudWatch Logs, as the composition root adapts it: delivering a
/// trail's records to its log group as the role the trail names (assumed by
/// <c>cloudtrail.amazonaws.com</c>), into the stream <c>&lt;account&gt;_CloudTrail_&lt;region&gt;</c>.
/// </summary>
public interface ITrailLogGroups
{
    /// <summary>The check AWS makes when a trail is given a log group: the role trusts CloudTrail
    /// (else InvalidCloudWatchLogsRoleArnException) and may create the trail's stream and put
    /// events in the group, which exists (else InvalidCloudWatchLogsLogGroupArnException). The
    /// stream is created.</summary>
    void Check(string account, string logGroupArn, string roleArn);

    /// <summary>Puts events (timestamp in ms, message) into the trail's stream as the role. Null
    /// when delivered, else what GetTrailStatus reports as LatestCloudWatchLogsDeliveryError.</summary>
    string? Put(string account, string logGroupArn, string roleArn, IReadOnlyList<(long Timestamp, string Message)> events);
}
