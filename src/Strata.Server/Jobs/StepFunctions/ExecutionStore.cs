using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Strata.Server.Storage;
using Strata.States;

namespace Strata.Server.Jobs.StepFunctions;

/// <summary>One execution of a state machine, as the state store keeps it. It carries what it was
/// started with (the definition and role of the machine at that moment), so that a restart or a
/// later UpdateStateMachine never changes what a running execution does, and
/// DescribeStateMachineForExecution answers with the definition the execution ran.</summary>
public sealed record ExecutionRow
{
    public required string Account { get; init; }
    public required string ExecutionArn { get; init; }
    public required string Name { get; init; }
    public required string StateMachineArn { get; init; }
    public required string StateMachineName { get; init; }
    /// <summary>STANDARD (durable, resumed at start) or EXPRESS (kept only while the server runs).</summary>
    public required string Type { get; init; }
    public required string Definition { get; init; }
    public required string RoleArn { get; init; }
    public required DateTimeOffset StartDate { get; init; }
    public string Status { get; init; } = "RUNNING";
    public DateTimeOffset? StopDate { get; init; }
    public string? Input { get; init; }
    public string? Output { get; init; }
    public string? Error { get; init; }
    public string? Cause { get; init; }
    public string? TraceHeader { get; init; }
    public string? StateMachineVersionArn { get; init; }
    public string? StateMachineAliasArn { get; init; }
    /// <summary>The machine's logging and tracing configuration when the execution started (JSON as the API spells them).</summary>
    public string? LoggingConfiguration { get; init; }
    public string? TracingConfiguration { get; init; }
    public DateTimeOffset? StateMachineUpdateDate { get; init; }
    public string? StateMachineRevisionId { get; init; }
    /// <summary>How many times RedriveExecution restarted it, and the last time.</summary>
    public int RedriveCount { get; init; }
    public DateTimeOffset? RedriveDate { get; init; }
    /// <summary>The client tokens of the latest redrives (at most <see cref="ExecutionStore.RedriveTokensKept"/>),
    /// each with the date of the redrive it made: a repeated token answers that redrive.</summary>
    public List<RedriveTokenRow> RedriveTokens { get; init; } = [];
    /// <summary>A distributed Map's child: the Map Run that started it (its parent runs it), and how many of
    /// the run's items it processes (a batch's, under an ItemBatcher).</summary>
    public string? MapRunArn { get; init; }
    public long MapRunItems { get; init; }
    /// <summary>The run's RedriveCount when this child was started or last redriven: a later reopening of the
    /// run redrives it (if it did not succeed), a replay of the same one does not.</summary>
    public int MapRunRedrive { get; init; }
}

/// <summary>A client token RedriveExecution was given, and the date of the redrive it made.</summary>
public sealed record RedriveTokenRow(string Token, DateTimeOffset Date);

/// <summary>A recorded history event as stored: the details are the API's JSON.</summary>
public sealed record HistoryEventRow
{
    public long Id { get; init; }
    public long PreviousEventId { get; init; }
    public DateTimeOffset Timestamp { get; init; }
    public required string Type { get; init; }
    public string? DetailsName { get; init; }
    public string? Details { get; init; }

    public HistoryEvent ToEvent() => new(Id, PreviousEventId, Timestamp, Type, DetailsName,
        Details is null ? null : JsonNode.Parse(Details)!.AsObject());
}

/// <summary>What the journal holds under one key: the id of the event recorded there, or a value.</summary>
public sealed record JournalEntryRow
{
    public long? EventId { get; init; }
    public string? Value { get; init; }
}

[JsonSerializable(typeof(ExecutionRow))]
[JsonSerializable(typeof(HistoryEventRow))]
[JsonSerializable(typeof(JournalEntryRow))]
internal sealed partial class ExecutionRowsJson : JsonSerializerContext;

/// <summary>
/// Step Functions executions in the one state store: the execution rows, each execution's history
/// (events keyed by their id, zero-padded so that a scan returns them in order) and its journal
/// (what the interpreter recorded under its replay keys). Keys start with
/// <c>{account}/{machine}/{execution}</c>, so a machine's executions and an execution's events are
/// prefix scans. An event and the journal entry that names it are written in one transaction:
/// a crash never leaves an event without its key (which a replay would append again) or a key
/// without its event.
/// </summary>
public sealed class ExecutionStore(IStateStore state)
{
    /// <summary>Where new history events are logged, as each execution's logging configuration asks (none: not logged).</summary>
    public ExecutionLogs? Logs { get; init; }

    const string Executions = "sfn-executions", History = "sfn-history", Journal = "sfn-journal", Sequence = "sfn-history-seq";

    /// <summary>A distributed Map's children have the machine <c>Machine/Label</c>: stored under <c>Machine:Label</c>
    /// (no machine name has a ':'), so a child's keys are never under a parent's named like the label.</summary>
    public static string Key(string account, string machine, string name) => $"{account}/{machine.Replace('/', ':')}/{name}";

    /// <summary>What ends an execution whose history is full.</summary>
    public static StatesError HistoryFull() => new("States.Runtime",
        $"The execution reached the maximum number of events in its history ({ExecutionRunner.MaxHistoryEvents}).");

    static string Key(ExecutionRow e) => Key(e.Account, e.StateMachineName, e.Name);

    static string EventKey(string execution, long id) => execution + "/" + id.ToString("D10", CultureInfo.InvariantCulture);

    public ExecutionRow? Get(string account, string machine, string name)
        => state.Read(r => r.Get(Executions, Key(account, machine, name))) is { } json ? Parse(json) : null;

    /// <summary>How many redrive client tokens an execution keeps, and how long one answers its redrive (AWS's rule).</summary>
    public const int RedriveTokensKept = 10;
    public static readonly TimeSpan RedriveTokenLifetime = TimeSpan.FromMinutes(15);

    /// <summary>Adds the execution unless one of that name exists; returns the one that is there then.
    /// <paramref name="check"/> runs in the same transaction first and throws to refuse (the machine
    /// must still exist: a DeleteStateMachine in between stops only the executions it can see).</summary>
    public ExecutionRow? Add(ExecutionRow row, Action<IStateReader>? check = null) => Add(row, check, null);

    /// <summary><see cref="Add(ExecutionRow, Action{IStateReader}?)"/>, and <paramref name="adding"/> runs in the same
    /// transaction when the row is new (it may throw to refuse, or write beside it).</summary>
    public ExecutionRow? Add(ExecutionRow row, Action<IStateReader>? check, Action<IStateWriter>? adding) => state.Write(w =>
    {
        check?.Invoke(w);
        if (w.Get(Executions, Key(row)) is { } existing) return Parse(existing);
        adding?.Invoke(w);
        w.Put(Executions, Key(row), JsonSerializer.Serialize(row, ExecutionRowsJson.Default.ExecutionRow));
        return null;
    });

    /// <summary>The execution of that ARN (a child's <c>…:execution:Machine/Label:name</c> too), read in a transaction.</summary>
    public static ExecutionRow? Get(IStateReader r, string account, string machine, string name)
        => r.Get(Executions, Key(account, machine, name)) is { } json ? Parse(json) : null;

    /// <summary>Changes an execution in one transaction; <paramref name="change"/> returns null to leave it.
    /// Returns the row as it is afterwards (null when there is none).</summary>
    public ExecutionRow? Update(string account, string machine, string name, Func<ExecutionRow, ExecutionRow?> change) => state.Write(w =>
    {
        if (w.Get(Executions, Key(account, machine, name)) is not { } json) return null;
        var row = Parse(json);
        if (change(row) is not { } changed) return row;
        w.Put(Executions, Key(account, machine, name), JsonSerializer.Serialize(changed, ExecutionRowsJson.Default.ExecutionRow));
        return changed;
    });

    /// <summary>A machine's executions, newest first (as ListExecutions orders them).</summary>
    public List<ExecutionRow> ListOf(string account, string machine)
        => state.Read(r => r.Scan(Executions, $"{account}/{machine.Replace('/', ':')}/", null, int.MaxValue)).Select(kv => Parse(kv.Value))
            .Where(e => e.StateMachineName == machine)
            .OrderByDescending(e => e.StartDate).ThenByDescending(e => e.Name, StringComparer.Ordinal).ToList();

    /// <summary>Every execution still running, of every account, but a distributed Map's children: what the
    /// runner resumes at start (a child resumes when its parent's replay reaches it).</summary>
    public List<ExecutionRow> Running()
        => state.Read(r => r.Scan(Executions, "", null, int.MaxValue)).Select(kv => Parse(kv.Value)).Where(e => e.Status == "RUNNING" && e.MapRunArn is null).ToList();

    /// <summary>Every distributed Map's child still running (the runner's sweep at start ends those whose run ended).</summary>
    public List<ExecutionRow> RunningChildren()
        => state.Read(r => r.Scan(Executions, "", null, int.MaxValue)).Select(kv => Parse(kv.Value)).Where(e => e.Status == "RUNNING" && e.MapRunArn is not null).ToList();

    /// <summary>The execution's events, in id order.</summary>
    public List<HistoryEvent> Events(ExecutionRow e)
        => state.Read(r => r.Scan(History, Key(e) + "/", null, int.MaxValue))
            .Select(kv => JsonSerializer.Deserialize(kv.Value, ExecutionRowsJson.Default.HistoryEventRow)!.ToEvent()).ToList();

    /// <summary>How many events the execution's history holds.</summary>
    public long EventCount(ExecutionRow e)
        => state.Read(r => r.Get(Sequence, Key(e))) is { } last ? long.Parse(last, CultureInfo.InvariantCulture) : 0;

    /// <summary>Redrives an ended execution in one transaction: <paramref name="change"/> sees the store (to
    /// check what else must hold), the row and its event count, and turns the row into the running one (or
    /// throws to refuse, or answers null to leave it: a repeated client token); the journal forgets what
    /// did not succeed (<see cref="Redrive"/>: the replay reruns it) and the history gets
    /// <c>ExecutionRedriven</c>. Returns the row afterwards and whether it was redriven.</summary>
    public (ExecutionRow Row, bool Redriven) Redrive(ExecutionRow e, Func<IStateReader, ExecutionRow, long, ExecutionRow?> change, DateTimeOffset now)
    {
        HistoryEvent? appended = null;
        var result = state.Write<(ExecutionRow Row, bool Redriven)>(w =>
        {
            appended = null;
            var execution = Key(e);
            var row = Parse(w.Get(Executions, execution)!);
            var count = w.Get(Sequence, execution) is { } last ? long.Parse(last, CultureInfo.InvariantCulture) : 0;
            if (change(w, row, count) is not { } redriven) return (row, false);
            var prefix = execution + "/";
            var keys = w.Scan(Journal, prefix, null, int.MaxValue).Select(kv => kv.Key[prefix.Length..]).ToList();
            foreach (var key in Strata.States.Redrive.KeysToForget(keys)) w.Delete(Journal, prefix + key);
            var (redrive, added) = AppendIn(w, execution, $"strata:redrive{redriven.RedriveCount.ToString(CultureInfo.InvariantCulture)}",
                new HistoryEventDraft("ExecutionRedriven", count, "executionRedrivenEventDetails", new JsonObject { ["redriveCount"] = redriven.RedriveCount }), now);
            if (added) appended = redrive;
            w.Put(Executions, execution, JsonSerializer.Serialize(redriven, ExecutionRowsJson.Default.ExecutionRow));
            return (redriven, true);
        });
        if (appended is not null) Logs?.Post(result.Row, appended);
        return result;
    }

    /// <summary>Ends a running execution in one transaction: <paramref name="change"/> turns the row into the
    /// ended one (null leaves a row that is not running as it is), and the closing event is appended
    /// under <paramref name="journalKey"/> after the last one. One transaction, so a redrive can never
    /// come between the status and its event (and see an ended execution whose closing event follows
    /// its ExecutionRedriven). Returns the row afterwards and whether this call ended it.</summary>
    public (ExecutionRow? Row, bool Ended) End(ExecutionRow e, Func<ExecutionRow, ExecutionRow?> change, string journalKey,
        Func<long, HistoryEventDraft> closing, DateTimeOffset now)
    {
        HistoryEvent? appended = null;
        var result = state.Write<(ExecutionRow?, bool)>(w =>
        {
            appended = null;
            var execution = Key(e);
            if (w.Get(Executions, execution) is not { } json) return (null, false);
            var row = Parse(json);
            if (change(row) is not { } ended) return (row, false);
            var last = w.Get(Sequence, execution) is { } seq ? long.Parse(seq, CultureInfo.InvariantCulture) : 0;
            var (closed, added) = AppendIn(w, execution, journalKey, closing(last), now);
            if (added) appended = closed;
            w.Put(Executions, execution, JsonSerializer.Serialize(ended, ExecutionRowsJson.Default.ExecutionRow));
            return (ended, true);
        });
        if (appended is not null) Logs?.Post(e, appended);
        return result;
    }

    /// <summary>Appends an event unless one was recorded under <paramref name="journalKey"/>; returns the recorded one.</summary>
    public HistoryEvent Append(ExecutionRow e, string journalKey, HistoryEventDraft draft, DateTimeOffset now)
    {
        var (appended, added) = state.Write(w => AppendIn(w, Key(e), journalKey, draft, now));
        if (added) Logs?.Post(e, appended);
        return appended;
    }

    /// <summary>Appends the event unless one was recorded under the key: returns the event, and whether it is new.</summary>
    static (HistoryEvent Event, bool Added) AppendIn(IStateWriter w, string execution, string journalKey, HistoryEventDraft draft, DateTimeOffset now)
    {
        if (w.Get(Journal, execution + "/" + journalKey) is { } entry
            && JsonSerializer.Deserialize(entry, ExecutionRowsJson.Default.JournalEntryRow)!.EventId is { } recorded
            && w.Get(History, EventKey(execution, recorded)) is { } recordedEvent)
            return (JsonSerializer.Deserialize(recordedEvent, ExecutionRowsJson.Default.HistoryEventRow)!.ToEvent(), false);
        var id = (w.Get(Sequence, execution) is { } last ? long.Parse(last, CultureInfo.InvariantCulture) : 0) + 1;
        // The runner's own closing events (strata:…) are written past the limit: a full history still ends.
        if (id > ExecutionRunner.MaxHistoryEvents && !journalKey.StartsWith("strata:", StringComparison.Ordinal)) throw HistoryFull();
        var row = new HistoryEventRow
        {
            Id = id,
            PreviousEventId = draft.PreviousEventId,
            Timestamp = now,
            Type = draft.Type,
            DetailsName = draft.DetailsName,
            Details = draft.Details?.ToJsonString(),
        };
        w.Put(History, EventKey(execution, id), JsonSerializer.Serialize(row, ExecutionRowsJson.Default.HistoryEventRow));
        w.Put(Sequence, execution, id.ToString(CultureInfo.InvariantCulture));
        w.Put(Journal, execution + "/" + journalKey, JsonSerializer.Serialize(new JournalEntryRow { EventId = id }, ExecutionRowsJson.Default.JournalEntryRow));
        return (row.ToEvent(), true);
    }

    /// <summary>The value recorded under the key, if any (<c>Found</c> tells a recorded null from none).</summary>
    public (bool Found, JsonNode? Value) Recorded(ExecutionRow e, string journalKey)
    {
        var entry = state.Read(r => r.Get(Journal, Key(e) + "/" + journalKey));
        if (entry is null) return (false, null);
        var value = JsonSerializer.Deserialize(entry, ExecutionRowsJson.Default.JournalEntryRow)!.Value;
        return (true, value is null ? null : JsonNode.Parse(value));
    }

    /// <summary>Records a value under the key unless one is there; returns the one that is there afterwards.</summary>
    public JsonNode? Record(ExecutionRow e, string journalKey, JsonNode? value) => state.Write(w =>
    {
        var key = Key(e) + "/" + journalKey;
        if (w.Get(Journal, key) is { } entry)
            return JsonSerializer.Deserialize(entry, ExecutionRowsJson.Default.JournalEntryRow)!.Value is { } v ? JsonNode.Parse(v) : null;
        w.Put(Journal, key, JsonSerializer.Serialize(new JournalEntryRow { Value = value?.ToJsonString() ?? "null" }, ExecutionRowsJson.Default.JournalEntryRow));
        return value?.DeepClone();
    });

    static ExecutionRow Parse(string json) => JsonSerializer.Deserialize(json, ExecutionRowsJson.Default.ExecutionRow)!;
}
