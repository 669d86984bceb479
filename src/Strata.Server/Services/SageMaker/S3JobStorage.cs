using System.Security.Cryptography;
using Strata.Server.Auth;
using Strata.Server.Hosting;
using Strata.Server.Jobs;
using Strata.Server.Jobs.Transform;
using Strata.Server.Protocol;
using Strata.Server.Services.S3;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>Strata's S3 as SageMaker's jobs read and write it: as the job's execution role
/// (assumed by SageMaker), every access authorized, objects encrypted and decrypted as S3 would.</summary>
public sealed class S3JobStorage(S3Store s3, ServerSideEncryption sse, ExecutionRoles roles, TimeProvider clock, string region) : IJobStorage
{
    public RoleAuthorizer AssumeRole(string roleArn)
    {
        Principal session;
        try { session = roles.Assume(roleArn, ExecutionRoles.SageMaker); }
        catch (ExecutionRoleException e) { throw new JobException(e.Message); }
        return (action, resource, what) =>
        {
            try { roles.Require(session, action, resource, $"s3.{region}.amazonaws.com", what); }
            catch (ExecutionRoleException e) { throw new JobException(e.Message); }
        };
    }

    public bool BucketExists(string bucket) => s3.GetBucket(bucket) is not null;

    public IReadOnlyList<(string Key, long Size)> List(string bucket, string prefix, string? startAfter, int max)
        => s3.ScanObjects(bucket, prefix, startAfter, max, skipStartAfterPrefix: false).Select(o => (o.Key, S3Store.ParseObject(o.Value).Size)).ToList();

    public Stream? OpenRead(string bucket, string key, Action<string, string> authorize)
        => s3.GetObject(bucket, key) is { } record ? s3.OpenRead(record, sse.DataKeyForService(record.Encryption, authorize)) : null;

    public async Task PutAsync(string bucketName, string key, Stream content, string contentType, string? kmsKeyId, Action<string, string> authorize, CancellationToken ct)
    {
        var bucket = s3.GetBucket(bucketName) ?? throw new JobException($"the output bucket {bucketName} does not exist");
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
