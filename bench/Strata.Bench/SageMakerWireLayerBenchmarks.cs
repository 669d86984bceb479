using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Strata.Server.Hosting;
using Strata.Server.Protocol;
using Strata.Server.Services.SageMaker;
using Legacy = Strata.Bench.Legacy;

/// <summary>
/// The per-request wire cost of SageMaker's DescribeEndpoint: reading the request and writing a
/// response with two variants (deployed images, live instances, a serverless meter). The
/// hand-written row is the path SageMaker had before it moved onto the generated layer: the body
/// parsed into a JsonDocument (as the pipeline did for every JSON operation), the hand-written
/// input record read from it, and the stored record, which doubled as the response, written
/// through the hand-written context (copied unchanged in LegacySageMakerShapes.cs). The generated
/// row reads the generated input straight from the bytes, checks it against the model, and writes
/// the generated response. Mapping a stored row to the response is not measured on either side.
/// </summary>
[MemoryDiagnoser]
public class SageMakerWireLayerBenchmarks
{
    readonly byte[] _request = """{"EndpointName":"my-endpoint"}"""u8.ToArray();
    readonly Legacy.EndpointRecord _legacy;
    readonly DescribeEndpointOutput _generated;

    public SageMakerWireLayerBenchmarks()
    {
        var created = DateTimeOffset.FromUnixTimeMilliseconds(1764530000123);
        const string Arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/my-endpoint";
        const string Image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/strata-onnx:1";
        string[] variants = ["main", "canary"];
        _legacy = new Legacy.EndpointRecord
        {
            EndpointName = "my-endpoint",
            EndpointArn = Arn,
            EndpointConfigName = "my-config",
            EndpointStatus = "InService",
            CreationTime = created,
            LastModifiedTime = created.AddSeconds(1),
            ProductionVariants = variants.Select(v => new Legacy.ProductionVariantSummary
            {
                VariantName = v,
                DeployedImages = [new Legacy.DeployedImage(Image, Image, created)],
                CurrentWeight = 0.5f,
                DesiredWeight = 0.5f,
                CurrentInstanceCount = 2,
                DesiredInstanceCount = 2,
                StrataUsage = new ServerlessUsage(1234, 56.789, 2),
                StrataInstances = [new Legacy.InstanceSummary($"{v}-1", "us-east-1a"), new Legacy.InstanceSummary($"{v}-2", "us-east-1b")],
            }).ToList(),
        };
        _generated = new DescribeEndpointOutput
        {
            EndpointName = "my-endpoint",
            EndpointArn = Arn,
            EndpointConfigName = "my-config",
            EndpointStatus = "InService",
            CreationTime = created,
            LastModifiedTime = created.AddSeconds(1),
            ProductionVariants = variants.Select(v => new Strata.Server.Services.SageMaker.ProductionVariantSummary
            {
                VariantName = v,
                DeployedImages = [new Strata.Server.Services.SageMaker.DeployedImage { SpecifiedImage = Image, ResolvedImage = Image, ResolutionTime = created }],
                CurrentWeight = 0.5f,
                DesiredWeight = 0.5f,
                CurrentInstanceCount = 2,
                DesiredInstanceCount = 2,
                StrataUsage = new ServerlessUsage(1234, 56.789, 2),
                StrataInstances = [new Strata.Server.Services.SageMaker.InstanceSummary($"{v}-1", "us-east-1a"), new Strata.Server.Services.SageMaker.InstanceSummary($"{v}-2", "us-east-1b")],
            }).ToList(),
        };
        // Both paths must write the same document (members in any order), or the comparison means nothing.
        var old = JsonNode.Parse(JsonSerializer.SerializeToUtf8Bytes(_legacy, Legacy.LegacySageMakerJson.Default.EndpointRecord));
        var now = JsonNode.Parse(JsonSerializer.SerializeToUtf8Bytes(_generated, SageMakerJson.Default.DescribeEndpointOutput));
        if (!JsonNode.DeepEquals(old, now)) throw new InvalidOperationException($"the responses differ:\n{old}\n{now}");
    }

    [Benchmark(Baseline = true, Description = "SageMaker DescribeEndpoint, hand-written (JsonDocument + hand-written records and context)")]
    public int HandWritten()
    {
        JsonElement input;
        using (var doc = JsonDocument.Parse(_request)) input = doc.RootElement.Clone();
        var request = input.Deserialize(Legacy.LegacySageMakerJson.Default.NameInput) ?? throw new InvalidOperationException();
        var name = request.EndpointName ?? throw new InvalidOperationException();
        var body = JsonSerializer.SerializeToUtf8Bytes(_legacy, Legacy.LegacySageMakerJson.Default.EndpointRecord);
        return body.Length + name.Length;
    }

    [Benchmark(Description = "SageMaker DescribeEndpoint, generated (source-generated records + model validation)")]
    public int Generated()
    {
        var request = JsonSerializer.Deserialize(_request, SageMakerJson.Default.DescribeEndpointInput)!;
        var validator = new Validator();
        request.Validate(validator);
        validator.ThrowIfInvalid("ValidationException");
        var body = JsonSerializer.SerializeToUtf8Bytes(_generated, SageMakerJson.Default.DescribeEndpointOutput);
        return body.Length + request.EndpointName!.Length;
    }
    [Benchmark(Description = "  request only, hand-written (JsonDocument, then the record)")]
    public int HandWrittenRequest()
    {
        JsonElement input;
        using (var doc = JsonDocument.Parse(_request)) input = doc.RootElement.Clone();
        return input.Deserialize(Legacy.LegacySageMakerJson.Default.NameInput)!.EndpointName!.Length;
    }

    [Benchmark(Description = "  request only, generated (record from the bytes, validated)")]
    public int GeneratedRequest()
    {
        var request = JsonSerializer.Deserialize(_request, SageMakerJson.Default.DescribeEndpointInput)!;
        var validator = new Validator();
        request.Validate(validator);
        validator.ThrowIfInvalid("ValidationException");
        return request.EndpointName!.Length;
    }

    [Benchmark(Description = "  response only, hand-written")]
    public int HandWrittenResponse() => JsonSerializer.SerializeToUtf8Bytes(_legacy, Legacy.LegacySageMakerJson.Default.EndpointRecord).Length;

    [Benchmark(Description = "  response only, generated")]
    public int GeneratedResponse() => JsonSerializer.SerializeToUtf8Bytes(_generated, SageMakerJson.Default.DescribeEndpointOutput).Length;
}
