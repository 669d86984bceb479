using System.Text.Json.Nodes;
using Strata.Server.Jobs.StepFunctions;
using Strata.Server.Storage;
using Strata.States;

namespace Strata.Server.Tests.Unit;

/// <summary>The journal of a STANDARD execution in the state store: what a replay after a restart
/// sees is exactly what was recorded, and nothing recorded under a key is made twice.</summary>
public sealed class ExecutionJournalTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("strata-journal-").FullName;
    readonly SqliteStateStore _state;
    readonly ExecutionStore _store;
    readonly ExecutionRow _execution = new()
    {
        Account = "111111111111",
        ExecutionArn = "arn:aws:states:us-east-1:111111111111:execution:m:e",
        Name = "e",
        StateMachineArn = "arn:aws:states:us-east-1:111111111111:stateMachine:m",
        StateMachineName = "m",
        Type = "STANDARD",
        Definition = "{}",
        RoleArn = "arn:aws:iam::111111111111:role/r",
        StartDate = DateTimeOffset.UnixEpoch,
    };

    public ExecutionJournalTests()
    {
        _state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        _store = new ExecutionStore(_state);
        Assert.Null(_store.Add(_execution));
    }

    public void Dispose()
    {
        _state.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task EventsGetIdsInOrderAndAKeyIsRecordedOnce()
    {
        var journal = new StoredJournal(_store, _execution, TimeProvider.System);
        var started = await journal.AppendAsync("start", new HistoryEventDraft("ExecutionStarted", 0), default);
        var entered = await journal.AppendAsync("s1", new HistoryEventDraft("PassStateEntered", 1, "stateEnteredEventDetails", new JsonObject { ["name"] = "A" }), default);
        // A replay (a new journal over the same rows, as after a restart) gets the recorded events back.
        var replay = new StoredJournal(_store, _execution, TimeProvider.System);
        var again = await replay.AppendAsync("s1", new HistoryEventDraft("PassStateEntered", 1), default);
        Assert.Equal((1L, 2L), (started.Id, entered.Id));
        Assert.Equal(entered.Id, again.Id);
        Assert.Equal("A", again.Details!["name"]!.GetValue<string>());
        Assert.Equal(["ExecutionStarted", "PassStateEntered"], _store.Events(_execution).Select(e => e.Type));
        var exited = await replay.AppendAsync("s2", new HistoryEventDraft("PassStateExited", 2), default);
        Assert.Equal(3, exited.Id);
    }

    [Fact]
    public async Task EndingWritesTheStatusAndItsClosingEventTogetherOnlyOnce()
    {
        var journal = new StoredJournal(_store, _execution, TimeProvider.System);
        await journal.AppendAsync("start", new HistoryEventDraft("ExecutionStarted", 0), default);
        var now = DateTimeOffset.UnixEpoch.AddMinutes(1);
        ExecutionRow? Abort(ExecutionRow r) => r.Status == "RUNNING" ? r with { Status = "ABORTED", StopDate = now } : null;
        var (row, ended) = _store.End(_execution, Abort, "strata:ExecutionAborted", last => new HistoryEventDraft("ExecutionAborted", last), now);
        Assert.True(ended);
        Assert.Equal("ABORTED", row!.Status);
        Assert.Equal("ABORTED", _store.Get(_execution.Account, "m", "e")!.Status);
        var events = _store.Events(_execution);
        Assert.Equal(["ExecutionStarted", "ExecutionAborted"], events.Select(e => e.Type));
        Assert.Equal(1, events[^1].PreviousEventId);
        // A second stop finds it ended: no status change, no second event.
        (row, ended) = _store.End(_execution, Abort, "strata:ExecutionAborted", last => new HistoryEventDraft("ExecutionAborted", last), now);
        Assert.False(ended);
        Assert.Equal(2, _store.Events(_execution).Count);
    }

    [Fact]
    public void AddingChecksInItsTransactionAndARefusalAddsNothing()
    {
        var other = _execution with { Name = "f", ExecutionArn = _execution.ExecutionArn[..^1] + "f" };
        Assert.Throws<InvalidOperationException>(() => _store.Add(other, _ => throw new InvalidOperationException("the machine is gone")));
        Assert.Null(_store.Get(other.Account, "m", "f"));
    }

    [Fact]
    public async Task AValueIsComputedOnceAndReplayedAfterARestart()
    {
        var computed = 0;
        var journal = new StoredJournal(_store, _execution, TimeProvider.System);
        var first = await journal.OnceAsync("task#1/created", () => { computed++; return ValueTask.FromResult<JsonNode?>(new JsonObject { ["TrainingJobArn"] = "arn:job" }); }, default);
        var replay = new StoredJournal(_store, _execution, TimeProvider.System);
        var second = await replay.OnceAsync("task#1/created", () => { computed++; return ValueTask.FromResult<JsonNode?>(new JsonObject { ["TrainingJobArn"] = "other" }); }, default);
        var none = await replay.OnceAsync("nothing", () => { computed++; return ValueTask.FromResult<JsonNode?>(null); }, default);
        var noneAgain = await replay.OnceAsync("nothing", () => { computed++; return ValueTask.FromResult<JsonNode?>(JsonValue.Create(1)); }, default);
        Assert.Equal(2, computed);
        Assert.Equal("arn:job", first!["TrainingJobArn"]!.GetValue<string>());
        Assert.Equal("arn:job", second!["TrainingJobArn"]!.GetValue<string>());
        Assert.Null(none);
        Assert.Null(noneAgain);
    }

    [Fact]
    public void AnExecutionNameIsTakenOnce()
    {
        var existing = _store.Add(_execution with { Input = "{\"other\":1}" });
        Assert.NotNull(existing);
        Assert.Null(existing!.Input);
        Assert.Equal([_execution.ExecutionArn], _store.Running().Select(e => e.ExecutionArn));
    }
}
