using System.Text.Json.Nodes;

namespace Strata.States.Tests;

/// <summary>The TestState entry point: one state, once, with its inspection data.</summary>
public class TestStateTests
{
    private static async Task<TestStateResult> TestAsync(string definition, string input, Func<TaskRequest, int, Task<JsonNode?>>? handler = null, string level = "DEBUG", string? stateName = null)
    {
        var clock = new SteppingClock();
        var host = new TestHost(clock, new MemoryJournal(clock), handler ?? ((r, _) => Task.FromResult(r.Parameters?.DeepClone())));
        return await Interpreter.TestStateAsync(definition, stateName, JsonNode.Parse(input), null, level, Harness.Start(null, clock.GetUtcNow()), host, CancellationToken.None);
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
