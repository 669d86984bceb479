using System.Text.Json.Nodes;

namespace Strata.States.Tests;

/// <summary>A failed execution run again after <see cref="Redrive.KeysToForget"/> (RedriveExecution) reruns
/// only what did not succeed: the states before the failed one replay without running a Task again, the
/// failed one runs again; in a Parallel or a Map, only the branches and iterations that failed.</summary>
public class RedriveTests
{
    static async Task<ExecutionOutcome> RedriveAsync(string definition, SteppingClock clock, MemoryJournal journal, TestHost host)
    {
        journal.Forget(Redrive.KeysToForget(journal.Keys));
        return await Harness.DriveAsync(Interpreter.RunAsync(StateMachineDefinition.Parse(definition),
            Harness.Start(JsonNode.Parse("{}"), clock.GetUtcNow()) with { RedriveCount = 1 }, host, CancellationToken.None), clock);
    }

    /// <summary>A task handler that fails the named states until <paramref name="healed"/> says they may succeed.</summary>
    static Func<TaskRequest, int, Task<JsonNode?>> FailingUntil(Func<bool> healed, List<string> calls, params string[] failing) => (r, _) =>
    {
        lock (calls) calls.Add(r.StateName + ":" + r.Parameters?["i"]?.ToJsonString());
        if (!healed() && failing.Contains(r.Parameters?["name"]?.GetValue<string>() ?? r.StateName))
            throw new StatesError("Flaky", "not yet");
        return Task.FromResult<JsonNode?>(new JsonObject { ["from"] = r.Parameters?["name"]?.GetValue<string>() ?? r.StateName });
    };

    [Fact]
    public async Task Reruns_the_failed_state_and_not_the_tasks_before_it()
    {
        const string definition = """
            {"StartAt":"First","States":{
              "First":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{},"ResultPath":"$.first","Next":"Second"},
              "Second":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{},"ResultPath":"$.second","End":true}}}
            """;
        var healed = false;
        var calls = new List<string>();
        var clock = new SteppingClock();
        var journal = new MemoryJournal(clock);
        var host = new TestHost(clock, journal, FailingUntil(() => healed, calls, "Second"));
        var failed = await Harness.DriveAsync(Interpreter.RunAsync(StateMachineDefinition.Parse(definition), Harness.Start(JsonNode.Parse("{}"), clock.GetUtcNow()), host, default), clock);
        Assert.Equal(("FAILED", "Flaky"), (failed.Status, failed.Error));
        var before = journal.Events.Count;

        healed = true;
        var outcome = await RedriveAsync(definition, clock, journal, host);

        Assert.Equal("SUCCEEDED", outcome.Status);
        Assert.Equal("""{"first":{"from":"First"},"second":{"from":"Second"}}""", outcome.Output!.ToJsonString());
        Assert.Equal(["First:", "Second:", "Second:"], calls);
        // The old history stays; the rerun appends the failed state anew and the new end.
        var after = journal.Events.Skip(before).Select(e => e.Type).ToList();
        Assert.Equal(["TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded"],
            after.Where(t => t != "TaskSubmitted").ToList());
    }

    [Fact]
    public async Task Reruns_only_the_failed_branch_of_a_parallel()
    {
        const string definition = """
            {"StartAt":"Both","States":{"Both":{"Type":"Parallel","End":true,"Branches":[
              {"StartAt":"Good","States":{"Good":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"name":"Good"},"End":true}}},
              {"StartAt":"Bad","States":{"Bad":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"name":"Bad"},"End":true}}}]}}}
            """;
        var healed = false;
        var calls = new List<string>();
        var clock = new SteppingClock();
        var journal = new MemoryJournal(clock);
        var host = new TestHost(clock, journal, FailingUntil(() => healed, calls, "Bad"));
        var failed = await Harness.DriveAsync(Interpreter.RunAsync(StateMachineDefinition.Parse(definition), Harness.Start(JsonNode.Parse("{}"), clock.GetUtcNow()), host, default), clock);
        Assert.Equal("FAILED", failed.Status);
        Assert.Equal(1, calls.Count(c => c.StartsWith("Good", StringComparison.Ordinal)));

        healed = true;
        var outcome = await RedriveAsync(definition, clock, journal, host);

        Assert.Equal("SUCCEEDED", outcome.Status);
        Assert.Equal("""[{"from":"Good"},{"from":"Bad"}]""", outcome.Output!.ToJsonString());
        Assert.Equal(1, calls.Count(c => c.StartsWith("Good", StringComparison.Ordinal)));
        Assert.Equal(2, calls.Count(c => c.StartsWith("Bad", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Reruns_only_the_failed_iterations_of_a_map()
    {
        const string definition = """
            {"StartAt":"Each","States":{"Each":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":1,"End":true,
              "ItemSelector":{"i.$":"$$.Map.Item.Value"},
              "ItemProcessor":{"StartAt":"Work","States":{"Work":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"i.$":"$.i"},"End":true}}}}}}
            """;
        var healed = false;
        var calls = new List<string>();
        var clock = new SteppingClock();
        var journal = new MemoryJournal(clock);
        // Item 2 fails; with MaxConcurrency 1, items 0 and 1 have succeeded and 3 has not started.
        var host = new TestHost(clock, journal, (r, _) =>
        {
            lock (calls) calls.Add(r.Parameters!["i"]!.ToJsonString());
            if (!healed && r.Parameters!["i"]!.GetValue<int>() == 2) throw new StatesError("Flaky", "not yet");
            return Task.FromResult<JsonNode?>(r.Parameters!["i"]!.DeepClone());
        });
        var start = Harness.Start(JsonNode.Parse("""{"items":[0,1,2,3]}"""), clock.GetUtcNow());
        var failed = await Harness.DriveAsync(Interpreter.RunAsync(StateMachineDefinition.Parse(definition), start, host, default), clock);
        Assert.Equal("FAILED", failed.Status);
        Assert.Equal(["0", "1", "2"], calls);

        healed = true;
        journal.Forget(Redrive.KeysToForget(journal.Keys));
        var outcome = await Harness.DriveAsync(Interpreter.RunAsync(StateMachineDefinition.Parse(definition), start with { RedriveCount = 1 }, host, default), clock);

        Assert.Equal("SUCCEEDED", outcome.Status);
        Assert.Equal("[0,1,2,3]", outcome.Output!.ToJsonString());
        Assert.Equal(["0", "1", "2", "2", "3"], calls);
    }

    [Fact]
    public void Forgets_the_unfinished_state_and_the_end_but_not_what_succeeded()
    {
        string[] keys =
        [
            "execution.started", "/0:A.entered", "/0:A.outcome0", "/0:A.exited",
            "/1:P.entered", "/1:P.started0", "/1:P#0/0/0:Ok.entered", "/1:P#0/0/0:Ok.exited", "/1:P#0/1/0:Bad.entered", "/1:P#0/1/0:Bad.outcome0",
            "/1:P#0/1/0:Bad#0/submitted", "/1:P.failed0", "execution.end", "strata:ExecutionFailed",
        ];
        Assert.Equal(["/1:P.entered", "/1:P.started0", "/1:P#0/1/0:Bad.entered", "/1:P#0/1/0:Bad.outcome0", "/1:P#0/1/0:Bad#0/submitted", "/1:P.failed0",
            "execution.end", "strata:ExecutionFailed"], Redrive.KeysToForget(keys));
    }

    [Fact]
    public void Keeps_a_distributed_Maps_run_id_so_the_redrive_reopens_that_Map_Run()
    {
        string[] keys =
        [
            "execution.started", "/0:M.entered", "/0:M.started0", "/0:M.maprun0", "/0:M.maprunstarted0", "/0:M.maprunended0", "/0:M.failed0",
            "execution.end",
        ];
        Assert.Equal(["/0:M.entered", "/0:M.started0", "/0:M.maprunstarted0", "/0:M.maprunended0", "/0:M.failed0", "execution.end"],
            Redrive.KeysToForget(keys));
    }
}
