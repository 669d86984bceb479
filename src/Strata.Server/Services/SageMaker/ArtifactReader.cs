using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Strata.Server.Auth;
using Strata.Server.Hosting;
using Strata.Server.Services.S3;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>
/// Fetches a model artifact (<c>s3://bucket/key.tar.gz</c>) from Strata's S3 and unpacks it into
/// a model directory, once per artifact version (its ETag), reading as the model's execution role
/// (assumed by SageMaker). Every way it can be wrong becomes a <see cref="HostingException"/> that
/// names the problem: missing, not a gzip tar, no model.onnx, not allowed.
/// </summary>
public sealed class ArtifactReader(S3Store s3, ServerSideEncryption sse, ExecutionRoles roles, string region, string root) : IArtifactReader
{
    public async Task<string> PrepareAsync(ModelPlan model, string modelDataUrl, bool requireOnnx, CancellationToken ct)
    {
        var role = model.ExecutionRoleArn ?? throw new HostingException($"the model {model.ModelName} has no ExecutionRoleArn");
        try
        {
            var session = roles.Assume(role, ExecutionRoles.SageMaker);
            return await PrepareAsync(modelDataUrl,
                (action, resource) => roles.Require(session, action, resource, $"s3.{region}.amazonaws.com", $"Could not access model data at {modelDataUrl}"), ct, requireOnnx);
        }
        catch (ExecutionRoleException e)
        {
            throw new ArtifactAccessException(e.Message);
        }
    }

    /// <param name="requireOnnx">The built-in container needs model.onnx; a container of your own
    /// gets whatever the archive holds.</param>
    /// <param name="authorize">Checks that the execution role may perform an action on a resource
    /// (throws, naming both, when it may not): reading is done as the role, never as root.</param>
    async Task<string> PrepareAsync(string modelDataUrl, Action<string, string> authorize, CancellationToken ct, bool requireOnnx = true)
    {
        if (!modelDataUrl.StartsWith("s3://", StringComparison.Ordinal) || modelDataUrl.Length < 6)
            throw new HostingException($"ModelDataUrl {modelDataUrl} is not an s3:// URL");
        var path = modelDataUrl[5..];
        var slash = path.IndexOf('/');
        if (slash <= 0 || slash == path.Length - 1) throw new HostingException($"ModelDataUrl {modelDataUrl} names no object");
        var (bucketName, key) = (path[..slash], path[(slash + 1)..]);
        // As in S3: the permission is checked before whether the object exists is revealed.
        authorize("s3:GetObject", $"arn:aws:s3:::{bucketName}/{key}");
        var bucket = s3.GetBucket(bucketName);
        var record = bucket is null ? null : s3.GetObject(bucketName, key);
        if (bucket is null || record is null) throw new ArtifactNotFoundException($"the model artifact {modelDataUrl} does not exist");

        // An encrypted artifact is decrypted as the role: SSE-KMS needs kms:Decrypt on its key,
        // checked every time, even when an earlier deployment already unpacked it.
        if (record.Encryption?.Algorithm == ObjectEncryption.SseC)
            throw new HostingException($"the model artifact {modelDataUrl} is encrypted with a customer-provided key (SSE-C), which SageMaker cannot read");
        byte[]? dataKey;
        try { dataKey = sse.DataKeyForService(record.Encryption, authorize); }
        catch (Protocol.AwsException e)
        {
            // A key that does not exist leaves the artifact as unreadable as a missing object.
            var message = $"Could not access model data at {modelDataUrl}: {e.Code}: {e.Message}";
            throw e.Code.EndsWith("NotFoundException", StringComparison.Ordinal) ? new ArtifactNotFoundException(message) : new HostingException(message);
        }

        var id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{modelDataUrl}\n{record.ETag}")))[..24];
        var dir = Path.Combine(root, id);
        if (Directory.Exists(dir))
        {
            if (requireOnnx && !File.Exists(Path.Combine(dir, "model.onnx")))
                throw new HostingException($"the model artifact {modelDataUrl} has no model.onnx at its root");
            return dir;
        }
        var staging = dir + ".staging-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(staging);
        try
        {
            await using (var body = s3.OpenRead(record, dataKey))
            {
                try
                {
                    await TarGzArchive.ReadAsync(body, $"the model artifact {modelDataUrl}", record.Size, "model.tar.gz",
                        (tar, token) => TarFile.ExtractToDirectoryAsync(tar, staging, overwriteFiles: true, token), ct);
                }
                catch (InvalidArchiveException e)
                {
                    throw new HostingException(e.Message);
                }
            }
            if (requireOnnx && !File.Exists(Path.Combine(staging, "model.onnx")))
                throw new HostingException($"the model artifact {modelDataUrl} has no model.onnx at its root");
            Directory.Move(staging, dir);
            return dir;
        }
        catch
        {
            try { Directory.Delete(staging, recursive: true); } catch (IOException) { }
            throw;
        }
    }
}
