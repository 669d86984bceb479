using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Strata.States;

namespace Strata.Server.Jobs.StepFunctions;

/// <summary>A STANDARD execution's journal: rows of the state store (<see cref="ExecutionStore"/>),
/// so a restarted server replays what was recorded and runs only what was not.</summary>
public sealed class StoredJournal(ExecutionStore store, ExecutionRow execution, TimeProvider clock) : IExecutionJournal
{
    // Two branches computing a value under the same key at once (they never should: keys name
    // their frame) still record one; the lock keeps compute from running twice in this process.
    readonly ConcurrentDictionary<string, SemaphoreSlim> _computing = new(StringComparer.Ordinal);

    public ValueTask<HistoryEvent> AppendAsync(string key, HistoryEventDraft draft, CancellationToken cancellationToken)
        => ValueTask.FromResult(store.Append(execution, key, draft, clock.GetUtcNow()));

    public async ValueTask<JsonNode?> OnceAsync(string key, Func<ValueTask<JsonNode?>> compute, CancellationToken cancellationToken)
    {
        var (found, value) = store.Recorded(execution, key);
        if (found) return value;
        var gate = _computing.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            (found, value) = store.Recorded(execution, key);
            if (found) return value;
            return store.Record(execution, key, await compute());
        }
        finally { gate.Release(); }
    }

    /// <summary>The value recorded under the key, without computing one (a .sync task's job, on replay).</summary>
    public (bool Found, JsonNode? Value) Recorded(string key) => store.Recorded(execution, key);
}

/// <summary>An EXPRESS execution's journal (and TestState's): in memory, as AWS keeps no history of
/// express executions in the API (they go to CloudWatch Logs: <paramref name="appended"/> sees each
/// new event); a restart ends them. The 25 000-event history quota is STANDARD's: an express
/// execution records as many events as it makes, and this journal keeps none of them (nothing
/// replays an express execution), only their count, so a long one does not grow in memory.</summary>
public sealed class MemoryJournal(TimeProvider clock, Action<HistoryEvent>? appended = null) : IExecutionJournal
{
    readonly Lock _lock = new();
    readonly ConcurrentDictionary<string, Lazy<Task<JsonNode?>>> _values = new(StringComparer.Ordinal);
    long _count;

    /// <summary>How many events the execution has made.</summary>
    public long Count { get { lock (_lock) return _count; } }

    public ValueTask<HistoryEvent> AppendAsync(string key, HistoryEventDraft draft, CancellationToken cancellationToken)
    {
        // One at a time: the log sees the events in the order of their ids.
        lock (_lock)
        {
            var e = new HistoryEvent(++_count, draft.PreviousEventId, clock.GetUtcNow(), draft.Type, draft.DetailsName, draft.Details);
            appended?.Invoke(e);
            return ValueTask.FromResult(e);
        }
    }

    public async ValueTask<JsonNode?> OnceAsync(string key, Func<ValueTask<JsonNode?>> compute, CancellationToken cancellationToken)
        => (await _values.GetOrAdd(key, _ => new Lazy<Task<JsonNode?>>(async () => await compute())).Value)?.DeepClone();
}
