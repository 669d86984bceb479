using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Server.Storage;
using Strata.States;

namespace Strata.Server.Jobs.StepFunctions;

/// <summary>A distributed Map's Map Run, as the state store keeps it: the parent execution, the
/// children's state machine (<c>…:stateMachine:Machine/Label</c>), the settings UpdateMapRun changes,
/// and how many items and child executions it has. The children are execution rows of their own
/// (<see cref="ExecutionRow.MapRunArn"/>); their counts are read from them.</summary>
public sealed record MapRunRow
{
    public required string Account { get; init; }
    public required string MapRunArn { get; init; }
    public required string ExecutionArn { get; init; }
    public required string StateMachineArn { get; init; }
    /// <summary>The children's machine name, <c>Machine/Label</c>: their rows' prefix.</summary>
    public required string ChildMachineName { get; init; }
    public required string ExecutionType { get; init; }
    public required DateTimeOffset StartDate { get; init; }
    public string Status { get; init; } = "RUNNING";
    public DateTimeOffset? StopDate { get; init; }
    public int MaxConcurrency { get; init; }
    public double ToleratedFailurePercentage { get; init; }
    public long ToleratedFailureCount { get; init; }
    public long ItemCount { get; init; }
    public long ExecutionCount { get; init; }
    public long ResultsWritten { get; init; }
    /// <summary>How many times a redrive of the parent reopened the run, and the last time.</summary>
    public int RedriveCount { get; init; }
    public DateTimeOffset? RedriveDate { get; init; }
    /// <summary>The parent's RedriveCount when the run started or was last reopened: a later redrive reopens it.</summary>
    public int ParentRedriveCount { get; init; }

    public MapRunSettings Settings => new(MaxConcurrency, ToleratedFailurePercentage, ToleratedFailureCount);
}

/// <summary>How many of a Map Run's children (or of their items) are in each status.</summary>
public sealed record MapRunCounts(long Pending, long Running, long Succeeded, long Failed, long TimedOut, long Aborted, long Total, long ResultsWritten);

[JsonSerializable(typeof(MapRunRow))]
internal sealed partial class MapRunRowsJson : JsonSerializerContext;

/// <summary>Map Runs in the state store, keyed <c>{account}/{run id}</c> (the ARN's last part, as
/// DescribeMapRun names a run by its ARN alone), and the signal UpdateMapRun gives a running Map.</summary>
public sealed class MapRunStore(IStateStore state, ExecutionStore executions)
{
    // The runs by id; the runs of each execution (its ARN, then the run's id); the children of each run
    // (the run's id, then the child's name), so neither a parent's end nor a count reads other runs.
    const string Runs = "sfn-map-runs", ByExecution = "sfn-map-runs-by-execution", Children_ = "sfn-map-run-children";

    readonly ConcurrentDictionary<string, TaskCompletionSource> _changed = new(StringComparer.Ordinal);

    static string Key(string account, string mapRunArn) => account + "/" + RunId(mapRunArn);

    static string RunId(string mapRunArn) => mapRunArn[(mapRunArn.LastIndexOf(':') + 1)..];

    /// <summary>The run of that ARN in the account (the whole ARN must match, not only its id).</summary>
    public MapRunRow? Get(string account, string mapRunArn)
        => state.Read(r => r.Get(Runs, Key(account, mapRunArn))) is { } json && Parse(json) is { } run && run.MapRunArn == mapRunArn ? run : null;

    /// <summary>Adds the run unless it is there (a replay starts it again); returns the one there afterwards.</summary>
    public MapRunRow Add(MapRunRow run) => state.Write(w =>
    {
        if (w.Get(Runs, Key(run.Account, run.MapRunArn)) is { } json) return Parse(json);
        w.Put(Runs, Key(run.Account, run.MapRunArn), JsonSerializer.Serialize(run, MapRunRowsJson.Default.MapRunRow));
        w.Put(ByExecution, run.ExecutionArn + "/" + RunId(run.MapRunArn), Key(run.Account, run.MapRunArn));
        return run;
    });

    /// <summary>Adds a child of a running run (its execution row and its place under the run) in one transaction;
    /// returns the child there already, if any. A run that ended starts no more children: OperationCanceledException.</summary>
    public ExecutionRow? AddChild(ExecutionRow child) => executions.Add(child, null, w =>
    {
        if (w.Get(Runs, Key(child.Account, child.MapRunArn!)) is not { } json || Parse(json).Status != "RUNNING")
            throw new OperationCanceledException($"Map Run {child.MapRunArn} has ended");
        w.Put(Children_, RunId(child.MapRunArn!) + "/" + child.Name, child.Name);
    });

    /// <summary>Changes a run in one transaction (<paramref name="change"/> returns null to leave it), and wakes
    /// the Map that runs it. Returns the row afterwards (null when there is none).</summary>
    public MapRunRow? Update(string account, string mapRunArn, Func<MapRunRow, MapRunRow?> change)
    {
        var row = state.Write(w =>
        {
            if (w.Get(Runs, Key(account, mapRunArn)) is not { } json || Parse(json) is not { } run || run.MapRunArn != mapRunArn) return null;
            if (change(run) is not { } changed) return run;
            w.Put(Runs, Key(account, mapRunArn), JsonSerializer.Serialize(changed, MapRunRowsJson.Default.MapRunRow));
            return changed;
        });
        if (_changed.TryRemove(mapRunArn, out var waiting)) waiting.TrySetResult();
        return row;
    }

    /// <summary>Completes at the run's next <see cref="Update"/>.</summary>
    public Task Changed(string mapRunArn)
        => _changed.GetOrAdd(mapRunArn, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>The runs an execution started, newest first (ListMapRuns).</summary>
    public List<MapRunRow> Of(string executionArn)
        => state.Read(r => r.Scan(ByExecution, executionArn + "/", null, int.MaxValue).Select(kv => r.Get(Runs, kv.Value)).OfType<string>().Select(Parse).ToList())
            .OrderByDescending(r => r.StartDate).ThenByDescending(r => r.MapRunArn, StringComparer.Ordinal).ToList();

    /// <summary>Every run still RUNNING, of every account (the runner's sweep at start).</summary>
    public List<MapRunRow> Running()
        => state.Read(r => r.Scan(Runs, "", null, int.MaxValue)).Select(kv => Parse(kv.Value)).Where(r => r.Status == "RUNNING").ToList();

    /// <summary>The run's child executions, newest first.</summary>
    public List<ExecutionRow> Children(MapRunRow run)
        => state.Read(r => r.Scan(Children_, RunId(run.MapRunArn) + "/", null, int.MaxValue)
                .Select(kv => ExecutionStore.Get(r, run.Account, run.ChildMachineName, kv.Value)).OfType<ExecutionRow>().ToList())
            .OrderByDescending(e => e.StartDate).ThenByDescending(e => e.Name, StringComparer.Ordinal).ToList();

    /// <summary>DescribeMapRun's executionCounts and itemCounts: the children not yet started are pending.</summary>
    public (MapRunCounts Executions, MapRunCounts Items) Counts(MapRunRow run)
    {
        var children = Children(run);
        MapRunCounts Count(Func<ExecutionRow, long> weight, long total, long written)
        {
            long Of(string status) => children.Where(c => c.Status == status).Sum(weight);
            return new MapRunCounts(Math.Max(0, total - children.Sum(weight)), Of("RUNNING"), Of("SUCCEEDED"), Of("FAILED"), Of("TIMED_OUT"), Of("ABORTED"), total, written);
        }
        return (Count(_ => 1, run.ExecutionCount, run.ResultsWritten == 0 ? 0 : run.ExecutionCount),
            Count(c => c.MapRunItems, run.ItemCount, run.ResultsWritten));
    }

    static MapRunRow Parse(string json) => JsonSerializer.Deserialize(json, MapRunRowsJson.Default.MapRunRow)!;
}
