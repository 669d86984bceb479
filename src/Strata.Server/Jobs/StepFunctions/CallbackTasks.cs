using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Strata.Server.Protocol;
using Strata.Server.Storage;
using Strata.States;

namespace Strata.Server.Jobs.StepFunctions;

/// <summary>A task waiting for its token (a <c>.waitForTaskToken</c> task or an activity's task), as the
/// state store keeps it, so that the wait survives a restart and SendTask* after one finds it.</summary>
public sealed record TaskTokenRow
{
    public required string Token { get; init; }
    public required string Account { get; init; }
    public required string ExecutionArn { get; init; }
    public required string StateMachineName { get; init; }
    public required string ExecutionName { get; init; }
    /// <summary>The activity whose workers take the task; null for a <c>.waitForTaskToken</c> task.</summary>
    public string? ActivityName { get; init; }
    /// <summary>What GetActivityTask hands the worker (the task's Parameters as JSON).</summary>
    public string? Input { get; init; }
    /// <summary>SCHEDULED (an activity's task no worker took yet), STARTED (waiting for SendTask*), then
    /// SUCCEEDED, FAILED, TIMED_OUT or CLOSED (the task ended otherwise: its call failed).</summary>
    public required string Status { get; init; }
    public required DateTimeOffset Created { get; init; }
    /// <summary>When the wait began (a worker took the activity task); the first heartbeat interval counts from here.</summary>
    public DateTimeOffset? Started { get; init; }
    public DateTimeOffset? LastHeartbeat { get; init; }
    public string? WorkerName { get; init; }
    public string? Output { get; init; }
    public string? Error { get; init; }
    public string? Cause { get; init; }
}

[JsonSerializable(typeof(TaskTokenRow))]
internal sealed partial class TaskTokenRowsJson : JsonSerializerContext;

/// <summary>A token that is not one Step Functions makes.</summary>
public sealed class MalformedTaskToken() : DomainError("Invalid Token: 'Invalid token'");

/// <summary>A token of no waiting task: unknown, another account's, already answered, or of an execution that ended.</summary>
public sealed class TaskTokenNotFound() : DomainError("Task Does Not Exist: 'Provided task does not exist anymore'");

/// <summary>A token whose task timed out (TimeoutSeconds or a missed heartbeat).</summary>
public sealed class TaskTokenTimedOut() : DomainError("Task Timed Out: 'Provided task does not exist anymore'");

/// <summary>
/// The callback pattern: tasks that wait for SendTaskSuccess, SendTaskFailure or SendTaskHeartbeat
/// with their token, and the queues of activity tasks that GetActivityTask hands out. Everything is
/// a row of the state store, written before anyone is told: an answer recorded just before a crash is
/// found by the resumed execution, and a task scheduled before it is still handed out after it.
/// In memory there are only signals, so that a waiter (a task, a long poll) wakes when a row changes
/// instead of polling; every wait is on the injected clock.
/// </summary>
public sealed class CallbackTasks(IStateStore state, ExecutionStore executions, TimeProvider clock)
{
    const string Tokens = "sfn-task-tokens", Queue = "sfn-activity-queue", QueueSequence = "sfn-activity-queue-seq";

    /// <summary>Each token under its execution ("{executionArn}/{token}"), so that the rows of an
    /// execution that ended are deleted (<see cref="Forget"/>) rather than kept for ever.</summary>
    const string ByExecution = "sfn-task-tokens-by-execution";

    /// <summary>The length of the tokens the interpreter makes (96 random bytes, base64url).</summary>
    const int TokenLength = 128;

    readonly ConcurrentDictionary<string, TaskCompletionSource> _signals = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="token"/> has the shape of a token Step Functions made.</summary>
    public static bool IsWellFormed(string token)
        => token.Length == TokenLength && token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    public TaskTokenRow? Get(string token) => state.Read(r => r.Get(Tokens, token)) is { } json ? Parse(json) : null;

    /// <summary>Records a waiting task unless its token is recorded (a replay after a restart); an
    /// activity's task joins the end of its activity's queue. Returns the recorded row.</summary>
    public TaskTokenRow Register(TaskTokenRow row)
    {
        var (recorded, queued) = state.Write(w =>
        {
            if (w.Get(Tokens, row.Token) is { } existing) return (Parse(existing), false);
            w.Put(Tokens, row.Token, Serialize(row));
            w.Put(ByExecution, $"{row.ExecutionArn}/{row.Token}", "");
            if (row.ActivityName is null) return (row, false);
            var next = (w.Get(QueueSequence, "") is { } last ? long.Parse(last, CultureInfo.InvariantCulture) : 0) + 1;
            w.Put(QueueSequence, "", next.ToString(CultureInfo.InvariantCulture));
            w.Put(Queue, $"{QueuePrefix(row.Account, row.ActivityName)}{next:D19}", row.Token);
            return (row, true);
        });
        if (queued) Signal(QueueSignal(row.Account, row.ActivityName!));
        return recorded;
    }

    /// <summary>
    /// Waits until the task is answered and returns the output SendTaskSuccess gave, or throws the
    /// StatesError SendTaskFailure gave, or <c>States.HeartbeatTimeout</c> when no heartbeat (nor answer)
    /// came within <paramref name="heartbeat"/> of the start or of the last heartbeat. Cancelled past the
    /// task's deadline (the interpreter's TimeoutSeconds), the task is recorded TIMED_OUT: a late answer
    /// gets TaskTimedOut. <paramref name="started"/> is told once when a worker took an activity's task.
    /// </summary>
    public async Task<JsonNode?> WaitAsync(string token, TimeSpan? heartbeat, DateTimeOffset? deadline, Func<TaskTokenRow, ValueTask>? started,
        CancellationToken ct)
    {
        var announced = false;
        try
        {
            while (true)
            {
                // The signal is taken before the row is read: a change after the read wakes this wait.
                var changed = Waiter(token);
                var row = Get(token) ?? throw new InvalidOperationException($"No task is recorded under the token of {token[..8]}….");
                if (row.Started is not null && !announced)
                {
                    announced = true;
                    if (started is not null) await started(row);
                }
                switch (row.Status)
                {
                    case "SUCCEEDED":
                        return JsonNode.Parse(row.Output ?? "null");
                    case "FAILED":
                        throw new StatesError(row.Error ?? "", row.Cause);
                    case "TIMED_OUT" when row.Error == "States.HeartbeatTimeout":
                        throw new StatesError("States.HeartbeatTimeout", null);
                    case "TIMED_OUT" or "CLOSED":
                        // Ended by its deadline before a restart: the interpreter's own timer says so at once.
                        await Task.Delay(Timeout.Infinite, ct);
                        break;
                }
                var now = clock.GetUtcNow();
                DateTimeOffset? beatDue = heartbeat is { } h && (row.LastHeartbeat ?? row.Started) is { } since ? since + h : null;
                if (beatDue is { } due && due <= now)
                {
                    if (End(token, "States.HeartbeatTimeout")) throw new StatesError("States.HeartbeatTimeout", null);
                    continue;
                }
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var timer = beatDue is { } d ? Task.Delay(d - now, clock, stop.Token) : Task.Delay(Timeout.Infinite, stop.Token);
                await Task.WhenAny(changed, timer);
                await stop.CancelAsync();
                ct.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (deadline is { } at && clock.GetUtcNow() >= at)
        {
            // The interpreter's TimeoutSeconds ended the task (a stop or a server shutdown leaves it as it is:
            // a stopped execution's tokens are refused for its status, a shutdown resumes the wait).
            End(token, "States.Timeout");
            throw;
        }
        finally
        {
            // Nobody waits on this task's signal any more.
            _signals.TryRemove(token, out _);
        }
    }

    /// <summary>Deletes the tasks of an execution that ended: no answer may reach them any more (an
    /// answer to an ended execution's token is refused for the execution's status, whether its row
    /// is kept or not), and a redrive runs its failed states with new tokens. In pages, each a
    /// transaction of its own. Their activity queue entries go when a worker's poll passes them.</summary>
    public void Forget(string executionArn)
    {
        while (state.Write(w =>
        {
            var page = w.Scan(ByExecution, executionArn + "/", null, 500);
            foreach (var (key, _) in page)
            {
                w.Delete(Tokens, key[(executionArn.Length + 1)..]);
                w.Delete(ByExecution, key);
            }
            return page.Count;
        }) > 0) { }
    }

    /// <summary>Ends a task that no answer may complete any more (CLOSED): its call failed, or it was cancelled other than by a shutdown.</summary>
    public void Close(string token) => state.Write(w =>
    {
        if (w.Get(Tokens, token) is not { } json) return false;
        var row = Parse(json);
        if (row.Status is not ("SCHEDULED" or "STARTED")) return false;
        w.Put(Tokens, token, Serialize(row with { Status = "CLOSED" }));
        return true;
    });

    /// <summary>Records a timeout unless the task was answered first; true when this recorded it.</summary>
    bool End(string token, string error) => state.Write(w =>
    {
        if (w.Get(Tokens, token) is not { } json) return false;
        var row = Parse(json);
        if (row.Status is not ("SCHEDULED" or "STARTED")) return false;
        w.Put(Tokens, token, Serialize(row with { Status = "TIMED_OUT", Error = error }));
        return true;
    });

    /// <summary>SendTaskSuccess: <paramref name="output"/> is the task's result (JSON, checked by the caller).</summary>
    public void Succeed(string account, string token, string output)
        => Answer(account, token, row => row with { Status = "SUCCEEDED", Output = output });

    /// <summary>SendTaskFailure: the task fails with the error and cause given.</summary>
    public void Fail(string account, string token, string? error, string? cause)
        => Answer(account, token, row => row with { Status = "FAILED", Error = error, Cause = cause });

    /// <summary>SendTaskHeartbeat: the heartbeat interval starts again now.</summary>
    public void Heartbeat(string account, string token)
        => Answer(account, token, row => row with { LastHeartbeat = clock.GetUtcNow() });

    void Answer(string account, string token, Func<TaskTokenRow, TaskTokenRow> change)
    {
        if (!IsWellFormed(token)) throw new MalformedTaskToken();
        // Another account's token is as unknown as one never made: nothing says it exists.
        if (Get(token) is not { } found || found.Account != account) throw new TaskTokenNotFound();
        if (executions.Get(found.Account, found.StateMachineName, found.ExecutionName) is not { Status: "RUNNING" })
            throw new TaskTokenNotFound();
        state.Write(w =>
        {
            var row = Parse(w.Get(Tokens, token)!);
            switch (row.Status)
            {
                case "TIMED_OUT": throw new TaskTokenTimedOut();
                case "SCHEDULED" or "STARTED": break;
                default: throw new TaskTokenNotFound();
            }
            w.Put(Tokens, token, Serialize(change(row)));
            return true;
        });
        Signal(token);
    }

    /// <summary>
    /// GetActivityTask: hands the oldest task scheduled for the activity to the worker (the task is
    /// STARTED from now on), waiting up to <paramref name="wait"/> for one to be scheduled. Null when
    /// none came. Tasks whose execution ended or that timed out before a worker came are dropped.
    /// </summary>
    public async Task<TaskTokenRow?> TakeAsync(string account, string activityName, string? workerName, TimeSpan wait, CancellationToken ct)
    {
        var until = clock.GetUtcNow() + wait;
        while (true)
        {
            var changed = Waiter(QueueSignal(account, activityName));
            while (TryTake(account, activityName, workerName) is { } row)
            {
                if (executions.Get(row.Account, row.StateMachineName, row.ExecutionName) is { Status: "RUNNING" })
                {
                    Signal(row.Token);
                    return row;
                }
                Close(row.Token);
            }
            var left = until - clock.GetUtcNow();
            if (left <= TimeSpan.Zero) return null;
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            await Task.WhenAny(changed, Task.Delay(left, clock, stop.Token));
            await stop.CancelAsync();
            ct.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The oldest task still waiting for a worker, now taken by this one. Entries whose task
    /// ended meanwhile (timed out, its execution stopped) are dropped on the way, page after page,
    /// so that any number of them never hides a live task behind them.</summary>
    TaskTokenRow? TryTake(string account, string activityName, string? workerName) => state.Write(w =>
    {
        while (true)
        {
            var page = w.Scan(Queue, QueuePrefix(account, activityName), null, 100);
            if (page.Count == 0) return null;
            foreach (var (key, token) in page)
            {
                w.Delete(Queue, key);
                if (w.Get(Tokens, token) is not { } json) continue;
                var row = Parse(json);
                if (row.Status != "SCHEDULED") continue;
                var taken = row with { Status = "STARTED", Started = clock.GetUtcNow(), WorkerName = workerName };
                w.Put(Tokens, token, Serialize(taken));
                return taken;
            }
        }
    });

    static string QueuePrefix(string account, string activityName) => $"{account}/{activityName}/";

    static string QueueSignal(string account, string activityName) => "queue:" + QueuePrefix(account, activityName);

    Task Waiter(string key) => _signals.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    void Signal(string key)
    {
        if (_signals.TryRemove(key, out var waiting)) waiting.TrySetResult();
    }

    static string Serialize(TaskTokenRow row) => JsonSerializer.Serialize(row, TaskTokenRowsJson.Default.TaskTokenRow);

    static TaskTokenRow Parse(string json) => JsonSerializer.Deserialize(json, TaskTokenRowsJson.Default.TaskTokenRow)!;
}
