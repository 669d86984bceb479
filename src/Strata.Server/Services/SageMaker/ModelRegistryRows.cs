using System.Text.Json.Serialization;
using Strata.Server.Protocol;

namespace Strata.Server.Services.SageMaker;

// The model registry's rows in the state store: model package groups and the packages in them
// (and unversioned packages). Members are named as the model names them and absent ones are
// omitted, so a row serialises to the JSON the API and the events show; the mapping to the
// generated shapes is ModelRegistryOperations.cs.

/// <summary>Who made a change, as SageMaker's <c>UserContext.IamIdentity</c> records it (no Studio
/// user profile: Strata has no domains).</summary>
public sealed record IamIdentityRow(string Arn, string PrincipalId);

public sealed record ModelPackageGroupRow
{
    public required string ModelPackageGroupName { get; init; }
    public required string ModelPackageGroupArn { get; init; }
    public string? ModelPackageGroupDescription { get; init; }
    public required DateTimeOffset CreationTime { get; init; }
    public required IamIdentityRow CreatedBy { get; init; }
    public string ModelPackageGroupStatus { get; init; } = "Completed";
    /// <summary>The last version given in the group: versions count up from 1 and are never
    /// given again, even after the package that had one is deleted.</summary>
    public int LatestVersion { get; init; }
}

public sealed record ModelInputRow(string DataInputConfig);

/// <summary>A container of a package's inference specification: what a model made from the
/// package runs.</summary>
public sealed record PackageContainerRow
{
    public string? ContainerHostname { get; init; }
    public required string Image { get; init; }
    public string? ImageDigest { get; init; }
    public string? ModelDataUrl { get; init; }
    public Dictionary<string, string>? Environment { get; init; }
    public ModelInputRow? ModelInput { get; init; }
    public string? Framework { get; init; }
    public string? FrameworkVersion { get; init; }
    public string? NearestModelName { get; init; }
}

public sealed record InferenceSpecificationRow
{
    public required List<PackageContainerRow> Containers { get; init; }
    public List<string>? SupportedTransformInstanceTypes { get; init; }
    public List<string>? SupportedRealtimeInferenceInstanceTypes { get; init; }
    public List<string>? SupportedContentTypes { get; init; }
    public List<string>? SupportedResponseMIMETypes { get; init; }
}

/// <summary>An S3 object a user wrote (statistics, constraints, a report, a configuration file):
/// kept and answered as given (<c>MetricsSource</c> and <c>FileSource</c> have these members).</summary>
public sealed record MetricsSourceRow(string? ContentType, string? ContentDigest, string S3Uri);

public sealed record StatisticsAndConstraintsRow(MetricsSourceRow? Statistics, MetricsSourceRow? Constraints);

public sealed record BiasRow(MetricsSourceRow? Report, MetricsSourceRow? PreTrainingReport, MetricsSourceRow? PostTrainingReport);

public sealed record ExplainabilityRow(MetricsSourceRow? Report);

public sealed record ModelMetricsRow(StatisticsAndConstraintsRow? ModelQuality, StatisticsAndConstraintsRow? ModelDataQuality, BiasRow? Bias, ExplainabilityRow? Explainability);

public sealed record DriftCheckBiasRow(MetricsSourceRow? ConfigFile, MetricsSourceRow? PreTrainingConstraints, MetricsSourceRow? PostTrainingConstraints);

public sealed record DriftCheckExplainabilityRow(MetricsSourceRow? Constraints, MetricsSourceRow? ConfigFile);

public sealed record DriftCheckBaselinesRow(DriftCheckBiasRow? Bias, DriftCheckExplainabilityRow? Explainability, StatisticsAndConstraintsRow? ModelQuality,
    StatisticsAndConstraintsRow? ModelDataQuality);

public sealed record MetadataPropertiesRow(string? CommitId, string? Repository, string? GeneratedBy, string? ProjectId);

/// <summary>A model package: versioned (in a group, <see cref="ModelPackageVersion"/> set, named
/// as its group) or unversioned (its own name).</summary>
public sealed record ModelPackageRow
{
    public required string ModelPackageName { get; init; }
    public string? ModelPackageGroupName { get; init; }
    public int? ModelPackageVersion { get; init; }
    public required string ModelPackageArn { get; init; }
    public string? ModelPackageDescription { get; init; }
    public string? ModelPackageRegistrationType { get; init; }
    public required DateTimeOffset CreationTime { get; init; }
    public required InferenceSpecificationRow InferenceSpecification { get; init; }
    /// <summary>Completed: Strata runs no validation profile nor image scan, the steps that keep
    /// an AWS package Pending or InProgress.</summary>
    public string ModelPackageStatus { get; init; } = "Completed";
    public bool CertifyForMarketplace { get; init; }
    /// <summary>Versioned packages only (AWS's: it does not apply to unversioned ones).</summary>
    public string? ModelApprovalStatus { get; init; }
    public string? ApprovalDescription { get; init; }
    public required IamIdentityRow CreatedBy { get; init; }
    public MetadataPropertiesRow? MetadataProperties { get; init; }
    public ModelMetricsRow? ModelMetrics { get; init; }
    public required DateTimeOffset LastModifiedTime { get; init; }
    public IamIdentityRow? LastModifiedBy { get; init; }
    public string? Domain { get; init; }
    public string? Task { get; init; }
    public string? SamplePayloadUrl { get; init; }
    public Dictionary<string, string>? CustomerMetadataProperties { get; init; }
    public DriftCheckBaselinesRow? DriftCheckBaselines { get; init; }
    public string? SkipModelValidation { get; init; }
    public string? SourceUri { get; init; }
    /// <summary>The create request's idempotency token: the same token in the same group (or
    /// for the same name) answers the package it made instead of making another.</summary>
    public string? ClientToken { get; init; }

    [JsonIgnore]
    public bool Versioned => ModelPackageVersion is not null;
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, Converters = [typeof(EpochSecondsConverter)])]
[JsonSerializable(typeof(ModelPackageGroupRow))]
[JsonSerializable(typeof(ModelPackageRow))]
internal sealed partial class ModelRegistryJson : JsonSerializerContext;
