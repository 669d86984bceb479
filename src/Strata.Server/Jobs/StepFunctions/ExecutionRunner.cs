using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Strata.Server.Jobs.Delivery;
using Strata.States;

namespace Strata.Server.Jobs.StepFunctions;

/// <summary>Runs one attempt of a Task state for an execution (the service integrations).</summary>
public interface ITaskIntegrations
{
    Task<JsonNode?> RunAsync(ExecutionRow execution, IExecutionJournal journal, TaskRequest request, Func<HistoryEventDraft, ValueTask> emit,
        CancellationToken cancellationToken);

    /// <summary>The execution ended (its run is over): what its tasks kept for it may go.</summary>
    void Ended(string executionArn);
}

/// <summary>
/// Runs Step Functions executions with the States interpreter. A STANDARD execution runs in the
/// background against a journal in the state store; at start the runner resumes every execution
/// still RUNNING (the interpreter replays its journal, so no state runs twice and a Wait waits
/// only what is left of it). StopExecution cancels the run and records <c>ExecutionAborted</c>.
/// An EXPRESS execution runs against a journal in memory (StartSyncExecution waits for it).
/// </summary>
public sealed class ExecutionRunner(ExecutionStore store, ITaskIntegrations tasks, TimeProvider clock, ILogger<ExecutionRunner> log) : BackgroundService
{
    public const string EventSource = "aws.states";

    /// <summary>The longest an EXPRESS execution runs.</summary>
    public static readonly TimeSpan ExpressDuration = TimeSpan.FromMinutes(5);

    /// <summary>The most events an execution's history holds; one more fails the execution (AWS's quota).</summary>
    public const int MaxHistoryEvents = 25_000;
    public const string StatusChangeType = "Step Functions Execution Status Change";

    /// <summary>A run of an execution; its generation is the execution's RedriveCount when it started.</summary>
    sealed record Run(CancellationTokenSource Cancel, Task Done, int Generation);

    readonly ITaskIntegrations _tasks = tasks;
    ExecutionStore Store => store;
    readonly ConcurrentDictionary<string, Run> _runs = new(StringComparer.Ordinal);
    /// <summary>The distributed Maps' children running now, by ARN: what StopExecution of one cancels.</summary>
    readonly ConcurrentDictionary<string, CancellationTokenSource> _children = new(StringComparer.Ordinal);
    readonly CancellationTokenSource _stopping = new();

    /// <summary>The one clock the executions read.</summary>
    public TimeProvider Clock => clock;

    /// <summary>Where execution status changes go (EventBridge's default bus).</summary>
    public IServiceEvents Events { get; init; } = NoServiceEvents.Instance;

    /// <summary>Where a STANDARD execution's distributed Maps keep their Map Runs (none: their iterations
    /// are recorded in the parent's history, as an inline Map's).</summary>
    public MapRunStore? MapRuns { get; init; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A server killed between an execution's end and its Map Runs' ends left those running.
        foreach (var run in MapRuns?.Running() ?? [])
            if (ParentOf(run) is { Status: not "RUNNING" } parent) EndMapRuns(parent);
        // … or children RUNNING under a run that ended (killed between the run's end and theirs).
        foreach (var child in store.RunningChildren())
            if (MapRuns?.Get(child.Account, child.MapRunArn!) is not { Status: "RUNNING" }) AbortChild(child);
        foreach (var execution in store.Running())
        {
            if (execution.Type != "STANDARD") continue;
            log.LogInformation("Resuming execution {Arn}", execution.ExecutionArn);
            Start(execution, announce: false);
        }
        try { await Task.Delay(Timeout.Infinite, stoppingToken); }
        catch (OperationCanceledException) { }
        // The server stops: the runs end where they are and resume at the next start. (A host that failed
        // to start may have disposed this service already: then nothing ran.)
        try { await _stopping.CancelAsync(); }
        catch (ObjectDisposedException) { return; }
        await Task.WhenAll(_runs.Values.Select(r => r.Done));
    }

    /// <summary>Starts a STANDARD execution that the store holds as RUNNING.</summary>
    public void Start(ExecutionRow execution, bool announce = true)
    {
        if (announce) Announce(execution);
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        var ready = new TaskCompletionSource();
        Run? run = null;
        run = new Run(cancel, Task.Run(async () =>
        {
            await ready.Task;
            // A stop (or a machine's deletion) that came between writing the execution and this start
            // found no run to cancel: it ended the row, and the run must not begin. The run is
            // registered before this check, so a stop after it finds the run (StopAsync looks twice).
            var now = store.Get(execution.Account, execution.StateMachineName, execution.Name);
            if (now is not { Status: "RUNNING" } || now.RedriveCount != execution.RedriveCount) return;
            try { await RunStandardAsync(execution, cancel.Token); }
            // This run only: a redrive may have started the execution's next run already.
            finally { _runs.TryRemove(KeyValuePair.Create(execution.ExecutionArn, run!)); }
        }), execution.RedriveCount);
        _runs[execution.ExecutionArn] = run;
        ready.SetResult();
    }

    async Task RunStandardAsync(ExecutionRow execution, CancellationToken ct)
    {
        var journal = new StoredJournal(store, execution, clock);
        try
        {
            var outcome = await RunAsync(execution, journal, ct);
            Finish(execution, outcome);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopped (StopExecution records the abort) or the server is stopping (resumed at start).
        }
        catch (Exception e)
        {
            // A defect of the interpreter or the runner fails the execution, as AWS fails one with
            // States.Runtime; it never takes the server down or leaves the execution running forever.
            log.LogError(e, "Execution {Arn} failed unexpectedly", execution.ExecutionArn);
            var error = e is StatesError se ? se.Error : "States.Runtime";
            var cause = e is StatesError se2 ? se2.Cause : e.Message;
            var outcome = new ExecutionOutcome("FAILED", null, error, cause);
            var (row, ended) = store.End(execution, r => r.Status == "RUNNING" ? Ended(r, outcome) : null, "strata:ExecutionFailed",
                last => new HistoryEventDraft("ExecutionFailed", last, "executionFailedEventDetails", new JsonObject { ["error"] = error, ["cause"] = cause }),
                clock.GetUtcNow());
            if (ended && row is not null) Announce(row);
        }
    }

    /// <summary>Runs an execution to its end against <paramref name="journal"/>.</summary>
    public Task<ExecutionOutcome> RunAsync(ExecutionRow execution, IExecutionJournal journal, CancellationToken ct)
    {
        var definition = StateMachineDefinition.Parse(execution.Definition);
        var start = new ExecutionStart(execution.ExecutionArn, execution.Name, execution.StateMachineArn, execution.StateMachineName, execution.RoleArn,
            execution.StartDate, execution.Input is null ? null : JsonNode.Parse(execution.Input), execution.RedriveCount)
        {
            StateMachineVersionArn = execution.StateMachineVersionArn,
            StateMachineAliasArn = execution.StateMachineAliasArn,
            RedriveDate = execution.RedriveDate,
        };
        return Interpreter.RunAsync(definition, start, new Host(this, execution, journal), ct);
    }

    /// <summary>The longest a TestState runs (AWS's limit); past it the state fails with States.Timeout.</summary>
    public static readonly TimeSpan TestStateDuration = TimeSpan.FromMinutes(5);

    /// <summary>TestState: runs one state once as <paramref name="execution"/> (a stand-in of the caller's
    /// account and the given role), against a journal in memory; its tasks call the services as that role.</summary>
    public async Task<TestStateResult> TestStateAsync(ExecutionRow execution, string? stateName, JsonNode? input, JsonObject? variables,
        string inspectionLevel, TestStateOptions options, CancellationToken ct)
    {
        var start = new ExecutionStart(execution.ExecutionArn, execution.Name, execution.StateMachineArn, execution.StateMachineName, execution.RoleArn,
            execution.StartDate, input);
        using var limit = new CancellationTokenSource(TestStateDuration, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping.Token, limit.Token);
        try
        {
            return await Interpreter.TestStateAsync(execution.Definition, stateName, input, variables, inspectionLevel, start,
                new Host(this, execution, new MemoryJournal(clock)), linked.Token, options);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !ct.IsCancellationRequested && !_stopping.IsCancellationRequested)
        {
            return new TestStateResult("FAILED", null, "States.Timeout", "The test ran longer than its limit of 5 minutes.", null, null);
        }
        finally
        {
            _tasks.Ended(execution.ExecutionArn);
        }
    }

    /// <summary>Runs an EXPRESS execution in memory (its journal is not kept); announces its start and end.</summary>
    public async Task<ExecutionOutcome> RunExpressAsync(ExecutionRow execution, CancellationToken ct)
    {
        Announce(execution);
        // An express execution lasts at most five minutes (AWS's limit), on the one clock.
        using var limit = new CancellationTokenSource(ExpressDuration, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping.Token, limit.Token);
        ExecutionOutcome outcome;
        try { outcome = await RunAsync(execution, new MemoryJournal(clock, e => store.Logs?.Post(execution, e)), linked.Token); }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !ct.IsCancellationRequested && !_stopping.IsCancellationRequested)
        {
            outcome = new ExecutionOutcome("TIMED_OUT", null, "States.Timeout", "The express execution ran longer than its limit of 5 minutes.");
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested) { throw; }
        catch (StatesError e) { outcome = new ExecutionOutcome("FAILED", null, e.Error, e.Cause); }
        Announce(Ended(execution, outcome));
        return outcome;
    }

    ExecutionRow Ended(ExecutionRow row, ExecutionOutcome outcome) => row with
    {
        Status = outcome.Status,
        StopDate = clock.GetUtcNow(),
        Output = outcome.Status == "SUCCEEDED" ? outcome.Output?.ToJsonString() ?? "null" : null,
        Error = outcome.Error,
        Cause = outcome.Cause,
    };

    void Finish(ExecutionRow execution, ExecutionOutcome outcome)
    {
        var ended = false;
        var row = store.Update(execution.Account, execution.StateMachineName, execution.Name, row =>
        {
            if (row.Status != "RUNNING") return null;
            ended = true;
            return Ended(row, outcome);
        });
        if (ended && row is not null) Announce(row);
    }

    /// <summary>Stops a running execution: cancels its run, then records ABORTED and the
    /// <c>ExecutionAborted</c> event. Returns the row afterwards (null when there is none).</summary>
    public async Task<ExecutionRow?> StopAsync(ExecutionRow execution, string? error, string? cause)
    {
        _runs.TryGetValue(execution.ExecutionArn, out var run);
        await CancelAsync(run);
        var now = clock.GetUtcNow();
        var details = new JsonObject();
        if (error is not null) details["error"] = error;
        if (cause is not null) details["cause"] = cause;
        var (row, stopped) = store.End(execution, r => r.Status == "RUNNING" ? r with { Status = "ABORTED", StopDate = now, Error = error, Cause = cause } : null,
            "strata:ExecutionAborted", last => new HistoryEventDraft("ExecutionAborted", last, "executionAbortedEventDetails", (JsonObject)details.DeepClone()), now);
        // A run started after the first look (its start saw the execution still RUNNING) is ended too.
        // (Not a run of a later redrive, which a stop of this generation does not touch.)
        if (_runs.TryGetValue(execution.ExecutionArn, out var late) && late != run && late.Generation == execution.RedriveCount) await CancelAsync(late);
        // A distributed Map's child runs in its parent's Map, which sees it stopped and goes on. Ended first
        // (the stop's error and cause are recorded, not the Map's bare abort), then cancelled.
        if (_children.TryGetValue(execution.ExecutionArn, out var child))
        {
            try { await child.CancelAsync(); }
            catch (ObjectDisposedException) { } // it ended meanwhile
        }
        if (stopped && row is not null) Announce(row);
        return row;
    }

    static async Task CancelAsync(Run? run)
    {
        if (run is null) return;
        await run.Cancel.CancelAsync();
        try { await run.Done; }
        catch (OperationCanceledException) { }
    }

    /// <summary>How long after it ended an execution can be redriven (AWS's redrivable period).</summary>
    public static readonly TimeSpan RedrivePeriod = TimeSpan.FromDays(14);

    /// <summary>Why the execution cannot be redriven now (null: it can), as DescribeExecution's
    /// <c>redriveStatusReason</c> and RedriveExecution's refusal say it. A redrive appends at least two
    /// events (ExecutionRedriven and one more), so a history that has no room for them refuses.</summary>
    public static string? RedriveRefusal(ExecutionRow e, DateTimeOffset now, long events = 0) => e switch
    {
        { Type: not "STANDARD" } => "Express executions cannot be redriven",
        // Its parent's Map drives it: a redrive of the parent runs the Map again.
        { MapRunArn: not null } => "Child workflow executions of a Map Run cannot be redriven: redrive the parent execution",
        { Status: "RUNNING" or "SUCCEEDED" } => $"Execution is {e.Status} and cannot be redriven",
        { StopDate: { } stop } when now - stop > RedrivePeriod => "Execution can no longer be redriven: its redrivable period of 14 days has passed",
        _ when events > MaxHistoryEvents - 2 => $"Execution has {events} history events: a redrive needs room for 2 more in its {MaxHistoryEvents}",
        _ => null,
    };

    /// <summary>Tells EventBridge of an execution's start or end: every end of every kind passes here,
    /// so an end also lets its tasks' kept rows go.</summary>
    void Announce(ExecutionRow e)
    {
        if (e.Status != "RUNNING")
        {
            _tasks.Ended(e.ExecutionArn);
            EndMapRuns(e);
        }
        Put(e);
    }

    /// <summary>The execution that started the run (<c>…:execution:Machine:name</c>, or a child's <c>Machine/Label</c>).</summary>
    ExecutionRow? ParentOf(MapRunRow run)
    {
        var parts = run.ExecutionArn.Split(':');
        return parts.Length == 8 ? store.Get(run.Account, parts[6], parts[7]) : null;
    }

    /// <summary>An execution that ended (stopped, timed out, failed) with Map Runs still running: they end
    /// ABORTED, and so do their children still running (the run that drove them is over).</summary>
    void EndMapRuns(ExecutionRow e)
    {
        if (MapRuns is null || e.Type != "STANDARD") return;
        var now = clock.GetUtcNow();
        foreach (var run in MapRuns.Of(e.ExecutionArn).Where(r => r.Status == "RUNNING"))
        {
            // The run first: an abandoned Map (a timed-out parent's) can add no child after this.
            MapRuns.Update(e.Account, run.MapRunArn, r => r.Status == "RUNNING" ? r with { Status = "ABORTED", StopDate = now } : null);
            foreach (var child in MapRuns.Children(run).Where(c => c.Status == "RUNNING")) AbortChild(child);
        }
    }

    /// <summary>Ends a child its Map no longer drives: ABORTED, with its event, in one transaction.</summary>
    void AbortChild(ExecutionRow child)
    {
        var now = clock.GetUtcNow();
        var (row, ended) = store.End(child, r => r.Status == "RUNNING" ? r with { Status = "ABORTED", StopDate = now } : null, "strata:ExecutionAborted",
            last => new HistoryEventDraft("ExecutionAborted", last, "executionAbortedEventDetails", []), now);
        if (ended && row is not null) Announce(row);
        if (_children.TryRemove(child.ExecutionArn, out var cancel)) cancel.Dispose();
    }

    /// <summary>"Step Functions Execution Status Change" on the default bus, as AWS sends it.</summary>
    void Put(ExecutionRow e) => Events.Put(new ServiceEvent(e.Account, EventSource, StatusChangeType, [e.ExecutionArn], new JsonObject
    {
        ["executionArn"] = e.ExecutionArn,
        ["stateMachineArn"] = e.StateMachineArn,
        ["name"] = e.Name,
        ["status"] = e.Status,
        ["startDate"] = e.StartDate.ToUnixTimeMilliseconds(),
        ["stopDate"] = e.StopDate?.ToUnixTimeMilliseconds(),
        ["input"] = e.Input,
        ["output"] = e.Output,
        ["stateMachineVersionArn"] = e.StateMachineVersionArn,
        ["stateMachineAliasArn"] = e.StateMachineAliasArn,
        ["redriveCount"] = e.RedriveCount,
        ["redriveDate"] = e.RedriveDate?.ToUnixTimeMilliseconds(),
        ["redriveStatus"] = RedriveRefusal(e, clock.GetUtcNow()) is null ? "REDRIVABLE" : "NOT_REDRIVABLE",
        ["redriveStatusReason"] = RedriveRefusal(e, clock.GetUtcNow()),
        ["inputDetails"] = new JsonObject { ["included"] = true },
        ["outputDetails"] = e.Output is null ? null : new JsonObject { ["included"] = true },
        ["error"] = e.Error,
        ["cause"] = e.Cause,
    }, clock.GetUtcNow()));

    public override void Dispose()
    {
        _stopping.Dispose();
        base.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The world as one execution sees it: the one clock, its journal, and the integrations.</summary>
    sealed class Host(ExecutionRunner runner, ExecutionRow execution, IExecutionJournal journal) : IExecutionHost
    {
        public TimeProvider Clock => runner.Clock;

        public IExecutionJournal Journal => journal;

        public Task<JsonNode?> RunTaskAsync(TaskRequest request, Func<HistoryEventDraft, ValueTask> emit, CancellationToken cancellationToken)
            => runner._tasks.RunAsync(execution, journal, request, emit, cancellationToken);

        // A STANDARD execution's distributed Maps (a STANDARD child's too) start child executions; an express one's run inline.
        public IMapRunHost? MapRuns => runner.MapRuns is { } runs && execution.Type == "STANDARD" && journal is StoredJournal
            ? new MapRunHost(runner, runs, execution) : null;
    }

    /// <summary>A parent execution's Map Runs: each run a row, each child an execution row with a journal of its
    /// own (in the store for a STANDARD child; in memory for an EXPRESS one, which a restart runs again).</summary>
    sealed class MapRunHost(ExecutionRunner runner, MapRunStore runs, ExecutionRow parent) : IMapRunHost
    {
        public ValueTask<int> StartAsync(MapRunStart run, CancellationToken cancellationToken)
        {
            var machine = run.StateMachineArn[(run.StateMachineArn.IndexOf(":stateMachine:", StringComparison.Ordinal) + ":stateMachine:".Length)..];
            var now = runner.Clock.GetUtcNow();
            var row = runs.Add(new MapRunRow
            {
                Account = parent.Account,
                MapRunArn = run.MapRunArn,
                ExecutionArn = parent.ExecutionArn,
                StateMachineArn = run.StateMachineArn,
                ChildMachineName = machine,
                ExecutionType = run.ExecutionType,
                StartDate = runner.Clock.GetUtcNow(),
                MaxConcurrency = run.Settings.MaxConcurrency,
                ToleratedFailurePercentage = run.Settings.ToleratedFailurePercentage,
                ToleratedFailureCount = run.Settings.ToleratedFailureCount,
                ItemCount = run.ItemCount,
                ExecutionCount = run.ExecutionCount,
                ParentRedriveCount = parent.RedriveCount,
            });
            // The parent was redriven since the run failed (or was aborted): the run reopens.
            if (row.Status is "FAILED" or "ABORTED" && row.ParentRedriveCount < parent.RedriveCount)
                row = runs.Update(parent.Account, row.MapRunArn, r => r.Status is "FAILED" or "ABORTED" && r.ParentRedriveCount < parent.RedriveCount
                    ? r with { Status = "RUNNING", StopDate = null, ResultsWritten = 0, RedriveCount = r.RedriveCount + 1, RedriveDate = now, ParentRedriveCount = parent.RedriveCount }
                    : null) ?? row;
            return ValueTask.FromResult(row.RedriveCount);
        }

        public MapRunSettings Settings(string mapRunArn) => runs.Get(parent.Account, mapRunArn)?.Settings ?? new MapRunSettings(0, 0, 0);

        public Task Changed(string mapRunArn) => runs.Changed(mapRunArn);

        public ValueTask<ChildExecution> ChildAsync(string mapRunArn, ChildExecutionStart child, CancellationToken cancellationToken)
        {
            var row = new ExecutionRow
            {
                Account = parent.Account,
                ExecutionArn = child.ExecutionArn,
                Name = child.Name,
                StateMachineArn = child.StateMachineArn,
                StateMachineName = child.StateMachineName,
                Type = child.ExecutionType,
                Definition = child.Definition,
                RoleArn = parent.RoleArn,
                StartDate = runner.Clock.GetUtcNow(),
                Input = child.Input?.ToJsonString() ?? "null",
                MapRunArn = mapRunArn,
                MapRunItems = child.ItemCount,
                MapRunRedrive = runs.Get(parent.Account, mapRunArn)?.RedriveCount ?? 0,
                // The children's machine is the parent's, as it was when the parent started.
                StateMachineUpdateDate = parent.StateMachineUpdateDate ?? parent.StartDate,
                StateMachineRevisionId = parent.StateMachineRevisionId,
                // Logged as the parent's machine logs (a child's events under its own execution ARN).
                LoggingConfiguration = parent.LoggingConfiguration,
            };
            var existing = runs.AddChild(row);
            if (existing is null) runner.Put(row);
            row = existing ?? row;
            // A reopened run runs again the children that did not succeed, each from where its history ended.
            if (row.Status is "FAILED" or "ABORTED" or "TIMED_OUT" && runs.Get(parent.Account, mapRunArn) is { Status: "RUNNING" } run && row.MapRunRedrive < run.RedriveCount)
            {
                var now = runner.Clock.GetUtcNow();
                ExecutionRow? Reopened(ExecutionRow r) => r.Status == "RUNNING" || r.MapRunRedrive >= run.RedriveCount ? null : r with
                {
                    Status = "RUNNING",
                    StopDate = null,
                    Output = null,
                    Error = null,
                    Cause = null,
                    RedriveCount = r.RedriveCount + 1,
                    RedriveDate = now,
                    MapRunRedrive = run.RedriveCount,
                };
                row = row.Type == "STANDARD"
                    ? runner.Store.Redrive(row, (_, r, _) => Reopened(r), now).Row
                    : runner.Store.Update(row.Account, row.StateMachineName, row.Name, Reopened) ?? row;
                if (row.Status == "RUNNING") runner.Put(row);
            }
            var start = new ExecutionStart(row.ExecutionArn, row.Name, row.StateMachineArn, row.StateMachineName, row.RoleArn, row.StartDate,
                row.Input is null ? null : JsonNode.Parse(row.Input), row.RedriveCount)
            { RedriveDate = row.RedriveDate };
            var outcome = row.Status == "RUNNING" ? null
                : new ExecutionOutcome(row.Status, row.Output is null ? null : JsonNode.Parse(row.Output), row.Error, row.Cause);
            // An express child keeps no journal: one the server's restart interrupted runs again from its start.
            var logged = row;
            IExecutionJournal journal = row.Type == "STANDARD" ? new StoredJournal(runner.Store, row, runner.Clock)
                : new MemoryJournal(runner.Clock, e => runner.Store.Logs?.Post(logged, e));
            var stopped = CancellationToken.None;
            if (outcome is null)
            {
                var cancel = new CancellationTokenSource();
                runner._children[row.ExecutionArn] = cancel;
                stopped = cancel.Token;
            }
            return ValueTask.FromResult(new ChildExecution(start, new Host(runner, row, journal), outcome, row.StopDate) { Stopped = stopped });
        }

        public ValueTask ChildEndedAsync(ChildExecution child, ExecutionOutcome outcome, CancellationToken cancellationToken)
        {
            var arn = child.Start.ExecutionArn;
            if (runner._children.TryRemove(arn, out var cancel)) cancel.Dispose();
            var ended = false;
            ExecutionRow? row;
            if (outcome.Status == "ABORTED" && runner.Store.Get(parent.Account, child.Start.StateMachineName, child.Start.ExecutionName) is { } running)
            {
                // The status and its event in one transaction: a replay never finds an aborted child running.
                var now = runner.Clock.GetUtcNow();
                (row, ended) = runner.Store.End(running, r => r.Status == "RUNNING" ? r with { Status = "ABORTED", StopDate = now } : null, "execution.end",
                    last => new HistoryEventDraft("ExecutionAborted", last, "executionAbortedEventDetails", []), now);
            }
            else
                row = runner.Store.Update(parent.Account, child.Start.StateMachineName, child.Start.ExecutionName, r =>
                {
                    if (r.Status != "RUNNING") return null;
                    ended = true;
                    return runner.Ended(r, outcome);
                });
            if (ended && row is not null) runner.Announce(row);
            else runner._tasks.Ended(arn);
            return ValueTask.CompletedTask;
        }

        public ValueTask EndAsync(string mapRunArn, string status, long resultsWritten, CancellationToken cancellationToken)
        {
            var now = runner.Clock.GetUtcNow();
            runs.Update(parent.Account, mapRunArn, r => r.Status == "RUNNING" ? r with { Status = status, StopDate = now, ResultsWritten = resultsWritten } : null);
            return ValueTask.CompletedTask;
        }
    }
}
