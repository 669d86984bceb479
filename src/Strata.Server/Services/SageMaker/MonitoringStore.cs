using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Server.Protocol;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>A monitoring job definition (data quality, model quality or model bias): the request that made it,
/// as its wire JSON (without its tags, which are the tag table's), so that Describe answers it as given.</summary>
public sealed record MonitoringJobDefinitionRow(string JobDefinitionName, string JobDefinitionArn, DateTimeOffset CreationTime, string EndpointName, string DefinitionJson);

/// <summary>A monitoring schedule: its MonitoringScheduleConfig as wire JSON, its status, and the
/// time of the latest execution the scheduler started (null before the first).</summary>
public sealed record MonitoringScheduleRow
{
    public required string MonitoringScheduleName { get; init; }
    public required string MonitoringScheduleArn { get; init; }
    public required string MonitoringScheduleStatus { get; init; }
    public required string MonitoringType { get; init; }
    public required string ConfigJson { get; init; }
    public required string EndpointName { get; init; }
    public required DateTimeOffset CreationTime { get; init; }
    public required DateTimeOffset LastModifiedTime { get; init; }
    public string? FailureReason { get; init; }
    public DateTimeOffset? LastScheduledTime { get; init; }
    /// <summary>The schedule's alert's criteria (UpdateMonitoringAlert); null: 1 of 1.</summary>
    public int? AlertDatapointsToAlert { get; init; }
    public int? AlertEvaluationPeriod { get; init; }
    public DateTimeOffset? AlertLastModifiedTime { get; init; }
}

/// <summary>One monitoring execution: the processing job it started (its status is that job's,
/// read when asked), or why it could not start one.</summary>
public sealed record MonitoringExecutionRow
{
    public required string MonitoringScheduleName { get; init; }
    public required DateTimeOffset ScheduledTime { get; init; }
    public required DateTimeOffset CreationTime { get; init; }
    public required string EndpointName { get; init; }
    public required string MonitoringJobDefinitionName { get; init; }
    public required string MonitoringType { get; init; }
    public string? ProcessingJobName { get; init; }
    public string? ProcessingJobArn { get; init; }
    /// <summary>Set when no processing job could be started: the execution Failed at once.</summary>
    public string? FailureReason { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, Converters = [typeof(EpochSecondsConverter)])]
[JsonSerializable(typeof(MonitoringJobDefinitionRow))]
[JsonSerializable(typeof(MonitoringScheduleRow))]
[JsonSerializable(typeof(MonitoringExecutionRow))]
internal sealed partial class MonitoringJson : JsonSerializerContext;

/// <summary>Model Monitor's resources in the state store: job definitions (a table per monitoring
/// type, as each type has its own names and ARNs), monitoring schedules and their executions (keyed
/// by schedule and scheduled time, so that a tick started twice after a crash is one execution),
/// with the definitions' and schedules' tags.</summary>
public sealed class MonitoringStore(IStateStore state)
{
    /// <summary>The MonitoringType values whose job definitions Strata keeps.</summary>
    public const string DataQuality = "DataQuality", ModelQuality = "ModelQuality", ModelBias = "ModelBias", ModelExplainability = "ModelExplainability";

    static string Definitions(string monitoringType) => monitoringType switch
    {
        DataQuality => "sm-data-quality-job-definitions",
        ModelQuality => "sm-model-quality-job-definitions",
        ModelBias => "sm-model-bias-job-definitions",
        ModelExplainability => "sm-model-explainability-job-definitions",
        _ => throw new ArgumentException($"no job definitions of type {monitoringType}", nameof(monitoringType)),
    };
    const string Schedules = "sm-monitoring-schedules";
    const string Executions = "sm-monitoring-executions";

    static string Key(string account, string name) => account + "/" + name;

    static string ExecutionKey(string account, string schedule, DateTimeOffset scheduled)
        => $"{account}/{schedule}/{scheduled.ToUnixTimeMilliseconds():D15}";

    static T Parse<T>(string json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info) => JsonSerializer.Deserialize(json, info)!;

    // ---- job definitions ----

    public MonitoringJobDefinitionRow? GetDefinition(string monitoringType, string account, string name)
        => state.Read(r => r.Get(Definitions(monitoringType), Key(account, name))) is { } json ? Parse(json, MonitoringJson.Default.MonitoringJobDefinitionRow) : null;

    public List<MonitoringJobDefinitionRow> ListDefinitions(string monitoringType, string account)
        => state.Read(r => r.Scan(Definitions(monitoringType), account + "/", null, int.MaxValue)).Select(kv => Parse(kv.Value, MonitoringJson.Default.MonitoringJobDefinitionRow)).ToList();

    public bool CreateDefinition(string monitoringType, string account, MonitoringJobDefinitionRow row, List<TagRow> tags) => state.Write(w =>
    {
        if (w.Get(Definitions(monitoringType), Key(account, row.JobDefinitionName)) is not null) return false;
        w.Put(Definitions(monitoringType), Key(account, row.JobDefinitionName), JsonSerializer.Serialize(row, MonitoringJson.Default.MonitoringJobDefinitionRow));
        if (tags.Count > 0) SageMakerStore.WriteTags(w, row.JobDefinitionArn, tags);
        return true;
    });

    /// <summary>Deletes a definition that no schedule of its type uses; null when there is none, and
    /// the names of the schedules that use it when some do (nothing is deleted then).</summary>
    public (MonitoringJobDefinitionRow? Deleted, List<string> UsedBy) DeleteDefinition(string monitoringType, string account, string name) => state.Write(w =>
    {
        if (w.Get(Definitions(monitoringType), Key(account, name)) is not { } json) return ((MonitoringJobDefinitionRow?)null, new List<string>());
        var row = Parse(json, MonitoringJson.Default.MonitoringJobDefinitionRow);
        var usedBy = w.Scan(Schedules, account + "/", null, int.MaxValue).Select(kv => Parse(kv.Value, MonitoringJson.Default.MonitoringScheduleRow))
            .Where(s => s.MonitoringType == monitoringType && DefinitionNameOf(s) == name).Select(s => s.MonitoringScheduleName).ToList();
        if (usedBy.Count > 0) return (row, usedBy);
        w.Delete(Definitions(monitoringType), Key(account, name));
        SageMakerStore.WriteTags(w, row.JobDefinitionArn, []);
        return (row, usedBy);
    });

    public static string? DefinitionNameOf(MonitoringScheduleRow schedule)
        => JsonSerializer.Deserialize(schedule.ConfigJson, SageMakerJson.Default.MonitoringScheduleConfig)?.MonitoringJobDefinitionName;

    // ---- schedules ----

    public MonitoringScheduleRow? GetSchedule(string account, string name)
        => state.Read(r => r.Get(Schedules, Key(account, name))) is { } json ? Parse(json, MonitoringJson.Default.MonitoringScheduleRow) : null;

    public List<MonitoringScheduleRow> ListSchedules(string account)
        => state.Read(r => r.Scan(Schedules, account + "/", null, int.MaxValue)).Select(kv => Parse(kv.Value, MonitoringJson.Default.MonitoringScheduleRow)).ToList();

    public IEnumerable<(string Account, MonitoringScheduleRow Schedule)> AllSchedules()
        => state.Read(r => r.Scan(Schedules, "", null, int.MaxValue)).Select(kv => (kv.Key[..kv.Key.IndexOf('/')], Parse(kv.Value, MonitoringJson.Default.MonitoringScheduleRow))).ToList();

    /// <summary>Inserts a schedule whose job definition exists (checked in the same transaction); false if one of that name exists.</summary>
    public bool CreateSchedule(string account, MonitoringScheduleRow row, List<TagRow> tags) => state.Write(w =>
    {
        if (w.Get(Schedules, Key(account, row.MonitoringScheduleName)) is not null) return false;
        w.Put(Schedules, Key(account, row.MonitoringScheduleName), JsonSerializer.Serialize(row, MonitoringJson.Default.MonitoringScheduleRow));
        if (tags.Count > 0) SageMakerStore.WriteTags(w, row.MonitoringScheduleArn, tags);
        return true;
    });

    /// <summary>Changes a schedule in one transaction; the schedule as changed, or null when there is none.</summary>
    public MonitoringScheduleRow? UpdateSchedule(string account, string name, Func<MonitoringScheduleRow, MonitoringScheduleRow> change) => state.Write(w =>
    {
        if (w.Get(Schedules, Key(account, name)) is not { } json) return null;
        var after = change(Parse(json, MonitoringJson.Default.MonitoringScheduleRow));
        w.Put(Schedules, Key(account, name), JsonSerializer.Serialize(after, MonitoringJson.Default.MonitoringScheduleRow));
        return after;
    });

    /// <summary>Deletes a schedule and its tags (its executions' history stays, as in SageMaker).</summary>
    public MonitoringScheduleRow? DeleteSchedule(string account, string name) => state.Write(w =>
    {
        if (w.Get(Schedules, Key(account, name)) is not { } json) return null;
        var row = Parse(json, MonitoringJson.Default.MonitoringScheduleRow);
        w.Delete(Schedules, Key(account, name));
        SageMakerStore.WriteTags(w, row.MonitoringScheduleArn, []);
        return row;
    });

    // ---- executions ----

    /// <summary>Records an execution and the schedule's latest scheduled time at once; false when
    /// that tick has one already.</summary>
    public bool AddExecution(string account, MonitoringExecutionRow row) => state.Write(w =>
    {
        var key = ExecutionKey(account, row.MonitoringScheduleName, row.ScheduledTime);
        if (w.Get(Executions, key) is not null) return false;
        w.Put(Executions, key, JsonSerializer.Serialize(row, MonitoringJson.Default.MonitoringExecutionRow));
        if (w.Get(Schedules, Key(account, row.MonitoringScheduleName)) is { } json)
        {
            var schedule = Parse(json, MonitoringJson.Default.MonitoringScheduleRow);
            w.Put(Schedules, Key(account, row.MonitoringScheduleName),
                JsonSerializer.Serialize(schedule with { LastScheduledTime = row.ScheduledTime }, MonitoringJson.Default.MonitoringScheduleRow));
        }
        return true;
    });

    public void PutExecution(string account, MonitoringExecutionRow row) => state.Write(w =>
    {
        w.Put(Executions, ExecutionKey(account, row.MonitoringScheduleName, row.ScheduledTime), JsonSerializer.Serialize(row, MonitoringJson.Default.MonitoringExecutionRow));
        return true;
    });

    /// <summary>An account's executions, of one schedule when <paramref name="schedule"/> is given.</summary>
    public List<MonitoringExecutionRow> ListExecutions(string account, string? schedule = null)
        => state.Read(r => r.Scan(Executions, schedule is null ? account + "/" : account + "/" + schedule + "/", null, int.MaxValue))
            .Select(kv => Parse(kv.Value, MonitoringJson.Default.MonitoringExecutionRow))
            .Where(e => schedule is null || e.MonitoringScheduleName == schedule).ToList();
}
