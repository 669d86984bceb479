using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Server.Storage;
using Strata.States;

namespace Strata.Server.Jobs.StepFunctions;

/// <summary>
/// Sends an execution's history events to CloudWatch Logs as its state machine's
/// <c>loggingConfiguration</c> asks, as Step Functions delivers them: one JSON record per event
/// (<c>id</c>, <c>type</c>, <c>details</c>, <c>previous_event_id</c>, <c>event_timestamp</c>,
/// <c>execution_arn</c>, <c>redrive_count</c>), in the configured log group, on a stream of the
/// execution's own (<c>states/{machine}/{yyyy-MM-dd-HH-mm}/{id}</c>, from its start). The level
/// chooses the events: ALL every one, ERROR the failures, FATAL only an execution's own failure;
/// without <c>includeExecutionData</c> the records leave out the data (input, output, parameters).
/// Delivery goes through the ingestion queue: it never holds an execution up, and, as on AWS, it is
/// best effort (a full queue drops records; the history in the API stays complete).
/// </summary>
public sealed class ExecutionLogs(LogIngestion ingestion)
{
    /// <summary>What ERROR adds to FATAL: the events that record a failure of a state or a task.</summary>
    static readonly HashSet<string> ErrorEvents = new(StringComparer.Ordinal)
    {
        "ActivityFailed", "ActivityScheduleFailed", "ActivityTimedOut", "FailStateEntered",
        "LambdaFunctionFailed", "LambdaFunctionScheduleFailed", "LambdaFunctionStartFailed", "LambdaFunctionTimedOut",
        "MapIterationAborted", "MapIterationFailed", "MapRunAborted", "MapRunFailed", "MapStateAborted", "MapStateFailed",
        "ParallelStateAborted", "ParallelStateFailed", "TaskFailed", "TaskStartFailed", "TaskStateAborted", "TaskSubmitFailed",
        "TaskTimedOut", "WaitStateAborted",
    };

    /// <summary>The execution's own failures: all that FATAL logs.</summary>
    static readonly HashSet<string> FatalEvents = new(StringComparer.Ordinal) { "ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut" };

    /// <summary>As AWS writes the records: a quote inside a string is <c>\"</c>, not <c>\u0022</c>.</summary>
    static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The members of event details that carry execution data.</summary>
    static readonly string[] DataMembers = ["input", "output", "parameters"];

    /// <summary>Logs one event of the execution, if its logging configuration asks for it.</summary>
    public void Post(ExecutionRow execution, HistoryEvent e)
    {
        if (Settings.Of(execution.LoggingConfiguration) is not { } settings || !settings.Logs(e.Type)) return;
        ingestion.Post(execution.Account, settings.LogGroup, StreamOf(execution), e.Timestamp, Record(execution, e, settings.IncludeExecutionData));
    }

    /// <summary>The record of one event, as Step Functions writes it (numbers as strings, times in ms).</summary>
    public static string Record(ExecutionRow execution, HistoryEvent e, bool includeExecutionData)
    {
        var details = (JsonObject?)e.Details?.DeepClone() ?? [];
        if (!includeExecutionData)
            foreach (var member in DataMembers) details.Remove(member);
        return new JsonObject
        {
            ["id"] = e.Id.ToString(CultureInfo.InvariantCulture),
            ["type"] = e.Type,
            ["details"] = details,
            ["previous_event_id"] = e.PreviousEventId.ToString(CultureInfo.InvariantCulture),
            ["event_timestamp"] = e.Timestamp.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            ["execution_arn"] = execution.ExecutionArn,
            ["redrive_count"] = execution.RedriveCount.ToString(CultureInfo.InvariantCulture),
        }.ToJsonString(Compact);
    }

    /// <summary>The execution's log stream: its machine, the minute it started, and a stable id of
    /// the execution (the same after a restart, so a resumed execution goes on in its stream).</summary>
    public static string StreamOf(ExecutionRow execution)
    {
        var id = XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(execution.ExecutionArn)).ToString("x8", CultureInfo.InvariantCulture);
        return $"states/{execution.StateMachineName}/{execution.StartDate.UtcDateTime.ToString("yyyy-MM-dd-HH-mm", CultureInfo.InvariantCulture)}/{id}";
    }

    /// <summary>A stored loggingConfiguration, read: its level, whether data is included, and the group.</summary>
    sealed record Settings(string Level, bool IncludeExecutionData, string LogGroup)
    {
        public bool Logs(string type) => Level switch
        {
            "ALL" => true,
            "ERROR" => FatalEvents.Contains(type) || ErrorEvents.Contains(type),
            "FATAL" => FatalEvents.Contains(type),
            _ => false,
        };

        /// <summary>Null when nothing is to be logged (no configuration, OFF, or no destination).</summary>
        public static Settings? Of(string? json)
        {
            if (json is null || JsonNode.Parse(json) is not JsonObject logging) return null;
            var level = (string?)logging["level"] ?? "OFF";
            if (level == "OFF") return null;
            // Validated at CreateStateMachine/UpdateStateMachine: arn:aws:logs:{region}:{account}:log-group:{name}:*
            var arn = (string?)logging["destinations"]?[0]?["cloudWatchLogsLogGroup"]?["logGroupArn"];
            const string marker = ":log-group:";
            var at = arn?.IndexOf(marker, StringComparison.Ordinal) ?? -1;
            if (arn is null || at < 0 || !arn.EndsWith(":*", StringComparison.Ordinal)) return null;
            var group = arn[(at + marker.Length)..^2];
            return group.Length == 0 ? null : new Settings(level, (bool?)logging["includeExecutionData"] ?? false, group);
        }
    }
}
