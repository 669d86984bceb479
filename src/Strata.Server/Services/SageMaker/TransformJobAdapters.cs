using System.Security.Cryptography;
using Strata.Server.Auth;
using Strata.Server.Hosting;
using Strata.Server.Jobs.Transform;
using Strata.Server.Protocol;
using Strata.Server.Services.S3;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>SageMaker's transform jobs as the runner sees them: its stored records mapped to
/// <see cref="TransformJob"/>, and the runner's state changes written back into them.</summary>
public sealed class TransformJobs(TransformJobStore jobs, SageMakerStore models) : ITransformJobs
{
    public IEnumerable<(string Account, TransformJob Job)> All() => jobs.All().Select(e => (e.Account, Map(e.Job)));

    public TransformJob? Get(string account, string name) => jobs.Get(account, name) is { } job ? Map(job) : null;

    public TransformJob? Update(string account, string name, Func<TransformJobState, TransformJobState> change)
        => jobs.Update(account, name, j => Apply(j, change(StateOf(j)))) is { } job ? Map(job) : null;

    public ModelPlan Model(string account, string modelName)
    {
        var model = models.GetModel(account, modelName) ?? throw new TransformException($"the model {modelName} does not exist");
        var container = model.PrimaryContainer ?? model.Containers?.FirstOrDefault() ?? throw new TransformException($"the model {model.ModelName} has no container");
        return new ModelPlan
        {
            ModelName = model.ModelName,
            Image = container.Image ?? "",
            ModelDataUrl = container.ModelDataUrl,
            Environment = container.Environment ?? [],
            EnableNetworkIsolation = model.EnableNetworkIsolation,
            ExecutionRoleArn = model.ExecutionRoleArn,
        };
    }

    static TransformJobState StateOf(TransformJobRow j)
        => new(j.TransformJobStatus, j.FailureReason, j.TransformStartTime, j.TransformEndTime, j.LastModifiedTime, j.StrataProgress);

    static TransformJobRow Apply(TransformJobRow j, TransformJobState s) => j with
    {
        TransformJobStatus = s.Status,
        FailureReason = s.FailureReason,
        TransformStartTime = s.StartTime,
        TransformEndTime = s.EndTime,
        LastModifiedTime = s.LastModifiedTime,
        StrataProgress = s.Progress,
    };

    static TransformJob Map(TransformJobRow j) => new()
    {
        Name = j.TransformJobName,
        ModelName = j.ModelName,
        MaxConcurrentTransforms = j.MaxConcurrentTransforms,
        MaxPayloadInMB = j.MaxPayloadInMB,
        BatchStrategy = j.BatchStrategy,
        Environment = j.Environment,
        InputDataType = j.TransformInput.DataSource!.S3DataSource!.S3DataType!,
        InputUri = j.TransformInput.DataSource.S3DataSource.S3Uri!,
        ContentType = j.TransformInput.ContentType,
        CompressionType = j.TransformInput.CompressionType,
        SplitType = j.TransformInput.SplitType,
        OutputPath = j.TransformOutput.S3OutputPath!,
        Accept = j.TransformOutput.Accept,
        AssembleWith = j.TransformOutput.AssembleWith,
        OutputKmsKeyId = j.TransformOutput.KmsKeyId,
        InstanceType = j.TransformResources.InstanceType,
        InstanceCount = j.TransformResources.InstanceCount,
        InputFilter = j.DataProcessing?.InputFilter,
        OutputFilter = j.DataProcessing?.OutputFilter,
        JoinSource = j.DataProcessing?.JoinSource,
        State = StateOf(j),
    };
}

/// <summary>Strata's S3 as a transform job reads and writes it: as the model's execution role
/// (assumed by SageMaker), every access authorized, objects encrypted and decrypted as S3 would.</summary>
public sealed class TransformStorage(S3Store s3, ServerSideEncryption sse, ExecutionRoles roles, TimeProvider clock, string region) : ITransformStorage
{
    public RoleAuthorizer AssumeRole(string roleArn)
    {
        Principal session;
        try { session = roles.Assume(roleArn, ExecutionRoles.SageMaker); }
        catch (ExecutionRoleException e) { throw new TransformException(e.Message); }
        return (action, resource, what) =>
        {
            try { roles.Require(session, action, resource, $"s3.{region}.amazonaws.com", what); }
            catch (ExecutionRoleException e) { throw new TransformException(e.Message); }
        };
    }

    public bool BucketExists(string bucket) => s3.GetBucket(bucket) is not null;

    public IReadOnlyList<(string Key, long Size)> List(string bucket, string prefix, string? startAfter, int max)
        => s3.ScanObjects(bucket, prefix, startAfter, max, skipStartAfterPrefix: false).Select(o => (o.Key, S3Store.ParseObject(o.Value).Size)).ToList();

    public Stream? OpenRead(string bucket, string key, Action<string, string> authorize)
        => s3.GetObject(bucket, key) is { } record ? s3.OpenRead(record, sse.DataKeyForService(record.Encryption, authorize)) : null;

    public async Task PutAsync(string bucketName, string key, Stream content, string contentType, string? kmsKeyId, Action<string, string> authorize, CancellationToken ct)
    {
        var bucket = s3.GetBucket(bucketName) ?? throw new TransformException($"the output bucket {bucketName} does not exist");
        var encryption = sse.ForServiceObject(bucket, key, kmsKeyId, bucket.OwnerAccountId, authorize);
        var length = content.Length - content.Position;
        await using var writer = s3.Blobs.CreateWriter();
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var sealing = encryption is null ? null : SegmentCipher.Encrypt(writer.Stream, encryption.Value.DataKey, writer.Id);
        var destination = sealing ?? writer.Stream;
        var buffer = new byte[256 * 1024];
        int n;
        while ((n = await content.ReadAsync(buffer, ct)) > 0)
        {
            md5.AppendData(buffer, 0, n);
            await destination.WriteAsync(buffer.AsMemory(0, n), ct);
        }
        if (sealing is not null)
        {
            await sealing.FinishAsync(ct);
            await sealing.DisposeAsync();
        }
        var blob = await writer.CommitAsync();
        s3.PutObject(bucketName, new ObjectRecord
        {
            Key = key,
            Size = length,
            ETag = $"\"{Convert.ToHexStringLower(md5.GetHashAndReset())}\"",
            LastModified = clock.GetUtcNow(),
            Segments = [new Segment(blob, length)],
            Headers = new() { ["Content-Type"] = contentType },
            OwnerAccountId = bucket.OwnerAccountId,
            Encryption = encryption?.Meta,
        });
    }
}
