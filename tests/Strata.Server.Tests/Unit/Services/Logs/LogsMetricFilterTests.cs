using Strata.Server.Services.Logs;

namespace Strata.Server.Tests.Unit;

/// <summary>Metric filters on their own: the fields a pattern names and the values it extracts,
/// the checks a filter must pass when it is put, and what it publishes for each message.</summary>
public sealed class LogsMetricFilterTests
{
    const string Access = "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326";

    [Fact]
    public void SpaceDelimitedPatternsExtractTheirNamedFields()
    {
        var pattern = FilterPattern.Parse("[ip, identity, user, timestamp, request, status_code = 2*, bytes]");
        Assert.Equal(["$ip", "$identity", "$user", "$timestamp", "$request", "$status_code", "$bytes"], pattern.Fields);
        var values = pattern.Extract(Access)!;
        Assert.Equal("frank", values["$user"]);
        Assert.Equal("10/Oct/2000:13:55:36 -0700", values["$timestamp"]);
        Assert.Equal("GET /apache_pb.gif HTTP/1.0", values["$request"]);
        Assert.Equal("2326", values["$bytes"]);
        Assert.Equal(7, values.Count);
        Assert.Null(pattern.Extract(Access.Replace(" 200 ", " 404 ", StringComparison.Ordinal)));
        // An ellipsis binds nothing; the fields around it are those it leaves.
        var tail = FilterPattern.Parse("[ip, ..., status, bytes]").Extract(Access)!;
        Assert.Equal(new Dictionary<string, string> { ["$ip"] = "127.0.0.1", ["$status"] = "200", ["$bytes"] = "2326" }, tail);
    }

    [Fact]
    public void JsonPatternsExtractTheirSelectors()
    {
        var pattern = FilterPattern.Parse("{ $.latency > 0 && ($.route = \"/a\" || $.route = \"/b\") && $.ok IS TRUE && $.items[*].id = * }");
        Assert.Equal(["$.latency", "$.route", "$.ok", "$.items[*].id"], pattern.Fields);
        var values = pattern.Extract("""{"latency": 12.5, "route": "/b", "ok": true, "items": [{"id": 7}, {"id": 9}]}""")!;
        Assert.Equal("12.5", values["$.latency"]);
        Assert.Equal("/b", values["$.route"]);
        Assert.Equal("true", values["$.ok"]);
        Assert.Equal("7", values["$.items[*].id"]);
        Assert.Null(pattern.Extract("""{"latency": 0, "route": "/b", "ok": true, "items": [{"id": 7}]}"""));
        Assert.Null(pattern.Extract("not json"));
        // A selector only tested for absence has no value to give.
        Assert.Empty(FilterPattern.Parse("{ $.error NOT EXISTS }").Extract("""{"a": 1}""")!);
    }

    [Theory]
    [InlineData("ERROR")]
    [InlineData("%ERR(OR)?%")]
    [InlineData("")]
    public void OtherPatternsNameNoFields(string pattern)
    {
        var parsed = FilterPattern.Parse(pattern);
        Assert.Empty(parsed.Fields);
        Assert.Empty(parsed.Extract("an ERROR here")!);
        if (pattern.Length > 0) Assert.Null(parsed.Extract("all fine"));
    }

    static MetricFilterRule Rule(string pattern, string value, double? defaultValue = null, Dictionary<string, string>? dimensions = null)
        => MetricFilterRule.Create(pattern, value, defaultValue, dimensions);

    [Fact]
    public void LiteralValuesAndDefaults()
    {
        var rule = Rule("ERROR", "1", defaultValue: 0);
        var match = rule.Observe("ERROR boom")!.Value;
        Assert.Equal(1, match.Value);
        Assert.Empty(match.Dimensions);
        var other = rule.Observe("all fine")!.Value;
        Assert.Equal(0, other.Value);
        Assert.Empty(other.Dimensions);
        Assert.Null(Rule("ERROR", "2.5").Observe("all fine"));
        Assert.Equal(2.5, Rule("ERROR", "2.5").Observe("ERROR")!.Value.Value);
    }

    [Fact]
    public void FieldValuesAndDimensions()
    {
        var json = Rule("{ $.latency = * }", "$.latency", defaultValue: -1);
        Assert.Equal(42, json.Observe("""{"latency": 42}""")!.Value.Value);
        Assert.Equal(7.5, json.Observe("""{"latency": "7.5"}""")!.Value.Value);
        // A value that is not a number publishes nothing, not the default.
        Assert.Null(json.Observe("""{"latency": "slow"}"""));
        Assert.Equal(-1, json.Observe("""{"other": 1}""")!.Value.Value);

        var access = Rule("[ip, identity, user, timestamp, request, status, bytes]", "$bytes",
            dimensions: new() { ["User"] = "$user", ["Status"] = "$status" });
        var o = access.Observe(Access)!.Value;
        Assert.Equal(2326, o.Value);
        Assert.Equal([KeyValuePair.Create("User", "frank"), KeyValuePair.Create("Status", "200")], o.Dimensions);
        Assert.Null(access.Observe("too few fields"));

        // A dimension's field the event lacks (here, under an OR) publishes nothing.
        var either = Rule("{ $.a = 1 || $.b = 1 }", "1", dimensions: new() { ["A"] = "$.a" });
        Assert.Equal("1", either.Observe("""{"a": 1}""")!.Value.Dimensions.Single().Value);
        Assert.Null(either.Observe("""{"b": 1}"""));
    }

    [Theory]
    [InlineData("ERROR", "$.latency", null, "Invalid metric value '$.latency': with this filter pattern the metric value must be a number.")]
    [InlineData("ERROR", "one", null, "Invalid metric value 'one': with this filter pattern the metric value must be a number.")]
    [InlineData("{ $.latency = * }", "$.duration", null, "Invalid metric value '$.duration': the metric value must be a number or a field of the filter pattern ($.latency).")]
    [InlineData("[a, b]", "$c", null, "Invalid metric value '$c': the metric value must be a number or a field of the filter pattern ($a, $b).")]
    [InlineData("[a, b]", "b", null, "Invalid metric value 'b': the metric value must be a number or a field of the filter pattern ($a, $b).")]
    [InlineData("[a, b]", "NaN", null, "Invalid metric value 'NaN': the metric value must be a number or a field of the filter pattern ($a, $b).")]
    [InlineData("ERROR", "1", "X=$x", "The specified filter pattern does not support dimensions")]
    [InlineData("[a, b]", "1", "A=$a,B=$b,C=$a,D=$b", "Invalid metric transformation: a metric filter can have at most 3 dimensions, not 4.")]
    [InlineData("[a, b]", "1", "A=$c", "Invalid dimension value '$c' for dimension 'A': a dimension's value must be a field of the filter pattern ($a, $b).")]
    [InlineData("[a, b]", "1", ":A=$a", "Invalid dimension name ':A': a dimension name must be ASCII, contain a character other than white space and not start with ':'.")]
    public void RefusedFilters(string pattern, string value, string? dimensions, string message)
    {
        var dims = dimensions?.Split(',').Select(d => d.Split('=')).ToDictionary(d => d[0], d => d[1]);
        Assert.Equal(message, Assert.Throws<InvalidLogsParameter>(() => Rule(pattern, value, dimensions: dims)).Message);
    }

    [Fact]
    public void DimensionsExcludeADefaultValue()
        => Assert.Equal("Invalid metric transformation: dimensions and default value are mutually exclusive properties",
            Assert.Throws<InvalidLogsParameter>(() => Rule("[a, b]", "1", 0, new() { ["A"] = "$a" })).Message);

    [Fact]
    public void AnInvalidPatternIsRefusedAsSuch()
        => Assert.Equal("Invalid filter pattern", Assert.Throws<InvalidFilterPattern>(() => Rule("{ $.a = }", "1")).Message);
}
