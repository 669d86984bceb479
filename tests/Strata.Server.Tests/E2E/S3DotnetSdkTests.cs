using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Transfer;

namespace Strata.Server.Tests.E2E;

/// <summary>S3 through the AWS SDK for .NET (AWSSDK.S3 v4): signed aws-chunked uploads over
/// HTTP, unsigned trailers over HTTPS, managed multipart transfers, presigned URLs.</summary>
public sealed class DotnetSdkTests(StrataFixture fixture) : IClassFixture<StrataFixture>
{
    StrataProcess Server => fixture.Server;

    AmazonS3Client Client(bool tls = false)
    {
        var config = new AmazonS3Config
        {
            ServiceURL = tls ? Server.TlsEndpoint : Server.Endpoint,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            MaxErrorRetry = 0,
        };
        if (tls) config.HttpClientFactory = new TrustingFactory(X509Certificate2.CreateFromPem(File.ReadAllText(Server.CertPath)));
        return new AmazonS3Client(new BasicAWSCredentials(StrataProcess.AccessKeyId, StrataProcess.SecretAccessKey), config);
    }

    /// <summary>Trusts exactly the server's self-signed certificate.</summary>
    sealed class TrustingFactory(X509Certificate2 trusted) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig)
            => new(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == trusted.Thumbprint });
    }

    static string NewBucket() => "dotnet-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task PutGetListDeleteOverHttp()
    {
        using var s3 = Client();
        var bucket = NewBucket();
        await s3.PutBucketAsync(bucket);
        var data = RandomNumberGenerator.GetBytes(200_000);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "dir/a.bin", InputStream = new MemoryStream(data), ContentType = "application/x-test" });
        using (var get = await s3.GetObjectAsync(bucket, "dir/a.bin"))
        {
            using var buffer = new MemoryStream();
            await get.ResponseStream.CopyToAsync(buffer);
            Assert.Equal(data, buffer.ToArray());
            Assert.Equal("application/x-test", get.Headers.ContentType);
        }
        var list = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = "dir/" });
        Assert.Equal(["dir/a.bin"], list.S3Objects.Select(o => o.Key));
        Assert.Equal(200_000, list.S3Objects[0].Size);
        await s3.DeleteObjectAsync(bucket, "dir/a.bin");
        var error = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.GetObjectAsync(bucket, "dir/a.bin"));
        Assert.Equal("NoSuchKey", error.ErrorCode);
        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task PutWithChecksumOverHttpsUsesTrailers()
    {
        using var s3 = Client(tls: true);
        var bucket = NewBucket();
        await s3.PutBucketAsync(bucket);
        var data = RandomNumberGenerator.GetBytes(1_000_000);
        var put = await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "t.bin", InputStream = new MemoryStream(data), ChecksumAlgorithm = ChecksumAlgorithm.CRC32C });
        Assert.False(string.IsNullOrEmpty(put.ChecksumCRC32C));
        using var get = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = "t.bin", ChecksumMode = ChecksumMode.ENABLED });
        using var buffer = new MemoryStream();
        await get.ResponseStream.CopyToAsync(buffer);
        Assert.Equal(data, buffer.ToArray());
        Assert.Equal(put.ChecksumCRC32C, get.ChecksumCRC32C);
    }

    [Fact]
    public async Task TransferUtilityMultipartRoundTrip()
    {
        using var s3 = Client();
        var bucket = NewBucket();
        await s3.PutBucketAsync(bucket);
        var data = RandomNumberGenerator.GetBytes(18 * 1024 * 1024 + 7);
        var transfer = new TransferUtility(s3, new TransferUtilityConfig { MinSizeBeforePartUpload = 5 * 1024 * 1024 });
        await transfer.UploadAsync(new TransferUtilityUploadRequest { BucketName = bucket, Key = "big.bin", InputStream = new MemoryStream(data), PartSize = 5 * 1024 * 1024 });
        var head = await s3.GetObjectMetadataAsync(bucket, "big.bin");
        Assert.Equal(data.Length, head.ContentLength);
        Assert.EndsWith("-4\"", head.ETag);
        using var get = await s3.GetObjectAsync(bucket, "big.bin");
        using var buffer = new MemoryStream();
        await get.ResponseStream.CopyToAsync(buffer);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(buffer.ToArray()));
    }

    [Fact]
    public async Task CopyDeleteObjectsAndPresignedUrl()
    {
        using var s3 = Client();
        var bucket = NewBucket();
        await s3.PutBucketAsync(bucket);
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "src", ContentBody = "copied by .NET" });
        await s3.CopyObjectAsync(bucket, "src", bucket, "dst");
        var url = await s3.GetPreSignedURLAsync(new GetPreSignedUrlRequest { BucketName = bucket, Key = "dst", Expires = DateTime.UtcNow.AddMinutes(5), Protocol = Amazon.S3.Protocol.HTTP });
        using var http = new HttpClient();
        Assert.Equal("copied by .NET", await http.GetStringAsync(url));
        var deleted = await s3.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = bucket, Objects = [new KeyVersion { Key = "src" }, new KeyVersion { Key = "dst" }] });
        Assert.Equal(2, deleted.DeletedObjects.Count);
        await s3.DeleteBucketAsync(bucket);
    }

    [Fact]
    public async Task ErrorsCarryAwsCodes()
    {
        using var s3 = Client();
        var missing = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = NewBucket() }));
        Assert.Equal("NoSuchBucket", missing.ErrorCode);
        using var forged = new AmazonS3Client(new BasicAWSCredentials(StrataProcess.AccessKeyId, "forged"), new AmazonS3Config { ServiceURL = Server.Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });
        var denied = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => forged.ListBucketsAsync());
        Assert.Equal("SignatureDoesNotMatch", denied.ErrorCode);
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
    }
}
