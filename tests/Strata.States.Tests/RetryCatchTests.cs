using System.Text.Json.Nodes;

namespace Strata.States.Tests;

/// <summary>Retry schedules measured on the fake clock, Catch outputs, task time-outs and the task events' details.</summary>
public class RetryCatchTests
{
    private static string TaskMachine(string extra) =>
        "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::sagemaker:createTrainingJob.sync\"," + extra + "}"
        + (extra.Contains("Handled", StringComparison.Ordinal) ? ",\"Handled\":{\"Type\":\"Pass\",\"End\":true}}}" : "}}");

    private static Func<TaskRequest, int, Task<JsonNode?>> FailFirst(int failures, string error = "SageMaker.AmazonSageMakerException") =>
        (r, n) => n <= failures ? throw new StatesError(error, "attempt " + n) : Task.FromResult<JsonNode?>(new JsonObject { ["ok"] = n });

    private static double[] Gaps(Harness.Result r) =>
        [.. r.Host.Requests.Zip(r.Host.Requests.Skip(1), (a, b) => (b.At - a.At).TotalSeconds)];

    [Fact]
    public async Task Retries_back_off_by_the_rate_and_succeed()
    {
        var r = await Harness.RunAsync(TaskMachine("\"End\":true,\"Retry\":[{\"ErrorEquals\":[\"States.ALL\"],\"IntervalSeconds\":2,\"BackoffRate\":3,\"MaxAttempts\":3}]"), "{}", FailFirst(3));
        Assert.Equal("SUCCEEDED", r.Outcome.Status);
        Assert.Equal(new double[] { 2, 6, 18 }, Gaps(r));
        AssertJson("""{"ok":4}""", r.Outcome.Output);
        Assert.Equal(
            "ExecutionStarted TaskStateEntered TaskScheduled TaskStarted TaskFailed TaskScheduled TaskStarted TaskFailed TaskScheduled TaskStarted TaskFailed "
            + "TaskScheduled TaskStarted TaskSucceeded TaskStateExited ExecutionSucceeded", string.Join(' ', r.Events.Select(e => e.Type)));
    }

    [Fact]
    public async Task Max_delay_caps_the_interval_and_attempts_run_out()
    {
        var r = await Harness.RunAsync(TaskMachine("\"End\":true,\"Retry\":[{\"ErrorEquals\":[\"States.TaskFailed\"],\"IntervalSeconds\":10,\"BackoffRate\":2,\"MaxAttempts\":3,\"MaxDelaySeconds\":15}]"), "{}", FailFirst(10));
        Assert.Equal("FAILED", r.Outcome.Status);
        Assert.Equal("SageMaker.AmazonSageMakerException", r.Outcome.Error);
        Assert.Equal("attempt 4", r.Outcome.Cause);
        Assert.Equal(new double[] { 10, 15, 15 }, Gaps(r));
    }

    [Fact]
    public async Task Max_attempts_zero_never_retries_and_the_first_matching_retrier_decides()
    {
        var r = await Harness.RunAsync(TaskMachine("\"End\":true,\"Retry\":[{\"ErrorEquals\":[\"E\"],\"MaxAttempts\":0},{\"ErrorEquals\":[\"States.ALL\"],\"MaxAttempts\":5}]"), "{}", FailFirst(1, "E"));
        Assert.Equal("FAILED", r.Outcome.Status);
        Assert.Equal(1, r.Host.Calls);
    }

    [Fact]
    public async Task Full_jitter_waits_at_most_the_interval_and_the_retry_count_is_in_the_context()
    {
        var r = await Harness.RunAsync(TaskMachine("\"End\":true,\"Parameters\":{\"n.$\":\"$$.State.RetryCount\"},\"Retry\":[{\"ErrorEquals\":[\"States.ALL\"],\"IntervalSeconds\":8,\"MaxAttempts\":2,\"JitterStrategy\":\"FULL\"}]"), "{}",
            (req, n) => n <= 2 ? throw new StatesError("E", null) : Task.FromResult(req.Parameters));
        Assert.Equal("""{"n":2}""", r.Outcome.Output!.ToJsonString());
        var gaps = Gaps(r);
        Assert.InRange(gaps[0], 0, 8);
        Assert.InRange(gaps[1], 0, 16);
    }

    [Fact]
    public async Task Catch_puts_the_error_output_at_its_result_path()
    {
        var r = await Harness.RunAsync(TaskMachine("\"End\":true,\"Catch\":[{\"ErrorEquals\":[\"Other\"],\"Next\":\"Handled\"},{\"ErrorEquals\":[\"States.ALL\"],\"ResultPath\":\"$.error\",\"Next\":\"Handled\"}]"),
            """{"in":1}""", FailFirst(5));
        Assert.Equal("SUCCEEDED", r.Outcome.Status);
        Assert.Equal("""{"in":1,"error":{"Error":"SageMaker.AmazonSageMakerException","Cause":"attempt 1"}}""", r.Outcome.Output!.ToJsonString());
        Assert.Equal("ExecutionStarted TaskStateEntered TaskScheduled TaskStarted TaskFailed TaskStateExited PassStateEntered PassStateExited ExecutionSucceeded",
            string.Join(' ', r.Events.Select(e => e.Type)));
    }

    [Fact]
    public async Task States_ALL_does_not_catch_a_runtime_error()
    {
        var r = await Harness.RunAsync(TaskMachine("\"End\":true,\"InputPath\":\"$.nope\",\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"Handled\"}]"), "{}");
        Assert.Equal("States.Runtime", r.Outcome.Error);
        Assert.Equal(0, r.Host.Calls);
    }

    [Fact]
    public async Task A_task_past_its_timeout_fails_with_States_Timeout()
    {
        var r = await Harness.RunAsync(TaskMachine("\"End\":true,\"TimeoutSeconds\":30"), "{}",
            async (req, n) =>
            {
                await Task.Delay(Timeout.Infinite, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5), TimeProvider.System);
                return null;
            });
        Assert.Equal("FAILED", r.Outcome.Status);
        Assert.Equal("States.Timeout", r.Outcome.Error);
        Assert.Equal("TaskTimedOut", r.Events[^2].Type);
        Assert.Equal(30, (r.Events[^2].Timestamp - r.Events[2].Timestamp).TotalSeconds);
    }

    [Fact]
    public async Task Task_events_carry_AWS_details()
    {
        var r = await Harness.RunAsync(TaskMachine("\"End\":true,\"TimeoutSeconds\":100,\"HeartbeatSeconds\":10,\"Parameters\":{\"a.$\":\"$.x\"}"), """{"x":1}""");
        var scheduled = r.Events.Single(e => e.Type == "TaskScheduled");
        Assert.Equal("taskScheduledEventDetails", scheduled.DetailsName);
        AssertJson("""{"resourceType":"sagemaker","resource":"createTrainingJob.sync","region":"us-east-1","parameters":"{\"a\":1}","timeoutInSeconds":100,"heartbeatInSeconds":10}""", scheduled.Details);
        var succeeded = r.Events.Single(e => e.Type == "TaskSucceeded");
        AssertJson("""{"resourceType":"sagemaker","resource":"createTrainingJob.sync","output":"{\"a\":1}","outputDetails":{"truncated":false}}""", succeeded.Details);
        var entered = r.Events.Single(e => e.Type == "TaskStateEntered");
        AssertJson("""{"name":"T","input":"{\"x\":1}","inputDetails":{"truncated":false}}""", entered.Details);
        var started = r.Events[0];
        Assert.Equal("executionStartedEventDetails", started.DetailsName);
        Assert.Equal("arn:aws:iam::123456789012:role/StatesRole", started.Details!["roleArn"]!.GetValue<string>());
        Assert.Equal(10, r.Host.Requests[0].Request.Heartbeat!.Value.TotalSeconds);
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 5, 6 }, r.Events.Select(e => e.PreviousEventId));
    }

    private static void AssertJson(string expected, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), actual?.ToJsonString());

    [Fact]
    public async Task Wait_for_task_token_passes_a_token_in_the_context()
    {
        var r = await Harness.RunAsync("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::sqs:sendMessage.waitForTaskToken\",\"Parameters\":{\"token.$\":\"$$.Task.Token\"},\"End\":true}}}",
            "{}", (req, _) => Task.FromResult<JsonNode?>(JsonValue.Create(req.TaskToken)));
        var token = r.Host.Requests[0].Request.TaskToken;
        Assert.False(string.IsNullOrEmpty(token));
        Assert.Equal(token, r.Outcome.Output!.GetValue<string>());
        Assert.Equal(token, JsonNode.Parse(r.Events.Single(e => e.Type == "TaskScheduled").Details!["parameters"]!.GetValue<string>())!["token"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_output_over_the_payload_quota_fails_with_States_DataLimitExceeded()
    {
        var r = await Harness.RunAsync(TaskMachine("\"End\":true,\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"Handled\"}]"), "{}",
            (_, _) => Task.FromResult<JsonNode?>(JsonValue.Create(new string('x', 262_145))));
        Assert.Equal("States.DataLimitExceeded", r.Outcome.Error);
    }
}
