using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Strata.Server.Tests.E2E;

/// <summary>`strata serve` options beyond the defaults: your own certificate, another region.</summary>
public sealed class ServeOptionsTests
{
    [Fact]
    public async Task OwnCertificateIsServed()
    {
        var dir = Directory.CreateTempSubdirectory("strata-cert-").FullName;
        try
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=my-strata.example", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            var certPath = Path.Combine(dir, "mine.pem");
            var keyPath = Path.Combine(dir, "mine.key");
            await File.WriteAllTextAsync(certPath, cert.ExportCertificatePem());
            await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());

            await using var server = await StrataProcess.StartAsync(null, true, "--tls-cert", certPath, "--tls-key", keyPath);
            X509Certificate2? seen = null;
            using var http = new HttpClient(new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, c, _, _) => { seen = c is null ? null : X509CertificateLoader.LoadCertificate(c.RawData); return true; },
            });
            var health = await http.GetStringAsync($"{server.TlsEndpoint}/_strata/health");
            Assert.Contains("\"ok\"", health);
            Assert.Equal(cert.Thumbprint, seen?.Thumbprint);
            Assert.False(File.Exists(Path.Combine(server.DataDir, "tls", "cert.pem")), "no self-signed certificate is made when one is given");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task AnotherRegion()
    {
        await using var server = await StrataProcess.StartAsync(null, true, "--region", "eu-west-1");
        AmazonS3Client Client(string region) => new(new BasicAWSCredentials(StrataProcess.AccessKeyId, StrataProcess.SecretAccessKey),
            new AmazonS3Config { ServiceURL = server.Endpoint, ForcePathStyle = true, AuthenticationRegion = region, MaxErrorRetry = 0 });
        using var s3 = Client("eu-west-1");
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = "eu-bucket", BucketRegion = new S3Region("eu-west-1") });
        var location = await s3.GetBucketLocationAsync("eu-bucket");
        Assert.Equal("eu-west-1", location.Location.Value);
        using var wrongScope = Client("us-east-1");
        var error = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => wrongScope.ListBucketsAsync());
        Assert.Equal("AuthorizationHeaderMalformed", error.ErrorCode);
    }

    /// <summary><c>--s3-lifecycle-seconds</c>: lifecycle passes run that often. A rule whose
    /// expiration date has passed expires an object at the next pass; at the default hour the
    /// object would outlive this test's wait.</summary>
    [Fact]
    public async Task LifecyclePassesRunAsOftenAsAsked()
    {
        await using var server = await StrataProcess.StartAsync(null, true, "--s3-lifecycle-seconds", "1");
        using var s3 = new AmazonS3Client(new BasicAWSCredentials(StrataProcess.AccessKeyId, StrataProcess.SecretAccessKey),
            new AmazonS3Config { ServiceURL = server.Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });
        await s3.PutBucketAsync("expiring");
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "expiring", Key = "old", ContentBody = "x" });
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = "expiring", Key = "keep/me", ContentBody = "x" });
        var yesterday = DateTime.UtcNow.Date.AddDays(-1);
        await s3.PutLifecycleConfigurationAsync(new PutLifecycleConfigurationRequest
        {
            BucketName = "expiring",
            Configuration = new LifecycleConfiguration
            {
                Rules =
                [
                    new LifecycleRule
                    {
                        Id = "past",
                        Status = LifecycleRuleStatus.Enabled,
                        Filter = new LifecycleFilter { LifecycleFilterPredicate = new LifecyclePrefixPredicate { Prefix = "old" } },
                        Expiration = new LifecycleRuleExpiration { Date = yesterday },
                    },
                ],
            },
        });
        for (var i = 0; i < 600; i++)
        {
            var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "expiring" });
            if (listed.S3Objects?.Any(o => o.Key == "old") != true)
            {
                Assert.Equal(["keep/me"], listed.S3Objects!.Select(o => o.Key));
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail("the object past its rule's date was not expired by a pass within a minute");
    }
}
