using Strata.Server.Hosting;
using Strata.Server.Jobs;
using Strata.Server.Protocol;

namespace Strata.Server.Services.SageMaker;

/// <summary>Data capture's files, written to S3 as the variant's execution role (assumed by
/// SageMaker, every write authorized: s3:PutObject, and the KMS permissions a KmsKeyId needs), as
/// SageMaker writes them; the same path as its jobs' outputs (<see cref="IJobStorage"/>).</summary>
public sealed class S3CaptureStore(IJobStorage storage) : ICaptureStore
{
    public async Task PutAsync(string? roleArn, string bucket, string key, ReadOnlyMemory<byte> content, string? kmsKeyId, CancellationToken ct)
    {
        if (roleArn is null) throw new CaptureWriteException("the model has no ExecutionRoleArn to write captured data as");
        const string what = "Writing captured data";
        try
        {
            var authorize = storage.AssumeRole(roleArn);
            authorize("s3:PutObject", $"arn:aws:s3:::{bucket}/{key}", what);
            using var stream = new MemoryStream(content.ToArray(), writable: false);
            await storage.PutAsync(bucket, key, stream, "application/octet-stream", kmsKeyId, (action, resource) => authorize(action, resource, what), ct);
        }
        catch (Exception e) when (e is JobException or AwsException)
        {
            // The role may not write there, the bucket is gone, the KMS key is missing or disabled.
            throw new CaptureWriteException(e.Message);
        }
    }
}
