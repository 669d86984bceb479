using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Strata.Server.Services.S3;

namespace Strata.Server.Hosting;

/// <summary>
/// Fetches a model artifact (<c>s3://bucket/key.tar.gz</c>) from Strata's S3 and unpacks it into
/// a model directory, once per artifact version (its ETag). Every way it can be wrong becomes a
/// <see cref="HostingException"/> that names the problem: missing, not a gzip tar, no model.onnx.
/// </summary>
public sealed class ModelArtifacts(S3Store s3, string root)
{
    /// <param name="requireOnnx">The built-in container needs model.onnx; a container of your own
    /// gets whatever the archive holds.</param>
    public async Task<string> PrepareAsync(string account, string modelDataUrl, CancellationToken ct, bool requireOnnx = true)
    {
        if (!modelDataUrl.StartsWith("s3://", StringComparison.Ordinal) || modelDataUrl.Length < 6)
            throw new HostingException($"ModelDataUrl {modelDataUrl} is not an s3:// URL");
        var path = modelDataUrl[5..];
        var slash = path.IndexOf('/');
        if (slash <= 0 || slash == path.Length - 1) throw new HostingException($"ModelDataUrl {modelDataUrl} names no object");
        var (bucketName, key) = (path[..slash], path[(slash + 1)..]);
        var bucket = s3.GetBucket(bucketName);
        var record = bucket is null ? null : s3.GetObject(bucketName, key);
        if (bucket is null || record is null) throw new HostingException($"the model artifact {modelDataUrl} does not exist");
        if (bucket.OwnerAccountId != account) throw new HostingException($"access to the model artifact {modelDataUrl} was denied");

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
            await using (var body = s3.OpenRead(bucketName, key) ?? throw new HostingException($"the model artifact {modelDataUrl} does not exist"))
            {
                try
                {
                    await using var gzip = new GZipStream(body, CompressionMode.Decompress);
                    await TarFile.ExtractToDirectoryAsync(gzip, staging, overwriteFiles: true, ct);
                }
                catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
                {
                    throw new HostingException($"the model artifact {modelDataUrl} is not a gzip-compressed tar archive ({e.Message})");
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
