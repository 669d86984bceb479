using System.Text.Json.Serialization;

namespace Strata.Server.Jobs.Training;

// What the training job runner needs from the service that owns the jobs (SageMaker): the jobs,
// kept as these records, and the object store (IJobStorage) it reads channels from and writes
// the model to as the job's role. The runner knows no SageMaker wire shape.

/// <summary>A training job as it was asked for; it does not change once created.</summary>
public sealed record TrainingJob
{
    public required string Name { get; init; }
    public required string Arn { get; init; }
    public required string RoleArn { get; init; }
    /// <summary>The training image (AlgorithmSpecification.TrainingImage).</summary>
    public required string Image { get; init; }
    public string InputMode { get; init; } = "File";
    public Dictionary<string, string> HyperParameters { get; init; } = [];
    public List<TrainingChannel> Channels { get; init; } = [];
    public required string OutputPath { get; init; }
    public string? OutputKmsKeyId { get; init; }
    public string? OutputCompression { get; init; }
    public required string InstanceType { get; init; }
    public int InstanceCount { get; init; } = 1;
    public int VolumeSizeInGB { get; init; } = 1;
    public int MaxRuntimeInSeconds { get; init; } = 86400;
    public Dictionary<string, string> Environment { get; init; } = [];
    public bool EnableNetworkIsolation { get; init; }
    public string? CheckpointS3Uri { get; init; }
    public string? CheckpointLocalPath { get; init; }
    public List<TrainingMetricDefinition> MetricDefinitions { get; init; } = [];
    public List<string>? ContainerEntrypoint { get; init; }
    public List<string>? ContainerArguments { get; init; }
    /// <summary>The VpcConfig, kept to be described (Strata's jobs reach what the host reaches).</summary>
    public string? VpcConfigJson { get; init; }
    /// <summary>The hyperparameter tuning job that launched this one, if one did.</summary>
    public string? TuningJobArn { get; init; }
    public required DateTimeOffset CreationTime { get; init; }
}

public sealed record TrainingChannel
{
    public required string Name { get; init; }
    /// <summary>S3Prefix, ManifestFile or AugmentedManifestFile (Pipe mode only).</summary>
    public required string S3DataType { get; init; }
    public required string S3Uri { get; init; }
    public string S3DataDistributionType { get; init; } = "FullyReplicated";
    public string? ContentType { get; init; }
    public string CompressionType { get; init; } = "None";
    public string RecordWrapperType { get; init; } = "None";
    /// <summary>The channel's own input mode (File, Pipe, FastFile), else the job's.</summary>
    public string? InputMode { get; init; }
    /// <summary>ShuffleConfig.Seed: in Pipe mode, each epoch's order is drawn from it.</summary>
    public long? ShuffleSeed { get; init; }
    /// <summary>An augmented manifest's attributes to stream, in order.</summary>
    public List<string>? AttributeNames { get; init; }
}

public sealed record TrainingMetricDefinition(string Name, string Regex);

public sealed record TrainingStatusTransition(string Status, DateTimeOffset StartTime, DateTimeOffset? EndTime, string StatusMessage);

public sealed record TrainingMetric(string MetricName, double Value, DateTimeOffset Timestamp);

/// <summary>Where a job stands: its status (InProgress, Stopping, Completed, Failed, Stopped),
/// SageMaker's secondary status and its transitions, and what it produced.</summary>
public sealed record TrainingJobState
{
    public string Status { get; init; } = "InProgress";
    public string SecondaryStatus { get; init; } = "Starting";
    public List<TrainingStatusTransition> Transitions { get; init; } = [];
    public string? FailureReason { get; init; }
    public DateTimeOffset? TrainingStartTime { get; init; }
    public DateTimeOffset? TrainingEndTime { get; init; }
    public required DateTimeOffset LastModifiedTime { get; init; }
    public string? S3ModelArtifacts { get; init; }
    public List<TrainingMetric> FinalMetrics { get; init; } = [];
    /// <summary>Seconds the job's container ran (billable time: Strata bills nothing, but
    /// reports it as AWS does).</summary>
    public int? TrainingTimeInSeconds { get; init; }
    /// <summary>Why the job stopped, when it was stopped: "StopTrainingJob" or "MaxRuntimeExceeded".</summary>
    public string? StopReason { get; init; }

    public bool IsTerminal => Status is "Completed" or "Failed" or "Stopped";
}

/// <summary>A job with its state, as the owning service keeps it.</summary>
public sealed record TrainingJobRecord(TrainingJob Job, TrainingJobState State);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TrainingJobRecord))]
public sealed partial class TrainingJson : JsonSerializerContext;

/// <summary>The training jobs, kept by the service that owns them.</summary>
public interface ITrainingJobs : IJobRecords<TrainingJobRecord, TrainingJobState>;

/// <summary>A training job cannot go on; the message is its FailureReason.</summary>
public sealed class TrainingException(string message) : JobException(message);

/// <summary>Where jobs' files go, bound once from the server's options.</summary>
public sealed record TrainingOptions
{
    /// <summary>Each job's directory (its /opt/ml) while it runs.</summary>
    public required string WorkDir { get; init; }
    /// <summary>The server's data directory, hidden from a job's processes where they run in a
    /// mount namespace of their own.</summary>
    public required string DataDir { get; init; }
    /// <summary>Where jobs' logs are written as files.</summary>
    public required string LogDir { get; init; }
    /// <summary>Where the jobs' output also goes as CloudWatch Logs events (group
    /// /aws/sagemaker/TrainingJobs; none: files only).</summary>
    public Storage.LogIngestion? LogEvents { get; init; }
    /// <summary>The server's region (resourceconfig.json, metrics).</summary>
    public string Region { get; init; } = "us-east-1";
}
