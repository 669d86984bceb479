using System.Text.Json.Serialization;
using Strata.Server.Hosting;
using Strata.Server.Protocol;

namespace Strata.Bench.Legacy;

// SageMaker's DescribeEndpoint request and response as they were before SageMaker moved onto the
// generated wire layer: hand-written records (the stored row doubled as the response) and their
// hand-written System.Text.Json context, copied here unchanged as the benchmark's baseline.

public sealed record NameInput(string? ModelName, string? EndpointConfigName, string? EndpointName);

public sealed record ServerlessConfig(int? MemorySizeInMB, int? MaxConcurrency, int? ProvisionedConcurrency);

public sealed record DeployedImage(string SpecifiedImage, string ResolvedImage, [property: JsonConverter(typeof(EpochSecondsConverter))] DateTimeOffset ResolutionTime);

public sealed record ProductionVariantSummary
{
    public required string VariantName { get; init; }
    public List<DeployedImage>? DeployedImages { get; init; }
    public float CurrentWeight { get; init; }
    public float DesiredWeight { get; init; }
    public int CurrentInstanceCount { get; init; }
    public int DesiredInstanceCount { get; init; }
    public ServerlessConfig? CurrentServerlessConfig { get; init; }
    public ServerlessConfig? DesiredServerlessConfig { get; init; }
    public ServerlessUsage? StrataUsage { get; init; }
    public List<InstanceSummary>? StrataInstances { get; init; }
}

public sealed record InstanceSummary(string InstanceId, string? AvailabilityZone);

public sealed record EndpointRecord
{
    public required string EndpointName { get; init; }
    public required string EndpointArn { get; init; }
    public required string EndpointConfigName { get; init; }
    public List<ProductionVariantSummary>? ProductionVariants { get; init; }
    public required string EndpointStatus { get; init; }
    public string? FailureReason { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public required DateTimeOffset CreationTime { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public required DateTimeOffset LastModifiedTime { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(NameInput))]
[JsonSerializable(typeof(EndpointRecord))]
internal sealed partial class LegacySageMakerJson : JsonSerializerContext;
