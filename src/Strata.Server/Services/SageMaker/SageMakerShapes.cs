using System.Text.Json.Serialization;
using Strata.Server.Hosting;
using Strata.Server.Protocol;

namespace Strata.Server.Services.SageMaker;

// Request and response shapes of the SageMaker API (botocore's sagemaker service model),
// named as the model names them so JSON maps one to one.

public sealed record Tag(string Key, string Value);

public sealed record ContainerDefinition
{
    public string? ContainerHostname { get; init; }
    public string? Image { get; init; }
    public string? Mode { get; init; }
    public string? ModelDataUrl { get; init; }
    public Dictionary<string, string>? Environment { get; init; }
}

public sealed record CreateModelInput(string? ModelName, ContainerDefinition? PrimaryContainer, List<ContainerDefinition>? Containers,
    string? ExecutionRoleArn, List<Tag>? Tags, bool? EnableNetworkIsolation);
public sealed record CreateModelOutput(string ModelArn);
public sealed record NameInput(string? ModelName, string? EndpointConfigName, string? EndpointName);

public sealed record ModelRecord
{
    public required string ModelName { get; init; }
    public required string ModelArn { get; init; }
    public ContainerDefinition? PrimaryContainer { get; init; }
    public List<ContainerDefinition>? Containers { get; init; }
    public string? ExecutionRoleArn { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public required DateTimeOffset CreationTime { get; init; }
    public bool EnableNetworkIsolation { get; init; }
}

public sealed record ListInput(string? NameContains, double? CreationTimeBefore, double? CreationTimeAfter, string? SortBy, string? SortOrder,
    int? MaxResults, string? NextToken, string? StatusEquals);

public sealed record ModelSummary(string ModelName, string ModelArn, [property: JsonConverter(typeof(EpochSecondsConverter))] DateTimeOffset CreationTime);
public sealed record ListModelsOutput(List<ModelSummary> Models, string? NextToken);

public sealed record ProductionVariant
{
    public string? VariantName { get; init; }
    public string? ModelName { get; init; }
    public int? InitialInstanceCount { get; init; }
    public string? InstanceType { get; init; }
    public float? InitialVariantWeight { get; init; }
    public RoutingConfig? RoutingConfig { get; init; }
    /// <summary>A serverless variant: no instance while idle, started by requests.</summary>
    public ServerlessConfig? ServerlessConfig { get; init; }
}

public sealed record RoutingConfig(string? RoutingStrategy);
public sealed record ServerlessConfig(int? MemorySizeInMB, int? MaxConcurrency, int? ProvisionedConcurrency);

public sealed record CreateEndpointConfigInput(string? EndpointConfigName, List<ProductionVariant>? ProductionVariants, List<Tag>? Tags, string? KmsKeyId,
    System.Text.Json.JsonElement? DataCaptureConfig = null);
public sealed record CreateEndpointConfigOutput(string EndpointConfigArn);

public sealed record EndpointConfigRecord
{
    public required string EndpointConfigName { get; init; }
    public required string EndpointConfigArn { get; init; }
    public required List<ProductionVariant> ProductionVariants { get; init; }
    public string? KmsKeyId { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public required DateTimeOffset CreationTime { get; init; }
}

public sealed record EndpointConfigSummary(string EndpointConfigName, string EndpointConfigArn, [property: JsonConverter(typeof(EpochSecondsConverter))] DateTimeOffset CreationTime);
public sealed record ListEndpointConfigsOutput(List<EndpointConfigSummary> EndpointConfigs, string? NextToken);

public sealed record CreateEndpointInput(string? EndpointName, string? EndpointConfigName, List<Tag>? Tags);
public sealed record CreateEndpointOutput(string EndpointArn);

public sealed record UpdateEndpointInput(string? EndpointName, string? EndpointConfigName);
public sealed record DesiredWeightAndCapacity(string? VariantName, float? DesiredWeight, int? DesiredInstanceCount);
public sealed record UpdateEndpointWeightsAndCapacitiesInput(string? EndpointName, List<DesiredWeightAndCapacity>? DesiredWeightsAndCapacities);

public sealed record AddTagsInput(string? ResourceArn, List<Tag>? Tags);
public sealed record AddTagsOutput(List<Tag> Tags);
public sealed record ListTagsInput(string? ResourceArn, int? MaxResults, string? NextToken);
public sealed record ListTagsOutput(List<Tag> Tags, string? NextToken);
public sealed record DeleteTagsInput(string? ResourceArn, List<string>? TagKeys);

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
    /// <summary>Strata's extension: a serverless variant's metered usage since the server started
    /// (hosting's meter, as it reads).</summary>
    public ServerlessUsage? StrataUsage { get; init; }
    /// <summary>Strata's extension: the running instances and their availability zones (live,
    /// not stored).</summary>
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

public sealed record EndpointSummary(string EndpointName, string EndpointArn,
    [property: JsonConverter(typeof(EpochSecondsConverter))] DateTimeOffset CreationTime,
    [property: JsonConverter(typeof(EpochSecondsConverter))] DateTimeOffset LastModifiedTime, string EndpointStatus);
public sealed record ListEndpointsOutput(List<EndpointSummary> Endpoints, string? NextToken);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateModelInput))]
[JsonSerializable(typeof(CreateModelOutput))]
[JsonSerializable(typeof(NameInput))]
[JsonSerializable(typeof(ModelRecord))]
[JsonSerializable(typeof(ListInput))]
[JsonSerializable(typeof(ListModelsOutput))]
[JsonSerializable(typeof(CreateEndpointConfigInput))]
[JsonSerializable(typeof(CreateEndpointConfigOutput))]
[JsonSerializable(typeof(EndpointConfigRecord))]
[JsonSerializable(typeof(ListEndpointConfigsOutput))]
[JsonSerializable(typeof(CreateEndpointInput))]
[JsonSerializable(typeof(CreateEndpointOutput))]
[JsonSerializable(typeof(EndpointRecord))]
[JsonSerializable(typeof(UpdateEndpointInput))]
[JsonSerializable(typeof(AddTagsInput))]
[JsonSerializable(typeof(AddTagsOutput))]
[JsonSerializable(typeof(ListTagsInput))]
[JsonSerializable(typeof(ListTagsOutput))]
[JsonSerializable(typeof(DeleteTagsInput))]
[JsonSerializable(typeof(List<Tag>))]
[JsonSerializable(typeof(UpdateEndpointWeightsAndCapacitiesInput))]
[JsonSerializable(typeof(ListEndpointsOutput))]
internal sealed partial class SageMakerJson : JsonSerializerContext;
