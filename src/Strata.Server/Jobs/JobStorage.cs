namespace Strata.Server.Jobs;

// What every SageMaker job (transform, training, processing) needs from the object store: to act
// as the job's role, list, read and write S3 objects. The service implements it over S3.

/// <summary>A job cannot go on; the message is the job's FailureReason.</summary>
public class JobException(string message) : Exception(message);

/// <summary>Checks that the job's role may perform an action on a resource; throws
/// <see cref="JobException"/> naming the role, both, and <paramref name="what"/> when it may not.</summary>
public delegate void RoleAuthorizer(string action, string resource, string what);

/// <summary>The object store a job reads its input from and writes its output to, as the job's role.</summary>
public interface IJobStorage
{
    /// <summary>Acts as <paramref name="roleArn"/> from now on; throws <see cref="JobException"/>
    /// when the role cannot be assumed.</summary>
    RoleAuthorizer AssumeRole(string roleArn);

    bool BucketExists(string bucket);

    /// <summary>Up to <paramref name="max"/> objects under <paramref name="prefix"/>, in key order, after <paramref name="startAfter"/>.</summary>
    IReadOnlyList<(string Key, long Size)> List(string bucket, string prefix, string? startAfter, int max);

    /// <summary>Opens an object to read, decrypting it as the role (<paramref name="authorize"/>
    /// is asked for what that needs); null when it does not exist.</summary>
    Stream? OpenRead(string bucket, string key, Action<string, string> authorize);

    /// <summary>Writes an object whole, in one atomic put, encrypted as the bucket (or
    /// <paramref name="kmsKeyId"/>) says; throws <see cref="JobException"/> when the bucket does not exist.</summary>
    Task PutAsync(string bucket, string key, Stream content, string contentType, string? kmsKeyId, Action<string, string> authorize, CancellationToken ct);
}

