using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Server.Jobs.Transform;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

public sealed record TransformS3DataSource(string? S3DataType, string? S3Uri);
public sealed record TransformDataSource(TransformS3DataSource? S3DataSource);
public sealed record TransformInput(TransformDataSource? DataSource, string? ContentType, string? CompressionType, string? SplitType);
public sealed record TransformOutput(string? S3OutputPath, string? Accept, string? AssembleWith, string? KmsKeyId);
public sealed record TransformResources(string? InstanceType, int? InstanceCount, string? VolumeKmsKeyId);
public sealed record DataProcessing(string? InputFilter, string? OutputFilter, string? JoinSource);
public sealed record ModelClientConfig(int? InvocationsTimeoutInSeconds, int? InvocationsMaxRetries);

public sealed record CreateTransformJobInput(string? TransformJobName, string? ModelName, int? MaxConcurrentTransforms, ModelClientConfig? ModelClientConfig,
    int? MaxPayloadInMB, string? BatchStrategy, Dictionary<string, string>? Environment, TransformInput? TransformInput, TransformOutput? TransformOutput,
    TransformResources? TransformResources, DataProcessing? DataProcessing, List<Tag>? Tags);
public sealed record CreateTransformJobOutput(string TransformJobArn);
public sealed record TransformJobNameInput(string? TransformJobName);

/// <summary>A transform job as stored and as DescribeTransformJob answers it.</summary>
public sealed record TransformJobRecord
{
    public required string TransformJobName { get; init; }
    public required string TransformJobArn { get; init; }
    public required string TransformJobStatus { get; init; }
    public string? FailureReason { get; init; }
    public required string ModelName { get; init; }
    public int MaxConcurrentTransforms { get; init; }
    public ModelClientConfig? ModelClientConfig { get; init; }
    public int MaxPayloadInMB { get; init; }
    public string BatchStrategy { get; init; } = "SingleRecord";
    public Dictionary<string, string>? Environment { get; init; }
    public required TransformInput TransformInput { get; init; }
    public required TransformOutput TransformOutput { get; init; }
    public required TransformResources TransformResources { get; init; }
    public DataProcessing? DataProcessing { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public required DateTimeOffset CreationTime { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public DateTimeOffset LastModifiedTime { get; init; }
    [JsonConverter(typeof(NullableEpochSecondsConverter))] public DateTimeOffset? TransformStartTime { get; init; }
    [JsonConverter(typeof(NullableEpochSecondsConverter))] public DateTimeOffset? TransformEndTime { get; init; }
    /// <summary>Strata's extension: how far the job has come (the runner's progress, as it reads).</summary>
    public TransformProgress? StrataProgress { get; init; }
}

public sealed record TransformJobSummary(string TransformJobName, string TransformJobArn,
    [property: JsonConverter(typeof(EpochSecondsConverter))] DateTimeOffset CreationTime,
    [property: JsonConverter(typeof(NullableEpochSecondsConverter))] DateTimeOffset? TransformEndTime,
    [property: JsonConverter(typeof(EpochSecondsConverter))] DateTimeOffset LastModifiedTime,
    string TransformJobStatus, string? FailureReason);
public sealed record ListTransformJobsOutput(List<TransformJobSummary> TransformJobSummaries, string? NextToken);

public sealed class NullableEpochSecondsConverter : JsonConverter<DateTimeOffset?>
{
    static readonly EpochSecondsConverter Inner = new();
    public override DateTimeOffset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        => reader.TokenType == JsonTokenType.Null ? null : Inner.Read(ref reader, typeof(DateTimeOffset), options);
    public override void Write(Utf8JsonWriter writer, DateTimeOffset? value, JsonSerializerOptions options)
    {
        if (value is { } v) Inner.Write(writer, v, options);
        else writer.WriteNullValue();
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateTransformJobInput))]
[JsonSerializable(typeof(CreateTransformJobOutput))]
[JsonSerializable(typeof(TransformJobNameInput))]
[JsonSerializable(typeof(TransformJobRecord))]
[JsonSerializable(typeof(ListTransformJobsOutput))]
internal sealed partial class TransformJson : JsonSerializerContext;

/// <summary>Transform jobs in the state store (their per-object checkpoints are the runner's:
/// <see cref="TransformCheckpoints"/>).</summary>
public sealed class TransformJobStore(IStateStore state)
{
    const string Jobs = "sm-transform-jobs";
    readonly TransformCheckpoints _checkpoints = new(state);

    static string Key(string account, string name) => account + "/" + name;

    public TransformJobRecord? Get(string account, string name)
        => state.Read(r => r.Get(Jobs, Key(account, name))) is { } json ? JsonSerializer.Deserialize(json, TransformJson.Default.TransformJobRecord) : null;

    public List<TransformJobRecord> List(string account)
        => state.Read(r => r.Scan(Jobs, account + "/", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, TransformJson.Default.TransformJobRecord)!).ToList();

    public List<(string Account, TransformJobRecord Job)> All()
        => state.Read(r => r.Scan(Jobs, "", null, int.MaxValue))
            .Select(kv => (kv.Key[..kv.Key.IndexOf('/')], JsonSerializer.Deserialize(kv.Value, TransformJson.Default.TransformJobRecord)!)).ToList();

    public bool Create(string account, TransformJobRecord job) => state.Write(w =>
    {
        if (w.Get(Jobs, Key(account, job.TransformJobName)) is not null) return false;
        w.Put(Jobs, Key(account, job.TransformJobName), JsonSerializer.Serialize(job, TransformJson.Default.TransformJobRecord));
        return true;
    });

    public TransformJobRecord? Update(string account, string name, Func<TransformJobRecord, TransformJobRecord> change) => state.Write(w =>
    {
        if (w.Get(Jobs, Key(account, name)) is not { } json) return null;
        var job = change(JsonSerializer.Deserialize(json, TransformJson.Default.TransformJobRecord)!);
        w.Put(Jobs, Key(account, name), JsonSerializer.Serialize(job, TransformJson.Default.TransformJobRecord));
        return job;
    });

    /// <summary>A job with its live progress (records from the checkpoints).</summary>
    public TransformJobRecord WithProgress(string account, TransformJobRecord job)
        => job.StrataProgress is { } p ? job with { StrataProgress = p with { RecordsProcessed = Math.Max(p.RecordsProcessed, _checkpoints.RecordsDone(account, job.TransformJobName)) } } : job;
}
