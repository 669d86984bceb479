using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Strata.States.Tests;

/// <summary>ValidateStateMachineDefinition's diagnostics and CreateStateMachine's InvalidDefinition message.</summary>
public class ValidationTests
{
    public static TheoryData<string, string, string, string?> Invalid() => new()
    {
        { "{not json", "INVALID_JSON_DESCRIPTION", "", null },
        { """{"StartAt":"A","States":{"A":{"Type":"Pass"}}}""", "SCHEMA_VALIDATION_FAILED", "The field 'Next' is required but was missing", "/States/A" },
        { """{"StartAt":"A","States":{"A":{"Type":"Bogus","End":true}}}""", "SCHEMA_VALIDATION_FAILED", "The value for the field 'Type' must be one of", "/States/A/Type" },
        { """{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nope"}}}""", "MISSING_TRANSITION_TARGET", "Missing 'Next' target: Nope", "/States/A/Next" },
        { """{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},"B":{"Type":"Pass","End":true}}}""", "MISSING_TRANSITION_TARGET", "State \"B\" is not reachable.", "/States/B" },
        { """{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}""", "MISSING_END_STATE", "Workflow has no terminal state", null },
        { """{"StartAt":"Z","States":{"A":{"Type":"Pass","End":true}}}""", "MISSING_TRANSITION_TARGET", "Missing 'Next' target: Z", "/StartAt" },
        { """{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"a.b","End":true}}}""", "SCHEMA_VALIDATION_FAILED", "The value for the field 'InputPath' must be a valid JSONPath", "/States/A/InputPath" },
        { """{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","End":true}}}""", "SCHEMA_VALIDATION_FAILED", "The value for the field 'ResultPath' must be a valid ReferencePath", "/States/A/ResultPath" },
        { """{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"x.$":"States.Nope(1)"},"End":true}}}""", "SCHEMA_VALIDATION_FAILED", "The value for the field 'x.$' must be a valid JSONPath or a valid intrinsic function call", "/States/A/Parameters/x.$" },
        { """{"StartAt":"C","States":{"C":{"Type":"Choice"}}}""", "SCHEMA_VALIDATION_FAILED", "The field 'Choices' is required but was missing", "/States/C" },
        { """{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,"Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}]}}}""", "SCHEMA_VALIDATION_FAILED", "States.ALL", "/States/T/Retry[0]/ErrorEquals" },
        { """{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","End":true,"Retry":[{"ErrorEquals":["X"],"BackoffRate":0.5}]}}}""", "SCHEMA_VALIDATION_FAILED", "BackoffRate", "/States/T/Retry[0]/BackoffRate" },
        { """{"StartAt":"T","States":{"T":{"Type":"Task","End":true}}}""", "SCHEMA_VALIDATION_FAILED", "The field 'Resource' is required but was missing", "/States/T" },
        { """{"StartAt":"A","States":{"A":{"Type":"Pass","Foo":1,"End":true}}}""", "SCHEMA_VALIDATION_FAILED", "The field 'Foo' is not supported by Step Functions", "/States/A" },
        { """{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$","End":true}}}""", "SCHEMA_VALIDATION_FAILED", "The field 'InputPath' is not supported for the query language JSONata", "/States/A" },
        { """{"StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% 1 %}","End":true}}}""", "SCHEMA_VALIDATION_FAILED", "The field 'Output' is not supported for the query language JSONPath", "/States/A" },
        { """{"StartAt":"W","States":{"W":{"Type":"Wait","End":true}}}""", "SCHEMA_VALIDATION_FAILED", "exactly one of", "/States/W" },
        { """{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":"a","Next":"C"}],"Default":"E"},"E":{"Type":"Succeed"}}}""", "SCHEMA_VALIDATION_FAILED", "NumericEquals", "/States/C/Choices[0]/NumericEquals" },
        { """{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"X","States":{"X":{"Type":"Pass","Next":"Y"}}}]}}}""", "MISSING_TRANSITION_TARGET", "Missing 'Next' target: Y", "/States/P/Branches[0]/States/X/Next" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Refuses_as_AWS_does(string definition, string code, string message, string? location)
    {
        var diagnostics = StateMachineDefinition.Validate(definition);
        var d = Assert.Single(diagnostics, x => x.Code == code && x.Message.Contains(message, StringComparison.Ordinal));
        Assert.Equal("ERROR", d.Severity);
        Assert.Equal(location, d.Location);
        var e = Assert.Throws<InvalidDefinitionException>(() => StateMachineDefinition.Parse(definition));
        Assert.StartsWith("Invalid State Machine Definition: '", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lists_every_problem_in_AWS_order()
    {
        var e = Assert.Throws<InvalidDefinitionException>(() => StateMachineDefinition.Parse(
            """{"StartAt":"pass1","States":{"pass1":{"Type":"Pass","Next":"pass3"},"pass2":{"Type":"Pass","End":true}}}"""));
        Assert.Equal("Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next, "
            + "MISSING_TRANSITION_TARGET: State \"pass2\" is not reachable. at /States/pass2'", e.Message);
    }

    [Fact]
    public void A_valid_definition_has_no_diagnostics_and_lists_its_states()
    {
        const string Definition = """
            {"Comment":"c","TimeoutSeconds":60,"StartAt":"A","States":{
              "A":{"Type":"Pass","Next":"B"},
              "B":{"Type":"Choice","Choices":[{"And":[{"Variable":"$.a","IsPresent":true},{"Not":{"Variable":"$.a","StringEquals":"x"}}],"Next":"C"}],"Default":"D"},
              "C":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"I","States":{"I":{"Type":"Succeed"}}},"Next":"D"},
              "D":{"Type":"Task","Resource":"arn:aws:states:::sagemaker:createTrainingJob.sync","Retry":[{"ErrorEquals":["States.Timeout"],"MaxAttempts":0},{"ErrorEquals":["States.ALL"]}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"F"}],"End":true},
              "F":{"Type":"Fail","Error":"E"}}}
            """;
        Assert.Empty(StateMachineDefinition.Validate(Definition));
        var def = StateMachineDefinition.Parse(Definition);
        Assert.Equal(["A", "B", "C", "D", "F"], def.StateNames);
        Assert.Equal(60, def.TimeoutSeconds);
        Assert.Equal("JSONPath", def.QueryLanguage);
    }

    /// <summary>Not a benchmark (no timed assertion: the test machines are shared): runs a 2000-state Pass chain
    /// in memory and prints the transitions per second it saw, for the record.</summary>
    [Fact]
    public async Task Pass_transitions_are_cheap()
    {
        const int States = 2000;
        var states = new JsonObject();
        for (var i = 0; i < States; i++)
            states["S" + i] = i == States - 1 ? new JsonObject { ["Type"] = "Pass", ["End"] = true } : new JsonObject { ["Type"] = "Pass", ["ResultPath"] = "$.last", ["Result"] = i, ["Next"] = "S" + (i + 1) };
        var def = new JsonObject { ["StartAt"] = "S0", ["States"] = states }.ToJsonString();
        var parsed = StateMachineDefinition.Parse(def);
        async Task<ExecutionOutcome> Once()
        {
            var clock = new SteppingClock();
            var host = new TestHost(clock, new MemoryJournal(clock), (q, _) => Task.FromResult(q.Parameters));
            return await Interpreter.RunAsync(parsed, Harness.Start(JsonNode.Parse("""{"payload":{"a":[1,2,3],"b":"text"}}"""), clock.GetUtcNow()), host, default);
        }
        await Once(); // warm up
        var watch = Stopwatch.StartNew();
        var outcome = await Once();
        watch.Stop();
        Assert.Equal("SUCCEEDED", outcome.Status);
        var rate = States / watch.Elapsed.TotalSeconds;
        Console.WriteLine($"Pass transitions: {rate:F0}/s");
        Assert.Equal(States - 2, outcome.Output!["last"]!.GetValue<int>());
    }
}
