using System.Text.Json.Serialization;
using Strata.Server.Jobs.Transform;
using Strata.Server.Protocol;

namespace Strata.Server.Services.SageMaker;

// SageMaker's rows in the state store: what Strata keeps of each resource, in its own records
// (the wire shapes are the generated ones in SageMaker.g.cs, and SageMakerService maps between
// them). Members keep the names and JSON form they had when rows doubled as responses, so data
// directories written before still load: members named as the model names them, absent members
// omitted, timestamps as epoch seconds.

public sealed record TagRow(string Key, string Value);

/// <summary>The container members Strata keeps and runs (the model's others are not stored).</summary>
public sealed record ContainerRow
{
    public string? ContainerHostname { get; init; }
    public string? Image { get; init; }
    public string? Mode { get; init; }
    public string? ModelDataUrl { get; init; }
    public Dictionary<string, string>? Environment { get; init; }
    /// <summary>The model package the container was made from (its image and artifacts are the package's).</summary>
    public string? ModelPackageName { get; init; }
}

public sealed record ModelRow
{
    public required string ModelName { get; init; }
    public required string ModelArn { get; init; }
    public ContainerRow? PrimaryContainer { get; init; }
    public List<ContainerRow>? Containers { get; init; }
    public string? ExecutionRoleArn { get; init; }
    public required DateTimeOffset CreationTime { get; init; }
    public bool EnableNetworkIsolation { get; init; }
}

public sealed record RoutingRow(string? RoutingStrategy);

public sealed record ServerlessRow(int? MemorySizeInMB, int? MaxConcurrency, int? ProvisionedConcurrency);

public sealed record VariantRow
{
    public string? VariantName { get; init; }
    public string? ModelName { get; init; }
    public int? InitialInstanceCount { get; init; }
    public string? InstanceType { get; init; }
    public float? InitialVariantWeight { get; init; }
    public RoutingRow? RoutingConfig { get; init; }
    /// <summary>A serverless variant: no instance while idle, started by requests.</summary>
    public ServerlessRow? ServerlessConfig { get; init; }
}

/// <summary>An endpoint configuration's DataCaptureConfig, as given (EnableCapture defaults to true).</summary>
public sealed record DataCaptureRow
{
    public bool EnableCapture { get; init; } = true;
    public int InitialSamplingPercentage { get; init; }
    public required string DestinationS3Uri { get; init; }
    public string? KmsKeyId { get; init; }
    /// <summary>The CaptureOptions' modes in the order given (Input, Output, InputAndOutput).</summary>
    public required List<string> CaptureModes { get; init; }
    public List<string>? CsvContentTypes { get; init; }
    public List<string>? JsonContentTypes { get; init; }
    /// <summary>Whether CaptureContentTypeHeader was given at all (it is answered back as given).</summary>
    public bool HasContentTypeHeader { get; init; }
}

public sealed record EndpointConfigRow
{
    public required string EndpointConfigName { get; init; }
    public required string EndpointConfigArn { get; init; }
    public required List<VariantRow> ProductionVariants { get; init; }
    public string? KmsKeyId { get; init; }
    public DataCaptureRow? DataCaptureConfig { get; init; }
    public required DateTimeOffset CreationTime { get; init; }
    /// <summary>Set for an asynchronous endpoint: requests are queued and answered in S3.</summary>
    public AsyncInferenceRow? AsyncInferenceConfig { get; init; }
}

/// <summary>An endpoint configuration's AsyncInferenceConfig, flattened (null members were not given).</summary>
public sealed record AsyncInferenceRow(int? MaxConcurrentInvocationsPerInstance, string S3OutputPath, string? S3FailurePath, string? KmsKeyId,
    string? SuccessTopic, string? ErrorTopic, List<string>? IncludeInferenceResponseIn);

public sealed record DeployedImageRow(string SpecifiedImage, string ResolvedImage, DateTimeOffset ResolutionTime);

/// <summary>A variant of an endpoint as hosting last reported it.</summary>
public sealed record VariantSummaryRow
{
    public required string VariantName { get; init; }
    public List<DeployedImageRow>? DeployedImages { get; init; }
    public float CurrentWeight { get; init; }
    public float DesiredWeight { get; init; }
    public int CurrentInstanceCount { get; init; }
    public int DesiredInstanceCount { get; init; }
    public ServerlessRow? CurrentServerlessConfig { get; init; }
    public ServerlessRow? DesiredServerlessConfig { get; init; }
}

public sealed record EndpointRow
{
    public required string EndpointName { get; init; }
    public required string EndpointArn { get; init; }
    public required string EndpointConfigName { get; init; }
    public List<VariantSummaryRow>? ProductionVariants { get; init; }
    public required string EndpointStatus { get; init; }
    public string? FailureReason { get; init; }
    public required DateTimeOffset CreationTime { get; init; }
    public required DateTimeOffset LastModifiedTime { get; init; }
}

public sealed record TransformS3DataSourceRow(string? S3DataType, string? S3Uri);
public sealed record TransformDataSourceRow(TransformS3DataSourceRow? S3DataSource);
public sealed record TransformInputRow(TransformDataSourceRow? DataSource, string? ContentType, string? CompressionType, string? SplitType);
public sealed record TransformOutputRow(string? S3OutputPath, string? Accept, string? AssembleWith, string? KmsKeyId);
public sealed record TransformResourcesRow(string? InstanceType, int? InstanceCount, string? VolumeKmsKeyId);
public sealed record DataProcessingRow(string? InputFilter, string? OutputFilter, string? JoinSource);
public sealed record ModelClientConfigRow(int? InvocationsTimeoutInSeconds, int? InvocationsMaxRetries);

/// <summary>A transform job: what it was asked to do and how far it has come.</summary>
public sealed record BatchDataCaptureRow(string DestinationS3Uri, string? KmsKeyId, bool? GenerateInferenceId);

public sealed record TransformJobRow
{
    public required string TransformJobName { get; init; }
    public required string TransformJobArn { get; init; }
    public required string TransformJobStatus { get; init; }
    public string? FailureReason { get; init; }
    public required string ModelName { get; init; }
    public int MaxConcurrentTransforms { get; init; }
    public ModelClientConfigRow? ModelClientConfig { get; init; }
    public int MaxPayloadInMB { get; init; }
    public string BatchStrategy { get; init; } = "SingleRecord";
    public Dictionary<string, string>? Environment { get; init; }
    public required TransformInputRow TransformInput { get; init; }
    public required TransformOutputRow TransformOutput { get; init; }
    public required TransformResourcesRow TransformResources { get; init; }
    public DataProcessingRow? DataProcessing { get; init; }
    /// <summary>Where the job's captured data goes (Model Monitor), as given.</summary>
    public BatchDataCaptureRow? DataCaptureConfig { get; init; }
    public required DateTimeOffset CreationTime { get; init; }
    public DateTimeOffset LastModifiedTime { get; init; }
    public DateTimeOffset? TransformStartTime { get; init; }
    public DateTimeOffset? TransformEndTime { get; init; }
    /// <summary>The runner's progress (objects done, records), as it last wrote it.</summary>
    public TransformProgress? StrataProgress { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, Converters = [typeof(EpochSecondsConverter)])]
[JsonSerializable(typeof(ModelRow))]
[JsonSerializable(typeof(EndpointConfigRow))]
[JsonSerializable(typeof(EndpointRow))]
[JsonSerializable(typeof(List<TagRow>))]
[JsonSerializable(typeof(TransformJobRow))]
internal sealed partial class SageMakerRowsJson : JsonSerializerContext;
