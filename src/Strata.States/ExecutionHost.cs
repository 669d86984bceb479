using System.Text.Json.Nodes;

namespace Strata.States;

// The contract between the interpreter (this library, pure) and whoever runs executions (the
// server's Step Functions runner, or a test). Everything with an effect goes through here: tasks,
// time and the durable journal. Keep it small; the runner and the interpreter are written apart.

/// <summary>What the interpreter needs from the world while an execution runs.</summary>
public interface IExecutionHost
{
    /// <summary>The one clock: Wait states, retry intervals, timeouts and event timestamps.</summary>
    TimeProvider Clock { get; }

    /// <summary>The execution's durable record: its history and the values a replay must see again.</summary>
    IExecutionJournal Journal { get; }

    /// <summary>
    /// Runs one attempt of a Task state (or a Map's ItemReader/ResultWriter, which are S3 calls:
    /// <c>arn:aws:states:::s3:getObject</c>, <c>…:s3:listObjectsV2</c>, <c>…:s3:putObject</c>) and
    /// returns its result. A failed task throws <see cref="StatesError"/> with the error name AWS gives
    /// (the service's error code for an SDK/optimised integration, <c>States.TaskFailed</c> …).
    /// The host emits the events only it can know of (<c>TaskSubmitted</c> of a <c>.sync</c> task,
    /// <c>TaskStarted</c> of an activity once a worker took it) through <paramref name="emit"/>; the
    /// interpreter emits <c>TaskScheduled</c>, <c>TaskSucceeded</c>, <c>TaskFailed</c>, <c>TaskTimedOut</c>.
    /// Must be resumable by <see cref="TaskRequest.Key"/>: after a restart the same key continues
    /// the same attempt (polls the job it created) instead of starting another.
    /// </summary>
    Task<JsonNode?> RunTaskAsync(TaskRequest request, Func<HistoryEventDraft, ValueTask> emit, CancellationToken cancellationToken);

    /// <summary>Where a distributed Map keeps its Map Runs and child executions. A host without them (a
    /// test's, TestState's) runs a distributed Map's iterations in the parent's own history, as an inline Map's.</summary>
    IMapRunHost? MapRuns => null;
}

/// <summary>
/// A distributed Map's Map Runs and their child executions, as the host keeps them (DescribeMapRun,
/// ListExecutions by Map Run). The interpreter runs each child itself, on the host and journal this
/// gives it: a child's history is its own, so a Map's items do not count against the parent's history.
/// Every call is idempotent by the ARNs and names the interpreter makes (stable across replays): after
/// a restart the replay finds the run and its children as they were, and runs only the unfinished ones.
/// </summary>
public interface IMapRunHost
{
    /// <summary>Records the Map Run, RUNNING, unless it is recorded; a run that failed or was aborted is reopened
    /// when its parent was redriven since (its children that did not succeed then run again). Returns how many
    /// times the run was redriven.</summary>
    ValueTask<int> StartAsync(MapRunStart run, CancellationToken cancellationToken);

    /// <summary>The run's settings now: UpdateMapRun changes them while it runs.</summary>
    MapRunSettings Settings(string mapRunArn);

    /// <summary>Completes when UpdateMapRun next changes the run's settings.</summary>
    Task Changed(string mapRunArn);

    /// <summary>The child execution: made now (RUNNING, on a host of its own) unless it was, and then as it is
    /// (its outcome when it ended; its host to resume it on when it still runs).</summary>
    ValueTask<ChildExecution> ChildAsync(string mapRunArn, ChildExecutionStart child, CancellationToken cancellationToken);

    /// <summary>The child ended so; the host records its end (ABORTED: the Map or StopExecution stopped it,
    /// and the host appends its <c>ExecutionAborted</c>).</summary>
    ValueTask ChildEndedAsync(ChildExecution child, ExecutionOutcome outcome, CancellationToken cancellationToken);

    /// <summary>The run ended: SUCCEEDED, FAILED or ABORTED, with how many results a ResultWriter exported.</summary>
    ValueTask EndAsync(string mapRunArn, string status, long resultsWritten, CancellationToken cancellationToken);
}

/// <summary>A Map Run as it starts: its ARN, its children's state machine (<c>…:stateMachine:Machine/Label</c>),
/// how many items and child executions it has (they differ under an ItemBatcher), and its settings.</summary>
public sealed record MapRunStart(string MapRunArn, string StateMachineArn, long ItemCount, long ExecutionCount, string ExecutionType, MapRunSettings Settings);

/// <summary>What UpdateMapRun changes: how many children run at once (0: as many as allowed) and how many
/// failed items the run tolerates (a count and a percentage of its items; the larger wins).</summary>
public sealed record MapRunSettings(int MaxConcurrency, double ToleratedFailurePercentage, long ToleratedFailureCount)
{
    /// <summary>How many items may fail, of <paramref name="items"/>, before the run fails.</summary>
    public long Tolerated(long items) => ToleratedFailurePercentage >= 100 ? long.MaxValue
        : Math.Max(ToleratedFailureCount, (long)Math.Floor(ToleratedFailurePercentage / 100.0 * items));
}

/// <summary>A child execution to start: its ARN, name, state machine (the Map's ItemProcessor, whose
/// definition it records), input, how many items it processes, and its type (the ProcessorConfig's ExecutionType).</summary>
public sealed record ChildExecutionStart(string ExecutionArn, string Name, string StateMachineArn, string StateMachineName, string Definition,
    JsonNode? Input, long ItemCount, string ExecutionType);

/// <summary>A child execution as the host has it: how it started, the host it runs on, and its outcome and
/// stop date once it ended.</summary>
public sealed record ChildExecution(ExecutionStart Start, IExecutionHost Host, ExecutionOutcome? Outcome, DateTimeOffset? StopDate)
{
    /// <summary>Cancelled when the child alone is stopped (StopExecution names it): it ends ABORTED.</summary>
    public CancellationToken Stopped { get; init; }
}

/// <summary>
/// The durable journal of one execution. A restarted execution is run again from its start by the
/// interpreter: every event and value already recorded under a key is returned as recorded instead
/// of being produced again, so the replay is silent and nothing (a Task above all) runs twice.
/// Keys are made by the interpreter and are stable across replays (the path of frames, the step's
/// index in its frame, the state's name, the attempt). Implementations are safe to call from
/// concurrent branches (Parallel, Map).
/// </summary>
public interface IExecutionJournal
{
    /// <summary>Appends an event (its id is the next one) unless one was recorded under the key; returns the recorded event.</summary>
    ValueTask<HistoryEvent> AppendAsync(string key, HistoryEventDraft draft, CancellationToken cancellationToken);

    /// <summary>The value recorded under the key, or records and returns what <paramref name="compute"/> gives.
    /// The interpreter records a Wait's due time, a task's result or error, a task token, MathRandom and UUID.</summary>
    ValueTask<JsonNode?> OnceAsync(string key, Func<ValueTask<JsonNode?>> compute, CancellationToken cancellationToken);
}

/// <summary>An event about to be recorded: its type (<c>TaskStateEntered</c>), the id of the event
/// that led to it (AWS's <c>previousEventId</c>) and its details, stored under the member name the
/// API uses for that type (<c>stateEnteredEventDetails</c>).</summary>
public sealed record HistoryEventDraft(string Type, long PreviousEventId, string? DetailsName = null, JsonObject? Details = null);

/// <summary>A recorded event, as GetExecutionHistory returns it.</summary>
public sealed record HistoryEvent(long Id, long PreviousEventId, DateTimeOffset Timestamp, string Type, string? DetailsName, JsonObject? Details);

/// <summary>One attempt of a Task state, with its parameters already evaluated.</summary>
/// <param name="Resource">The state's Resource: <c>arn:aws:states:::sagemaker:createTrainingJob.sync</c>,
/// <c>arn:aws:states:::aws-sdk:s3:getObject</c>, an activity ARN, …</param>
/// <param name="Parameters">The evaluated Parameters (JSONPath) or Arguments (JSONata).</param>
/// <param name="StateName">The Task state's name.</param>
/// <param name="Key">Stable across replays; identifies this attempt (see <see cref="IExecutionJournal"/>).</param>
/// <param name="TaskToken">For <c>.waitForTaskToken</c> and activities: the token the interpreter made
/// (<c>$$.Task.Token</c>); the host completes the task when SendTaskSuccess/Failure names it.</param>
/// <param name="Timeout">TimeoutSeconds(Path): the interpreter enforces it too, the host passes it on (a job's own limit).</param>
/// <param name="Heartbeat">HeartbeatSeconds(Path): the host fails the task with <c>States.HeartbeatTimeout</c>.</param>
/// <param name="Credentials">The state's Credentials (RoleArn to assume instead of the execution's role), or null.</param>
public sealed record TaskRequest(string Resource, JsonNode? Parameters, string StateName, string Key, string? TaskToken,
    TimeSpan? Timeout, TimeSpan? Heartbeat, JsonNode? Credentials)
{
    /// <summary>When the attempt was scheduled (its TaskScheduled/ActivityScheduled event): TimeoutSeconds counts from here.</summary>
    public DateTimeOffset? ScheduledAt { get; init; }

    /// <summary>A distributed Map's ItemReader or ResultWriter call (<c>s3:getObject</c>, <c>s3:listObjectsV2</c>,
    /// <c>s3:putObject</c>), which are not Task resources.</summary>
    public bool ItemReaderOrWriter { get; init; }

    /// <summary>An ItemReader's MaxItems: a listing need not go past it.</summary>
    public long? MaxItems { get; init; }

    /// <summary>An ItemReader's <c>s3:getObject</c> of a gzip object (an S3 Inventory's data file): its Body is the text within.</summary>
    public bool Gunzip { get; init; }
}

/// <summary>An error raised by a state: its name (<c>States.TaskFailed</c>, <c>States.Runtime</c>,
/// a task's own error such as <c>SageMaker.ResourceNotFoundException</c>) and its cause.</summary>
public sealed class StatesError(string error, string? cause) : Exception(cause ?? error)
{
    public string Error { get; } = error;
    public string? Cause { get; } = cause;

    /// <summary>The task could not even be scheduled (an activity that does not exist): recorded as
    /// <c>ActivityScheduleFailed</c> rather than a failure of a task that ran.</summary>
    public bool ScheduleFailed { get; init; }
}

/// <summary>What starts an execution; also what <c>$$.Execution</c> and <c>$$.StateMachine</c> show.</summary>
public sealed record ExecutionStart(string ExecutionArn, string ExecutionName, string StateMachineArn, string StateMachineName,
    string RoleArn, DateTimeOffset StartTime, JsonNode? Input, int RedriveCount = 0)
{
    /// <summary>The version started (ExecutionStarted's <c>stateMachineVersionArn</c>), when one was.</summary>
    public string? StateMachineVersionArn { get; init; }

    /// <summary>The alias started through (ExecutionStarted's <c>stateMachineAliasArn</c>), when one was.</summary>
    public string? StateMachineAliasArn { get; init; }

    /// <summary>When the execution was last redriven: the machine's TimeoutSeconds counts from then.</summary>
    public DateTimeOffset? RedriveDate { get; init; }
}

/// <summary>How an execution ended: <c>SUCCEEDED</c>, <c>FAILED</c> or <c>TIMED_OUT</c> (an aborted
/// execution is one the runner cancelled: the interpreter then throws OperationCanceledException; a
/// distributed Map's child that the Map stopped ends <c>ABORTED</c>).</summary>
public sealed record ExecutionOutcome(string Status, JsonNode? Output, string? Error, string? Cause);
