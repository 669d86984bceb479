using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;

namespace Strata.States.Tests;

/// <summary>A FakeTimeProvider that knows its pending timers, so a test can move time to exactly the next due
/// one when (and only when) the execution waits on it.</summary>
internal sealed class SteppingClock() : FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero))
{
    private readonly Lock _lock = new();
    private readonly HashSet<Tracked> _pending = [];

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var tracked = new Tracked(this);
        tracked.Set(dueTime);
        tracked.Inner = base.CreateTimer(s =>
        {
            tracked.Fired();
            callback(s);
        }, state, dueTime, period);
        return tracked;
    }

    public DateTimeOffset? NextDue
    {
        get
        {
            lock (_lock) return _pending.Count == 0 ? null : _pending.Min(t => t.Due);
        }
    }

    private sealed class Tracked(SteppingClock clock) : ITimer
    {
        public ITimer Inner { get; set; } = null!;
        public DateTimeOffset Due { get; private set; }

        public void Set(TimeSpan dueTime)
        {
            lock (clock._lock)
            {
                if (dueTime == Timeout.InfiniteTimeSpan) clock._pending.Remove(this);
                else
                {
                    Due = clock.GetUtcNow() + dueTime;
                    clock._pending.Add(this);
                }
            }
        }

        public void Fired()
        {
            lock (clock._lock) clock._pending.Remove(this);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Set(dueTime);
            return Inner.Change(dueTime, period);
        }

        public void Dispose()
        {
            Fired();
            Inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>A thread-safe journal in memory: events and recorded values by key, as the runner's store keeps them.</summary>
internal sealed class MemoryJournal(TimeProvider clock) : IExecutionJournal
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, HistoryEvent> _byKey = new(StringComparer.Ordinal);
    private readonly List<HistoryEvent> _events = [];
    private readonly Dictionary<string, JsonNode?> _values = new(StringComparer.Ordinal);

    public int Appends { get; private set; }

    public IReadOnlyList<HistoryEvent> Events
    {
        get
        {
            lock (_lock) return [.. _events];
        }
    }

    public ValueTask<HistoryEvent> AppendAsync(string key, HistoryEventDraft draft, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Appends++;
            if (_byKey.TryGetValue(key, out var existing)) return ValueTask.FromResult(existing);
            var ev = new HistoryEvent(_events.Count + 1, draft.PreviousEventId, clock.GetUtcNow(), draft.Type, draft.DetailsName, draft.Details);
            _events.Add(ev);
            _byKey[key] = ev;
            return ValueTask.FromResult(ev);
        }
    }

    /// <summary>Every key recorded (events and values).</summary>
    public IReadOnlyCollection<string> Keys
    {
        get
        {
            lock (_lock) return [.. _byKey.Keys, .. _values.Keys];
        }
    }

    /// <summary>Forgets keys (what a redrive does); the events stay in the history.</summary>
    public void Forget(IEnumerable<string> keys)
    {
        lock (_lock)
        {
            foreach (var k in keys)
            {
                _byKey.Remove(k);
                _values.Remove(k);
            }
        }
    }

    public async ValueTask<JsonNode?> OnceAsync(string key, Func<ValueTask<JsonNode?>> compute, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_values.TryGetValue(key, out var recorded)) return recorded?.DeepClone();
        }
        var value = await compute();
        lock (_lock)
        {
            if (_values.TryGetValue(key, out var first)) return first?.DeepClone();
            _values[key] = value?.DeepClone();
            return value;
        }
    }
}

/// <summary>A host whose tasks are answered by a function of the request and the call's number.</summary>
internal sealed class TestHost(SteppingClock clock, MemoryJournal journal, Func<TaskRequest, int, Task<JsonNode?>> handler) : IExecutionHost
{
    private int _calls;

    public TimeProvider Clock => clock;
    public IExecutionJournal Journal => journal;
    public int Calls => _calls;
    public List<(TaskRequest Request, DateTimeOffset At)> Requests { get; } = [];

    public async Task<JsonNode?> RunTaskAsync(TaskRequest request, Func<HistoryEventDraft, ValueTask> emit, CancellationToken cancellationToken)
    {
        var n = Interlocked.Increment(ref _calls);
        lock (Requests) Requests.Add((request, clock.GetUtcNow()));
        await emit(new HistoryEventDraft("TaskStarted", 0, "taskStartedEventDetails", new JsonObject { ["resourceType"] = "test", ["resource"] = "test" }));
        return await handler(request, n);
    }
}

internal static class Harness
{
    public static ExecutionStart Start(JsonNode? input, DateTimeOffset at) => new(
        "arn:aws:states:us-east-1:123456789012:execution:Machine:run-1", "run-1",
        "arn:aws:states:us-east-1:123456789012:stateMachine:Machine", "Machine",
        "arn:aws:iam::123456789012:role/StatesRole", at, input);

    /// <summary>Runs an execution to its end, moving the clock to each timer the execution waits on.</summary>
    public static async Task<ExecutionOutcome> DriveAsync(Task<ExecutionOutcome> run, SteppingClock clock, int maxSteps = 100_000)
    {
        for (var i = 0; i < maxSteps && !run.IsCompleted; i++)
        {
            if (clock.NextDue is { } due)
            {
                clock.Advance(due > clock.GetUtcNow() ? due - clock.GetUtcNow() : TimeSpan.Zero);
                // Let what the timer woke run (it may cancel other timers) before time moves again.
                for (var settle = 0; settle < 3 || (ThreadPool.PendingWorkItemCount > 0 && settle < 100); settle++)
                    await Task.WhenAny(run, Task.Delay(1));
            }
            else await Task.WhenAny(run, Task.Delay(1));
        }
        return await run;
    }

    public sealed record Result(ExecutionOutcome Outcome, IReadOnlyList<HistoryEvent> Events, TestHost Host, SteppingClock Clock, MemoryJournal Journal);

    public static async Task<Result> RunAsync(string definition, string? input, Func<TaskRequest, int, Task<JsonNode?>>? handler = null)
    {
        var clock = new SteppingClock();
        var journal = new MemoryJournal(clock);
        var host = new TestHost(clock, journal, handler ?? ((r, _) => Task.FromResult(r.Parameters?.DeepClone())));
        var def = StateMachineDefinition.Parse(definition);
        var outcome = await DriveAsync(Interpreter.RunAsync(def, Start(input is null ? null : JsonNode.Parse(input), clock.GetUtcNow()), host, CancellationToken.None), clock);
        return new Result(outcome, journal.Events, host, clock, journal);
    }
}
