using System.Text.Json.Nodes;
using Strata.Server.Services.Events;

namespace Strata.Server.Tests.Unit;

public sealed class EventInputTests
{
    const string Event = """
        {"version":"0","id":"e1","detail-type":"SageMaker Endpoint State Change","source":"aws.sagemaker","account":"111122223333",
         "time":"2026-12-01T08:00:00Z","region":"us-east-1","resources":["arn:aws:sagemaker:us-east-1:111122223333:endpoint/demo"],
         "detail":{"EndpointName":"demo","EndpointStatus":"FAILED","FailureReason":"say \"no\"","Instances":2,"Tags":{"team":"ml"}}}
        """;

    const string RuleArn = "arn:aws:events:us-east-1:111122223333:rule/failed";
    static readonly DateTimeOffset Ingested = DateTimeOffset.Parse("2026-12-01T08:00:01Z", System.Globalization.CultureInfo.InvariantCulture);

    static string For(string? input = null, string? path = null, Dictionary<string, string>? map = null, string? template = null)
    {
        EventInput.Check(path, map, template);
        return EventInput.For(Event, input, path, map, template, RuleArn, "failed", Ingested);
    }

    [Fact]
    public void WithoutSettingsTheTargetGetsTheEvent() => Assert.Equal(Event, For());

    [Fact]
    public void AConstantInputReplacesTheEvent() => Assert.Equal("""{"fixed":true}""", For(input: """{"fixed":true}"""));

    [Theory]
    [InlineData("$.detail.EndpointName", "\"demo\"")]
    [InlineData("$.detail.Instances", "2")]
    [InlineData("$.detail.Tags", """{"team":"ml"}""")]
    [InlineData("$.resources[0]", "\"arn:aws:sagemaker:us-east-1:111122223333:endpoint/demo\"")]
    [InlineData("$['detail']['EndpointStatus']", "\"FAILED\"")]
    [InlineData("$.detail.missing", "null")]
    [InlineData("$.resources[5]", "null")]
    public void AnInputPathSelectsPartOfTheEvent(string path, string expected) => Assert.Equal(expected, For(path: path));

    [Fact]
    public void APathAtTheRootIsTheWholeEvent()
        => Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Event), JsonNode.Parse(For(path: "$"))));

    [Fact]
    public void PlaceholdersInsideStringsTakeTheTextAndOutsideTheJson()
    {
        var map = new Dictionary<string, string> { ["name"] = "$.detail.EndpointName", ["n"] = "$.detail.Instances", ["tags"] = "$.detail.Tags", ["why"] = "$.detail.FailureReason", ["none"] = "$.detail.nothing" };
        var output = For(map: map, template: """{"text":"<name> has <n> instances: <why>","count":<n>,"tags":<tags>,"name":<name>,"gone":<none>,"empty":"<none>","rule":"<aws.events.rule-name>"}""");
        var parsed = JsonNode.Parse(output)!;
        Assert.Equal("demo has 2 instances: say \"no\"", (string)parsed["text"]!);
        Assert.Equal(2, (int)parsed["count"]!);
        Assert.Equal("ml", (string)parsed["tags"]!["team"]!);
        Assert.Equal("demo", (string)parsed["name"]!);
        Assert.Null(parsed["gone"]);
        Assert.Equal("", (string)parsed["empty"]!);
        Assert.Equal("failed", (string)parsed["rule"]!);
    }

    [Fact]
    public void AStringTemplateMakesAString()
        => Assert.Equal("\"Endpoint demo is FAILED\"", For(map: new() { ["e"] = "$.detail.EndpointName", ["s"] = "$.detail.EndpointStatus" }, template: "\"Endpoint <e> is <s>\""));

    [Fact]
    public void PredefinedVariablesNeedNoMapping()
    {
        var parsed = JsonNode.Parse(For(map: [], template: """{"arn":"<aws.events.rule-arn>","at":"<aws.events.event.ingestion-time>","event":<aws.events.event>}"""))!;
        Assert.Equal(RuleArn, (string)parsed["arn"]!);
        Assert.Equal("2026-12-01T08:00:01Z", (string)parsed["at"]!);
        Assert.Equal("e1", (string)parsed["event"]!["id"]!);
    }

    [Fact]
    public void APlaceholderWithoutAMappingIsLeftAsWritten()
        => Assert.Equal("\"<unknown> stays\"", For(map: [], template: "\"<unknown> stays\""));

    [Theory]
    [InlineData("detail.EndpointName", null, "must start with '$'")]
    [InlineData("$.", null, "a name is empty")]
    [InlineData("$[x]", null, "neither an index nor a quoted name")]
    [InlineData("$.a[0", null, "is not closed")]
    [InlineData(null, "bad key!", "is not valid")]
    [InlineData(null, "aws.events.rule-arn", "reserved")]
    public void RefusesWhatEventBridgeRefuses(string? path, string? key, string says)
    {
        var map = key is null ? null : new Dictionary<string, string> { [key] = "$.id" };
        var e = Assert.Throws<InvalidEventInputException>(() => EventInput.Check(path, map, map is null ? null : "\"x\""));
        Assert.Contains(says, e.Message);
    }

    [Fact]
    public void ATransformerNeedsATemplate()
        => Assert.Throws<InvalidEventInputException>(() => EventInput.Check(null, new Dictionary<string, string> { ["a"] = "$.id" }, null));

    [Fact]
    public void TooManyMappingsAreRefused()
        => Assert.Throws<InvalidEventInputException>(() => EventInput.Check(null, Enumerable.Range(0, 101).ToDictionary(i => $"k{i}", _ => "$.id"), "\"x\""));
}
