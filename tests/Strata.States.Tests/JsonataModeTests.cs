using System.Text.Json.Nodes;

namespace Strata.States.Tests;

/// <summary>States in QueryLanguage JSONata: Arguments, Output, Assign, Condition, Items, and <c>$states</c>.</summary>
public class JsonataModeTests
{
    public static TheoryData<string, string, string?, string?> Cases() => new()
    {
        {
            "pass output from input and context",
            """{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":{"sum":"{% $states.input.a + $states.input.b %}","name":"{% $states.context.State.Name %}","lit":1},"End":true}}}""",
            """{"a":1,"b":2}""", """{"sum":3,"name":"A","lit":1}"""
        },
        {
            "assign then read a variable",
            """{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":"{% $states.input.v * 2 %}"},"Next":"B"},"B":{"Type":"Pass","Output":"{% $x + 1 %}","End":true}}}""",
            """{"v":5}""", "11"
        },
        {
            "task arguments and result",
            """{"QueryLanguage":"JSONata","StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::sagemaker:createModel","Arguments":{"ModelName":"{% 'm-' & $states.input.id %}"},"Output":{"made":"{% $states.result.ModelName %}"},"End":true}}}""",
            """{"id":"7"}""", """{"made":"m-7"}"""
        },
        {
            "choice condition",
            """{"QueryLanguage":"JSONata","StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Condition":"{% $states.input.n > 3 %}","Next":"Big","Output":"big"}],"Default":"Small"},"Big":{"Type":"Succeed"},"Small":{"Type":"Pass","Output":"small","End":true}}}""",
            """{"n":5}""", "\"big\""
        },
        {
            "map items and item selector",
            """{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","Items":"{% $states.input.xs %}","ItemSelector":{"v":"{% $states.context.Map.Item.Value * 10 %}"},"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","Output":"{% $states.input.v %}","End":true}}},"End":true}}}""",
            """{"xs":[1,2]}""", "[10,20]"
        },
        {
            "catch error output",
            """{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Bad","Cause":"{% 'because ' & $states.input.w %}"}}}],"Catch":[{"ErrorEquals":["Bad"],"Output":{"e":"{% $states.errorOutput.Error %}","c":"{% $states.errorOutput.Cause %}"},"Next":"D"}],"End":false,"Next":"D"},"D":{"Type":"Succeed"}}}""",
            """{"w":"x"}""", """{"e":"Bad","c":"because x"}"""
        },
        {
            "wait seconds expression",
            """{"QueryLanguage":"JSONata","StartAt":"W","States":{"W":{"Type":"Wait","Seconds":"{% $states.input.s %}","End":true}}}""",
            """{"s":3}""", """{"s":3}"""
        },
        {
            "mixed: a JSONPath state in a JSONPath machine next to a JSONata one",
            """{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"v.$":"$.a"},"Next":"B"},"B":{"Type":"Pass","QueryLanguage":"JSONata","Output":"{% $states.input.v %}","End":true}}}""",
            """{"a":4}""", "4"
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Runs(string name, string definition, string? input, string? output)
    {
        var r = await Harness.RunAsync(definition, input);
        Assert.True(r.Outcome.Status == "SUCCEEDED", $"{name}: {r.Outcome.Error}: {r.Outcome.Cause}");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(output!), r.Outcome.Output), r.Outcome.Output?.ToJsonString());
    }

    [Fact]
    public async Task An_evaluation_error_is_States_QueryEvaluationError()
    {
        var r = await Harness.RunAsync("""{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% $states.input.a + 'x' %}","End":true}}}""", """{"a":1}""");
        Assert.Equal("States.QueryEvaluationError", r.Outcome.Error);
        Assert.StartsWith("An error occurred while executing the state 'A' (entered at the event id #2).", r.Outcome.Cause, StringComparison.Ordinal);
    }

    [Fact]
    public void A_JSONata_expression_that_does_not_compile_is_refused()
    {
        var d = StateMachineDefinition.Validate("""{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","Output":"{% $states.input.( %}","End":true}}}""");
        var one = Assert.Single(d);
        Assert.Equal("SCHEMA_VALIDATION_FAILED", one.Code);
        Assert.Equal("/States/A/Output", one.Location);
    }
}
