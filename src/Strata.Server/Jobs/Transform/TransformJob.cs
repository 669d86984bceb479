using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Server.Hosting;
using Strata.Server.Storage;

namespace Strata.Server.Jobs.Transform;

// What the transform job runner needs from the service that owns the jobs (SageMaker): the jobs
// themselves, the model a job runs, and the object store it reads and writes as the model's role.
// The service implements these over its own records and S3; the runner knows neither.

/// <summary>A batch transform job: what to do, and (<see cref="State"/>) where it stands.</summary>
public sealed record TransformJob
{
    public required string Name { get; init; }
    public required string ModelName { get; init; }
    public int MaxConcurrentTransforms { get; init; }
    public int MaxPayloadInMB { get; init; }
    public string BatchStrategy { get; init; } = "SingleRecord";
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
    /// <summary>S3Prefix (every object under <see cref="InputUri"/>) or ManifestFile.</summary>
    public required string InputDataType { get; init; }
    public required string InputUri { get; init; }
    public string? ContentType { get; init; }
    public string? CompressionType { get; init; }
    public string? SplitType { get; init; }
    public required string OutputPath { get; init; }
    public string? Accept { get; init; }
    public string? AssembleWith { get; init; }
    public string? OutputKmsKeyId { get; init; }
    public string? InstanceType { get; init; }
    public int? InstanceCount { get; init; }
    public string? InputFilter { get; init; }
    public string? OutputFilter { get; init; }
    public string? JoinSource { get; init; }
    /// <summary>Where the job's data capture manifests go (DataCaptureConfig), null for none.</summary>
    public string? DataCaptureUri { get; init; }
    public string? DataCaptureKmsKeyId { get; init; }
    public required TransformJobState State { get; init; }
}

/// <summary>Where a job stands: InProgress, Stopping, Completed, Failed or Stopped.</summary>
public sealed record TransformJobState(string Status, string? FailureReason, DateTimeOffset? StartTime, DateTimeOffset? EndTime, DateTimeOffset LastModifiedTime,
    TransformProgress? Progress);

/// <summary>How far a job has come (Strata's extension of DescribeTransformJob).</summary>
public sealed record TransformProgress(int ObjectsTotal, int ObjectsCompleted, long RecordsProcessed);

/// <summary>The transform jobs, kept by the service that owns them.</summary>
public interface ITransformJobs : IJobRecords<TransformJob, TransformJobState>
{
    /// <summary>The model a job runs (its container and execution role); throws
    /// <see cref="TransformException"/> when there is none to run.</summary>
    ModelPlan Model(string account, string modelName);
}

/// <summary>Where a job's files go, bound once from the server's options.</summary>
public sealed record TransformOptions
{
    /// <summary>Staged outputs of the jobs in progress.</summary>
    public required string WorkDir { get; init; }
    /// <summary>Where worker sockets live.</summary>
    public required string RunDir { get; init; }
    /// <summary>The server's data directory, hidden from a container of one's own in the sandbox.</summary>
    public required string DataDir { get; init; }
    /// <summary>Where jobs' and instances' logs are written.</summary>
    public required string LogDir { get; init; }
    /// <summary>Where instances' output and the job's summary also go as CloudWatch Logs events
    /// (group /aws/sagemaker/TransformJobs; none: files only).</summary>
    public Storage.LogIngestion? LogEvents { get; init; }
    /// <summary>The machine's GPUs, shared with endpoints: a GPU instance type takes GPUs of its
    /// own, or fails the job where the machine has none (none given: GPU types run on the CPU).</summary>
    public Hosting.GpuPlacement? Gpus { get; init; }
}

/// <summary>Checkpoint of one input object: mini-batches done and the bytes of output they made
/// (the staged output file is cut back to that length on resume), or done altogether.</summary>
public sealed record ObjectCheckpoint(int Batches, long Bytes, long Records, bool Done);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ObjectCheckpoint))]
internal sealed partial class CheckpointJson : JsonSerializerContext;

/// <summary>The per-object checkpoints of transform jobs, in the state store.</summary>
public sealed class TransformCheckpoints(IStateStore state)
{
    const string Checkpoints = "sm-transform-checkpoints";

    static string Key(string account, string job, string relative) => $"{account}/{job}/{relative}";

    /// <summary>Records done so far, across the job's objects (finished or not).</summary>
    public long RecordsDone(string account, string job)
        => state.Read(r => r.Scan(Checkpoints, $"{account}/{job}/", null, int.MaxValue))
            .Sum(kv => JsonSerializer.Deserialize(kv.Value, CheckpointJson.Default.ObjectCheckpoint)!.Records);

    public ObjectCheckpoint? Get(string account, string job, string relative)
        => state.Read(r => r.Get(Checkpoints, Key(account, job, relative))) is { } json ? JsonSerializer.Deserialize(json, CheckpointJson.Default.ObjectCheckpoint) : null;

    public void Put(string account, string job, string relative, ObjectCheckpoint checkpoint) => state.Write(w =>
    {
        w.Put(Checkpoints, Key(account, job, relative), JsonSerializer.Serialize(checkpoint, CheckpointJson.Default.ObjectCheckpoint));
        return 0;
    });
}
