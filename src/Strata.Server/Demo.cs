using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Strata.Server.Hosting;
using Strata.Server.Identity;
using Strata.Server.Services.S3;
using Strata.Server.Services.SageMaker;

namespace Strata.Server;

/// <summary>
/// `strata serve --demo`: uploads the sample classifier to s3://strata-demo/classifier/model.tar.gz
/// and deploys endpoint <c>demo</c> with two variants (A 80 %, B 20 %), through the same stores
/// and hosting code the API uses. Idempotent: what already exists is kept.
/// </summary>
public static class Demo
{
    public const string Bucket = "strata-demo";
    public const string Key = "classifier/model.tar.gz";
    public const string Endpoint = "demo";

    public const string Role = "strata-demo-sagemaker";

    public static async Task DeployAsync(string account, string region, S3Store s3, SageMakerStore sageMaker, IamStore iam, HostingService hosting, EndpointHosting endpoints,
        TimeProvider clock, TextWriter console)
    {
        var now = clock.GetUtcNow();
        // The execution role SageMaker assumes to read the artifact: trusted by SageMaker, and
        // allowed to read the demo bucket and nothing else.
        var role = iam.EnsureRole(account, Role,
            """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}""",
            "read-demo-artifacts",
            $$"""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{{Bucket}}/*"}]}""", now);
        if (s3.GetBucket(Bucket) is null)
        {
            try { s3.CreateBucket(new BucketRecord(Bucket, account, region, now)); }
            catch (Protocol.AwsException) { } // created meanwhile
        }
        if (s3.GetObject(Bucket, Key) is null)
        {
            var artifact = Artifact();
            await using var writer = s3.Blobs.CreateWriter();
            await writer.Stream.WriteAsync(artifact);
            var blob = await writer.CommitAsync();
            s3.PutObject(Bucket, new ObjectRecord
            {
                Key = Key,
                Size = artifact.Length,
                ETag = $"\"{Convert.ToHexStringLower(MD5.HashData(artifact))}\"",
                LastModified = now,
                Segments = [new Segment(blob, artifact.Length)],
                Headers = new() { ["Content-Type"] = "application/gzip" },
                OwnerAccountId = account,
            });
        }
        var arn = (string type, string name) => $"arn:aws:sagemaker:{region}:{account}:{type}/{name}";
        sageMaker.CreateModel(account, new ModelRow
        {
            ModelName = "demo-classifier",
            ModelArn = arn("model", "demo-classifier"),
            PrimaryContainer = new ContainerRow { Image = "strata-onnx:latest", ModelDataUrl = $"s3://{Bucket}/{Key}" },
            ExecutionRoleArn = role.Arn,
            CreationTime = now,
        });
        sageMaker.CreateEndpointConfig(account, new EndpointConfigRow
        {
            EndpointConfigName = "demo-config",
            EndpointConfigArn = arn("endpoint-config", "demo-config"),
            ProductionVariants =
            [
                new VariantRow { VariantName = "A", ModelName = "demo-classifier", InitialInstanceCount = 1, InstanceType = "ml.m5.large", InitialVariantWeight = 0.8f },
                new VariantRow { VariantName = "B", ModelName = "demo-classifier", InitialInstanceCount = 1, InstanceType = "ml.m5.large", InitialVariantWeight = 0.2f },
            ],
            CreationTime = now,
        });
        var created = sageMaker.CreateEndpoint(account, new EndpointRow
        {
            EndpointName = Endpoint,
            EndpointArn = arn("endpoint", Endpoint),
            EndpointConfigName = "demo-config",
            EndpointStatus = "Creating",
            CreationTime = now,
            LastModifiedTime = now,
        });
        if (created) await hosting.DeployAsync(account, Endpoint, () => endpoints.PlanOf(account, Endpoint));
        else if (hosting.Find(account, Endpoint) is null) await WaitForRestoreAsync(account, hosting);
        var status = sageMaker.GetEndpoint(account, Endpoint);
        console.WriteLine($"demo: endpoint {Endpoint} is {status?.EndpointStatus}{(status?.FailureReason is { } reason ? ": " + reason : "")} (variants A 80%, B 20%); try:");
        // fileb:// reads the bytes in both CLI generations (v2 would take an inline --body for base64).
        console.WriteLine($"  printf '5.1,3.5,1.4,0.2' > flower.csv");
        console.WriteLine($"  aws sagemaker-runtime invoke-endpoint --endpoint-name {Endpoint} --content-type text/csv --body fileb://flower.csv out.json && cat out.json");
        console.Flush();
    }

    static async Task WaitForRestoreAsync(string account, HostingService hosting)
    {
        for (var i = 0; i < 300 && hosting.Find(account, Endpoint) is null; i++) await Task.Delay(100);
    }

    static byte[] Artifact()
    {
        using var model = typeof(Demo).Assembly.GetManifestResourceStream("demo/model.onnx")!;
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "model.onnx") { DataStream = model });
        }
        return buffer.ToArray();
    }
}
