using System.Text.Json.Nodes;

namespace Strata.States.Tests;

/// <summary>An execution stopped mid-Task or mid-Wait and run again with the same journal and a fresh host
/// continues where it was: no event twice, no Task twice, the Wait's recorded due time, the same outcome.</summary>
public class ReplayTests
{
    private const string Definition = """
        {"StartAt":"Prepare","States":{
          "Prepare":{"Type":"Task","Resource":"arn:aws:states:::sagemaker:createProcessingJob.sync","Parameters":{"id.$":"States.UUID()","n.$":"$.n"},"ResultPath":"$.prep","Next":"Pause"},
          "Pause":{"Type":"Wait","Seconds":60,"Next":"Train"},
          "Train":{"Type":"Task","Resource":"arn:aws:states:::sagemaker:createTrainingJob.sync","Parameters":{"r.$":"States.MathRandom(1, 1000000)","prep.$":"$.prep"},"End":true}}}
        """;

    private static Task<JsonNode?> Echo(TaskRequest r, int _) => Task.FromResult(r.Parameters?.DeepClone());

    private static async Task<(ExecutionOutcome Outcome, MemoryJournal Journal, int Calls)> UninterruptedAsync()
    {
        var clock = new SteppingClock();
        var journal = new MemoryJournal(clock);
        var host = new TestHost(clock, journal, Echo);
        var outcome = await Harness.DriveAsync(Interpreter.RunAsync(StateMachineDefinition.Parse(Definition), Harness.Start(JsonNode.Parse("""{"n":1}"""), clock.GetUtcNow()), host, default), clock);
        return (outcome, journal, host.Calls);
    }

    private static string Types(MemoryJournal j) => string.Join(' ', j.Events.Select(e => e.Type));

    [Fact]
    public async Task Stopped_mid_wait_resumes_at_the_recorded_due_time_without_running_a_task_again()
    {
        var reference = await UninterruptedAsync();
        var clock = new SteppingClock();
        var journal = new MemoryJournal(clock);
        var def = StateMachineDefinition.Parse(Definition);
        var start = Harness.Start(JsonNode.Parse("""{"n":1}"""), clock.GetUtcNow());
        var first = new TestHost(clock, journal, Echo);
        using var cts = new CancellationTokenSource();
        var run = Interpreter.RunAsync(def, start, first, cts.Token);
        while (clock.NextDue is null && !run.IsCompleted) await Task.WhenAny(run, Task.Delay(1));
        clock.Advance(TimeSpan.FromSeconds(20)); // a third of the wait passes, then the server stops
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(1, first.Calls);
        var before = journal.Events.Count;
        Assert.Equal("WaitStateEntered", journal.Events[^1].Type);

        var second = new TestHost(clock, journal, Echo);
        var outcome = await Harness.DriveAsync(Interpreter.RunAsync(def, start, second, CancellationToken.None), clock);

        Assert.Equal("SUCCEEDED", outcome.Status);
        Assert.Equal(1, second.Calls); // only Train
        Assert.Equal(Types(reference.Journal), Types(journal));
        var entered = journal.Events.Single(e => e.Type == "WaitStateEntered");
        var exited = journal.Events.Single(e => e.Type == "WaitStateExited");
        Assert.Equal(60, (exited.Timestamp - entered.Timestamp).TotalSeconds);
        Assert.True(journal.Events.Count > before);
        // The UUID recorded in the first run is what the replay saw again.
        var prep = JsonNode.Parse(journal.Events.First(e => e.Type == "TaskScheduled").Details!["parameters"]!.GetValue<string>())!["id"]!.GetValue<string>();
        Assert.Equal(prep, outcome.Output!["prep"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Stopped_mid_task_continues_the_same_attempt_by_its_key()
    {
        var reference = await UninterruptedAsync();
        var clock = new SteppingClock();
        var journal = new MemoryJournal(clock);
        var def = StateMachineDefinition.Parse(Definition);
        var start = Harness.Start(JsonNode.Parse("""{"n":1}"""), clock.GetUtcNow());
        var started = new TaskCompletionSource();
        var first = new TestHost(clock, journal, async (r, n) =>
        {
            if (r.StateName == "Train")
            {
                started.TrySetResult();
                await Task.Delay(Timeout.Infinite, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
            }
            return r.Parameters?.DeepClone();
        });
        using var cts = new CancellationTokenSource();
        var run = Interpreter.RunAsync(def, start, first, cts.Token);
        var driving = Harness.DriveAsync(run, clock);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => driving);
        var firstKeys = first.Requests.Select(q => q.Request.Key).ToList();

        var second = new TestHost(clock, journal, Echo);
        var outcome = await Harness.DriveAsync(Interpreter.RunAsync(def, start, second, CancellationToken.None), clock);

        Assert.Equal("SUCCEEDED", outcome.Status);
        Assert.Equal(["Train"], second.Requests.Select(q => q.Request.StateName));
        Assert.Equal(firstKeys[^1], second.Requests[0].Request.Key); // the same attempt, resumed by the host
        Assert.Equal(Types(reference.Journal), Types(journal));
        Assert.Equal(reference.Outcome.Status, outcome.Status);
    }

    [Fact]
    public async Task A_second_run_of_a_finished_execution_is_silent()
    {
        var clock = new SteppingClock();
        var journal = new MemoryJournal(clock);
        var def = StateMachineDefinition.Parse(Definition);
        var start = Harness.Start(JsonNode.Parse("""{"n":1}"""), clock.GetUtcNow());
        var first = await Harness.DriveAsync(Interpreter.RunAsync(def, start, new TestHost(clock, journal, Echo), default), clock);
        var count = journal.Events.Count;
        var host = new TestHost(clock, journal, Echo);
        var again = await Harness.DriveAsync(Interpreter.RunAsync(def, start, host, default), clock);
        Assert.Equal(count, journal.Events.Count);
        Assert.Equal(0, host.Calls);
        Assert.True(JsonNode.DeepEquals(first.Output, again.Output));
    }
}

public class ExecutionTimeoutTests
{
    [Fact]
    public async Task A_machine_past_its_TimeoutSeconds_times_out()
    {
        var r = await Harness.RunAsync("""{"TimeoutSeconds":10,"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}""", "{}");
        Assert.Equal(("TIMED_OUT", "States.Timeout"), (r.Outcome.Status, r.Outcome.Error));
        Assert.Equal("ExecutionStarted WaitStateEntered ExecutionTimedOut", string.Join(' ', r.Events.Select(e => e.Type)));
        Assert.Equal(10, (r.Events[^1].Timestamp - r.Events[0].Timestamp).TotalSeconds);
    }

    [Fact]
    public async Task A_distributed_maps_reader_and_writer_are_not_called_again_on_replay()
    {
        const string Distributed = """
            {"StartAt":"M","States":{"M":{"Type":"Map","End":true,
              "ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"JSON"},"Parameters":{"Bucket":"b","Key":"k"}},
              "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},
              "ResultWriter":{"WriterConfig":{"Transformation":"NONE"}}}}}
            """;
        var calls = 0;
        Task<JsonNode?> S3(TaskRequest r, int _)
        {
            Interlocked.Increment(ref calls);
            return Task.FromResult<JsonNode?>(new JsonObject { ["Body"] = "[1,2,3]" });
        }
        var clock = new SteppingClock();
        var journal = new MemoryJournal(clock);
        var def = StateMachineDefinition.Parse(Distributed);
        var start = Harness.Start(null, clock.GetUtcNow());
        var first = await Harness.DriveAsync(Interpreter.RunAsync(def, start, new TestHost(clock, journal, S3), default), clock);
        Assert.Equal(("SUCCEEDED", 1), (first.Status, calls));
        var replay = await Harness.DriveAsync(Interpreter.RunAsync(def, start, new TestHost(clock, journal, S3), default), clock);
        Assert.Equal(1, calls);
        // The records' names come from the recorded Map run: the replay formats the same output.
        Assert.True(JsonNode.DeepEquals(first.Output, replay.Output), replay.Output?.ToJsonString());
        Assert.Equal(3, replay.Output!.AsArray().Select(r => r!["Name"]!.GetValue<string>()).Distinct().Count());
    }
}
