using System.Text.Json.Serialization;

namespace Strata.Server.Jobs.Processing;

// What the processing job runner needs from the service that owns the jobs (SageMaker): the jobs,
// kept as these records, and the object store (IJobStorage) it reads inputs from and writes
// outputs to as the job's role. The runner knows no SageMaker wire shape.

/// <summary>A processing job as it was asked for; it does not change once created.</summary>
public sealed record ProcessingJob
{
    public required string Name { get; init; }
    public required string Arn { get; init; }
    public required string RoleArn { get; init; }
    /// <summary>AppSpecification.ImageUri: an image of the image catalogue.</summary>
    public required string ImageUri { get; init; }
    public List<string>? ContainerEntrypoint { get; init; }
    public List<string>? ContainerArguments { get; init; }
    public Dictionary<string, string> Environment { get; init; } = [];
    /// <summary>The inputs (null when the request had none).</summary>
    public List<ProcessingJobInput>? Inputs { get; init; }
    /// <summary>ProcessingOutputConfig's outputs (null when the request had no ProcessingOutputConfig).</summary>
    public List<ProcessingJobOutput>? Outputs { get; init; }
    /// <summary>ProcessingOutputConfig.KmsKeyId: the key every output is encrypted with.</summary>
    public string? OutputKmsKeyId { get; init; }
    public required string InstanceType { get; init; }
    public int InstanceCount { get; init; } = 1;
    public int VolumeSizeInGB { get; init; } = 1;
    public string? VolumeKmsKeyId { get; init; }
    /// <summary>StoppingCondition.MaxRuntimeInSeconds as asked (null: none given, and the job
    /// runs at most <see cref="DefaultMaxRuntimeInSeconds"/>).</summary>
    public int? MaxRuntimeInSeconds { get; init; }
    public bool EnableNetworkIsolation { get; init; }
    /// <summary>The NetworkConfig and ExperimentConfig, kept to be described (as their wire JSON).</summary>
    public string? NetworkConfigJson { get; init; }
    public string? ExperimentConfigJson { get; init; }
    public required DateTimeOffset CreationTime { get; init; }
    /// <summary>The monitoring schedule this job is an execution of: set only by the monitoring
    /// scheduler, never from a request (a CreateProcessingJob's Environment may name any
    /// schedule). Only such a job's metrics are published, under this schedule's own endpoint
    /// and name.</summary>
    public ProcessingJobMonitor? Monitor { get; init; }

    /// <summary>How long a job without a StoppingCondition may run: a day, as SageMaker's config shows it.</summary>
    public const int DefaultMaxRuntimeInSeconds = 86400;

    public int EffectiveMaxRuntimeInSeconds => MaxRuntimeInSeconds ?? DefaultMaxRuntimeInSeconds;
}

/// <summary>The monitoring schedule (and the endpoint it monitors) a monitoring execution's job belongs to.</summary>
public sealed record ProcessingJobMonitor
{
    public required string MonitoringScheduleArn { get; init; }
    public required string MonitoringScheduleName { get; init; }
    public required string EndpointName { get; init; }
    /// <summary>DataQuality or ModelQuality: which namespace and metric names the job publishes
    /// (absent in jobs recorded before model quality: data quality).</summary>
    public string MonitoringType { get; init; } = "DataQuality";
}

/// <summary>A ProcessingInput from S3, with SageMaker's defaults filled in.</summary>
public sealed record ProcessingJobInput
{
    public required string InputName { get; init; }
    /// <summary>The container downloads it itself: SageMaker (Strata) moves nothing.</summary>
    public bool AppManaged { get; init; }
    public required string S3Uri { get; init; }
    /// <summary>Where the container finds it, below /opt/ml/processing/ (null only when AppManaged).</summary>
    public string? LocalPath { get; init; }
    /// <summary>S3Prefix or ManifestFile.</summary>
    public required string S3DataType { get; init; }
    public string S3InputMode { get; init; } = "File";
    public string S3DataDistributionType { get; init; } = "FullyReplicated";
    public string S3CompressionType { get; init; } = "None";
}

/// <summary>A ProcessingOutput to S3.</summary>
public sealed record ProcessingJobOutput
{
    public required string OutputName { get; init; }
    public bool AppManaged { get; init; }
    public required string S3Uri { get; init; }
    /// <summary>The container's directory whose files go to <see cref="S3Uri"/> (null only when AppManaged).</summary>
    public string? LocalPath { get; init; }
    /// <summary>EndOfJob, or Continuous (files go up as they appear, and at the end).</summary>
    public required string S3UploadMode { get; init; }
}

/// <summary>Where a job stands: its status (InProgress, Stopping, Completed, Failed, Stopped) and
/// what its container said (ExitMessage, FailureReason).</summary>
public sealed record ProcessingJobState
{
    public string Status { get; init; } = "InProgress";
    public string? FailureReason { get; init; }
    public string? ExitMessage { get; init; }
    public DateTimeOffset? ProcessingStartTime { get; init; }
    public DateTimeOffset? ProcessingEndTime { get; init; }
    public required DateTimeOffset LastModifiedTime { get; init; }

    public bool IsTerminal => Status is "Completed" or "Failed" or "Stopped";
}

/// <summary>A job with its state, as the owning service keeps it.</summary>
public sealed record ProcessingJobRecord(ProcessingJob Job, ProcessingJobState State);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ProcessingJobRecord))]
public sealed partial class ProcessingJson : JsonSerializerContext;

/// <summary>The processing jobs, kept by the service that owns them.</summary>
public interface IProcessingJobs : IJobRecords<ProcessingJobRecord, ProcessingJobState>;

/// <summary>Where processing jobs' files go, bound once from the server's options.</summary>
public sealed record ProcessingOptions
{
    /// <summary>Each job's directory (its /opt/ml) while it runs.</summary>
    public required string WorkDir { get; init; }
    /// <summary>The containers' data directory, logs and log events.</summary>
    public required Containers.JobContainerOptions Containers { get; init; }
    /// <summary>The server's region (the containers' AWS_REGION).</summary>
    public string Region { get; init; } = "us-east-1";
}
