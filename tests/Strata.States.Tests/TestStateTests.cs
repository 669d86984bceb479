using System.Text.Json.Nodes;

namespace Strata.States.Tests;

/// <summary>The TestState entry point: one state, once, with its inspection data.</summary>
public class TestStateTests
{
    private static async Task<TestStateResult> TestAsync(string definition, string input, Func<TaskRequest, int, Task<JsonNode?>>? handler = null, string level = "DEBUG",
        string? stateName = null, TestStateOptions? options = null, JsonObject? variables = null)
    {
        var clock = new SteppingClock();
        var host = new TestHost(clock, new MemoryJournal(clock), handler ?? ((r, _) => Task.FromResult(r.Parameters?.DeepClone())));
        return await Interpreter.TestStateAsync(definition, stateName, JsonNode.Parse(input), variables, level, Harness.Start(null, clock.GetUtcNow()), host,
            CancellationToken.None, options);
    }

    private static Task<JsonNode?> NeverCalled(TaskRequest r, int n) => throw new InvalidOperationException("a mocked task ran");

    [Fact]
    public async Task A_mocked_result_stands_in_for_the_task_and_goes_through_its_pipeline()
    {
        var r = await TestAsync("""{"Type":"Task","Resource":"arn:aws:states:::sagemaker:createTrainingJob.sync","ResultSelector":{"arn.$":"$.TrainingJobArn"},"ResultPath":"$.job","End":true}""",
            """{"a":1}""", NeverCalled, options: new TestStateOptions(HasMock: true, MockResult: JsonNode.Parse("""{"TrainingJobArn":"arn:x"}""")));
        Assert.Equal("SUCCEEDED", r.Status);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"a":1,"job":{"arn":"arn:x"}}"""), r.Output));
        Assert.Equal("""{"TrainingJobArn":"arn:x"}""", r.InspectionData!["result"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_mocked_error_is_retriable_until_the_retrier_has_used_its_attempts_then_caught()
    {
        const string Definition = """
            {"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,
             "Retry":[{"ErrorEquals":["Other"]},{"ErrorEquals":["E"],"IntervalSeconds":2,"BackoffRate":3,"MaxAttempts":3}],
             "Catch":[{"ErrorEquals":["X"],"Next":"No"},{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"Handler"}]}
            """;
        TestStateOptions Mock(int retries) => new(HasMock: true, MockError: "E", MockCause: "boom", RetrierRetryCount: retries);
        var first = await TestAsync(Definition, "{}", NeverCalled, options: Mock(0));
        Assert.Equal(("RETRIABLE", "E", "boom"), (first.Status, first.Error, first.Cause));
        Assert.Equal("""{"retryIndex":1,"retryBackoffIntervalSeconds":2}""", first.InspectionData!["errorDetails"]!.ToJsonString());
        var third = await TestAsync(Definition, "{}", NeverCalled, options: Mock(2));
        Assert.Equal("""{"retryIndex":1,"retryBackoffIntervalSeconds":18}""", third.InspectionData!["errorDetails"]!.ToJsonString());
        var spent = await TestAsync(Definition, """{"k":1}""", NeverCalled, options: Mock(3));
        Assert.Equal(("CAUGHT_ERROR", "Handler"), (spent.Status, spent.NextState));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"k":1,"err":{"Error":"E","Cause":"boom"}}"""), spent.Output));
        Assert.Equal("""{"catchIndex":1}""", spent.InspectionData!["errorDetails"]!.ToJsonString());
    }

    [Fact]
    public async Task A_mocked_map_shows_its_items_and_selector_without_running_them()
    {
        var r = await TestAsync("""
            {"Type":"Map","ItemsPath":"$.xs","ItemSelector":{"v.$":"$$.Map.Item.Value","i.$":"$$.Map.Item.Index"},"MaxConcurrency":3,
             "ToleratedFailurePercentage":50,"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}
            """, """{"xs":[10,20]}""", NeverCalled, options: new TestStateOptions(HasMock: true, MockResult: JsonNode.Parse("[1,2]")));
        Assert.Equal("SUCCEEDED", r.Status);
        Assert.Equal("[1,2]", r.Output!.ToJsonString());
        var d = r.InspectionData!;
        Assert.Equal("[10,20]", d["afterItemsPath"]!.GetValue<string>());
        Assert.Equal("""[{"v":10,"i":0},{"v":20,"i":1}]""", d["afterItemSelector"]!.GetValue<string>());
        Assert.Equal(3, d["maxConcurrency"]!.GetValue<int>());
        Assert.Equal(50, d["toleratedFailurePercentage"]!.GetValue<double>());
        Assert.Equal(1, d["toleratedFailureCount"]!.GetValue<int>());
        var failing = await TestAsync("""
            {"Type":"Map","ItemsPath":"$.xs","ToleratedFailureCount":1,"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}
            """, """{"xs":[10,20,30]}""", NeverCalled, options: new TestStateOptions(HasMock: true, MockResult: JsonNode.Parse("[1]"), MapIterationFailureCount: 2));
        Assert.Equal(("FAILED", "States.ExceedToleratedFailureThreshold"), (failing.Status, failing.Error));
    }

    [Fact]
    public async Task A_wait_does_not_wait_and_the_context_and_variables_are_the_tests()
    {
        var wait = await TestAsync("""{"Type":"Wait","Seconds":86400,"Next":"Later"}""", """{"a":1}""");
        Assert.Equal(("SUCCEEDED", "Later"), (wait.Status, wait.NextState));
        var context = new JsonObject { ["Execution"] = new JsonObject { ["Name"] = "nightly" } };
        var r = await TestAsync("""
            {"Type":"Task","QueryLanguage":"JSONata","Resource":"arn:aws:states:::lambda:invoke","Arguments":{"run":"{% $states.context.Execution.Name %}","v":"{% $seed %}"},
             "Assign":{"seen":"{% $states.result.run %}"},"End":true}
            """, "{}", NeverCalled, options: new TestStateOptions(HasMock: true, MockResult: JsonNode.Parse("""{"run":"r1"}"""), Context: context),
            variables: new JsonObject { ["seed"] = 7 });
        Assert.Equal("""{"run":"nightly","v":7}""", r.InspectionData!["afterArguments"]!.GetValue<string>());
        Assert.Equal("""{"seed":7,"seen":"r1"}""", r.InspectionData!["variables"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_task_shows_each_step_of_its_pipeline()
    {
        var r = await TestAsync("""{"Type":"Task","Resource":"arn:aws:states:::sagemaker:createModel","InputPath":"$.in","Parameters":{"ModelName.$":"$.name"},"ResultSelector":{"n.$":"$.ModelName"},"ResultPath":"$.out","Next":"After"}""",
            """{"in":{"name":"m1"}}""");
        Assert.Equal("SUCCEEDED", r.Status);
        Assert.Equal("After", r.NextState);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"in":{"name":"m1"},"out":{"n":"m1"}}"""), r.Output));
        var d = r.InspectionData!;
        Assert.Equal("""{"name":"m1"}""", d["afterInputPath"]!.GetValue<string>());
        Assert.Equal("""{"ModelName":"m1"}""", d["afterParameters"]!.GetValue<string>());
        Assert.Equal("""{"ModelName":"m1"}""", d["result"]!.GetValue<string>());
        Assert.Equal("""{"n":"m1"}""", d["afterResultSelector"]!.GetValue<string>());
        Assert.Equal("""{"in":{"name":"m1"},"out":{"n":"m1"}}""", d["afterResultPath"]!.GetValue<string>());
    }

    [Fact]
    public async Task Statuses_for_retriable_caught_and_failed_errors()
    {
        Task<JsonNode?> Fail(TaskRequest r, int n) => throw new StatesError("E", "c");
        const string Base = "\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::lambda:invoke\",\"End\":true";
        var retriable = await TestAsync("{" + Base + ""","Retry":[{"ErrorEquals":["E"]}]}""", "{}", Fail, "INFO");
        Assert.Equal(("RETRIABLE", "E", "c"), (retriable.Status, retriable.Error, retriable.Cause));
        Assert.Null(retriable.InspectionData);
        var caught = await TestAsync("{" + Base + ""","Catch":[{"ErrorEquals":["States.ALL"],"Next":"H"}]}""", "{}", Fail);
        Assert.Equal(("CAUGHT_ERROR", "H"), (caught.Status, caught.NextState));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"Error":"E","Cause":"c"}"""), caught.Output));
        var failed = await TestAsync("{" + Base + "}", "{}", Fail);
        Assert.Equal(("FAILED", "E"), (failed.Status, failed.Error));
    }

    [Fact]
    public async Task A_choice_names_its_next_state_and_a_machine_state_can_be_picked()
    {
        var choice = await TestAsync("""{"Type":"Choice","Choices":[{"Variable":"$.n","NumericGreaterThan":1,"Next":"Big"}],"Default":"Small"}""", """{"n":2}""");
        Assert.Equal(("SUCCEEDED", "Big"), (choice.Status, choice.NextState));
        var picked = await TestAsync("""{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Result":2,"End":true}}}""", "{}", stateName: "B");
        Assert.Equal("2", picked.Output!.ToJsonString());
        Assert.Null(picked.NextState);
        Assert.Throws<InvalidDefinitionException>(() => { _ = TestAsync("""{"Type":"Nope"}""", "{}").GetAwaiter().GetResult(); });
    }
}
