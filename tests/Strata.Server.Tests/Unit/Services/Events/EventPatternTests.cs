using System.Text;
using System.Text.Json;
using Strata.Server.Services.Events;

namespace Strata.Server.Tests.Unit;

public sealed class EventPatternTests
{
    /// <summary>The sample event of AWS's content-filtering documentation (and event-ruler's README).</summary>
    const string Ec2Event = """
        {
          "version": "0", "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
          "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
          "account": "012345679012", "time": "2017-10-02T16:24:49Z", "region": "us-east-1",
          "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
          "detail": {
            "c-count": 5, "d-count": 3, "x-limit": 301.8, "source-ip": "10.0.0.33",
            "instance-id": "i-000000aaaaaa00000", "state": "running"
          }
        }
        """;

    static bool Matches(string pattern, string @event) => EventPattern.Parse(pattern).Matches(@event);

    static string Refusal(string pattern) => Assert.Throws<InvalidEventPatternException>(() => EventPattern.Parse(pattern)).Message;

    // The documentation's patterns against its sample event: each must match it.
    [Theory]
    [InlineData("""{"detail-type": ["EC2 Instance State-change Notification"], "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"], "detail": {"state": ["initializing", "running"]}}""")]
    [InlineData("""{"time": [{"prefix": "2017-10-02"}]}""")]
    [InlineData("""{"source": [{"suffix": "ec2"}]}""")]
    [InlineData("""{"source": [{"equals-ignore-case": "AWS.EC2"}]}""")]
    [InlineData("""{"detail-type": [{"wildcard": "EC2*State-change*"}]}""")]
    [InlineData("""{"detail": {"state": [{"anything-but": "initializing"}]}}""")]
    [InlineData("""{"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}""")]
    [InlineData("""{"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}""")]
    [InlineData("""{"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}""")]
    [InlineData("""{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"numeric": ["=", 3.018e2]}]}}""")]
    [InlineData("""{"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}""")]
    [InlineData("""{"detail": {"c-count": [{"exists": true}]}}""")]
    [InlineData("""{"detail": {"b-count": [{"exists": false}]}}""")]
    [InlineData("""{"time": [{"prefix": "2017-10-02"}], "detail": {"state": [{"anything-but": "initializing"}], "c-count": [{"numeric": [">", 0, "<=", 5]}], "d-count": [{"numeric": ["<", 10]}], "x-limit": [{"anything-but": [100, 200, 300]}], "source-ip": [{"cidr": "10.0.0.0/8"}]}}""")]
    [InlineData("""{"source": ["aws.ec2"], "$or": [{"detail": {"state": ["stopped"]}}, {"detail": {"c-count": [5]}}]}""")]
    public void DocumentedPatternsMatchTheDocumentedEvent(string pattern) => Assert.True(Matches(pattern, Ec2Event));

    // The same patterns changed in one condition: none may match.
    [Theory]
    [InlineData("""{"detail-type": ["EC2 Instance State-change Notification"], "detail": {"state": ["initializing", "stopped"]}}""")]
    [InlineData("""{"time": [{"prefix": "2017-10-03"}]}""")]
    [InlineData("""{"source": [{"suffix": "EC2"}]}""")]
    [InlineData("""{"detail-type": [{"wildcard": "EC2*state-change*"}]}""")]
    [InlineData("""{"detail": {"state": [{"anything-but": "running"}]}}""")]
    [InlineData("""{"detail": {"c-count": [{"anything-but": [5, 6]}]}}""")]
    [InlineData("""{"detail": {"state": [{"anything-but": {"prefix": "run"}}]}}""")]
    [InlineData("""{"detail": {"c-count": [{"numeric": [">", 5, "<=", 10]}]}}""")]
    [InlineData("""{"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}""")]
    [InlineData("""{"detail": {"c-count": [{"exists": false}]}}""")]
    [InlineData("""{"detail": {"b-count": [{"exists": true}]}}""")]
    [InlineData("""{"source": ["aws.ec2"], "$or": [{"detail": {"state": ["stopped"]}}, {"detail": {"c-count": [6]}}]}""")]
    public void ChangedPatternsDoNotMatchTheDocumentedEvent(string pattern) => Assert.False(Matches(pattern, Ec2Event));

    [Theory]
    // Exact values: strings, numbers as numbers, booleans, null, the empty string.
    [InlineData("""{"a": ["x"]}""", """{"a": "x"}""", true)]
    [InlineData("""{"a": ["x"]}""", """{"a": "X"}""", false)]
    [InlineData("""{"a": ["x"]}""", """{}""", false)]
    [InlineData("""{"a": [300]}""", """{"a": 3.0e2}""", true)]
    [InlineData("""{"a": [300]}""", """{"a": 300.0000}""", true)]
    [InlineData("""{"a": [300]}""", """{"a": "300"}""", false)]
    [InlineData("""{"a": ["300"]}""", """{"a": 300}""", false)]
    [InlineData("""{"a": [123456789012]}""", """{"a": 123456789012}""", true)]
    [InlineData("""{"a": [123456789012]}""", """{"a": 123456789012.0}""", false)]
    [InlineData("""{"a": [true]}""", """{"a": true}""", true)]
    [InlineData("""{"a": [true]}""", """{"a": "true"}""", false)]
    [InlineData("""{"a": [false]}""", """{"a": true}""", false)]
    [InlineData("""{"a": [null]}""", """{"a": null}""", true)]
    [InlineData("""{"a": [null]}""", """{}""", false)]
    [InlineData("""{"a": [null]}""", """{"a": []}""", false)]
    [InlineData("""{"a": [""]}""", """{"a": ""}""", true)]
    [InlineData("""{"a": [""]}""", """{"a": null}""", false)]
    [InlineData("""{"ip": ["10.0.0.1"]}""", """{"ip": "10.000.0.001"}""", true)]
    [InlineData("""{"ip": ["2001:db8::1"]}""", """{"ip": "2001:0db8:0:0:0:0:0:1"}""", true)]
    // Arrays in the event: any element; nested arrays flatten; objects in arrays hold nested fields.
    [InlineData("""{"a": ["x"]}""", """{"a": ["q", "x"]}""", true)]
    [InlineData("""{"a": ["x"]}""", """{"a": [["q"], ["x"]]}""", true)]
    [InlineData("""{"a": ["x"]}""", """{"a": [{"b": "x"}]}""", false)]
    [InlineData("""{"a": ["x"]}""", """{"a": {"b": "x"}}""", false)]
    [InlineData("""{"e": {"first": ["Anna"]}}""", """{"e": [{"first": "John"}, {"first": "Anna"}]}""", true)]
    [InlineData("""{"e": {"first": ["Anna"], "last": ["Smith"]}}""", """{"e": [{"first": "Anna", "last": "Smith"}, {"first": "Peter", "last": "Jones"}]}""", true)]
    [InlineData("""{"e": {"first": ["Anna"], "last": ["Jones"]}}""", """{"e": [{"first": "Anna", "last": "Smith"}, {"first": "Peter", "last": "Jones"}]}""", false)]
    [InlineData("""{"e": {"first": ["Anna"]}}""", """{"e": [[{"first": "Anna"}]]}""", true)]
    [InlineData("""{"o": {"s": ["on"]}}""", """{"o": "on"}""", false)]
    // AND across fields, OR within a field.
    [InlineData("""{"a": ["x"], "b": ["y"]}""", """{"a": "x", "b": "z"}""", false)]
    [InlineData("""{"a": ["x", "z"], "b": ["y"]}""", """{"a": "z", "b": "y"}""", true)]
    // prefix / suffix / equals-ignore-case, on strings only.
    [InlineData("""{"a": [{"prefix": "ab"}]}""", """{"a": "abc"}""", true)]
    [InlineData("""{"a": [{"prefix": "ab"}]}""", """{"a": "ABc"}""", false)]
    [InlineData("""{"a": [{"prefix": ""}]}""", """{"a": ""}""", true)]
    [InlineData("""{"a": [{"prefix": "12"}]}""", """{"a": 123}""", false)]
    [InlineData("""{"a": [{"prefix": {"equals-ignore-case": "EventB"}}]}""", """{"a": "eventbridge"}""", true)]
    [InlineData("""{"a": [{"prefix": {"equals-ignore-case": "EventB"}}]}""", """{"a": "event"}""", false)]
    [InlineData("""{"a": [{"suffix": ".png"}]}""", """{"a": "photo.png"}""", true)]
    [InlineData("""{"a": [{"suffix": ".png"}]}""", """{"a": "photo.PNG"}""", false)]
    [InlineData("""{"a": [{"suffix": {"equals-ignore-case": ".png"}}]}""", """{"a": "photo.PNG"}""", true)]
    [InlineData("""{"a": [{"equals-ignore-case": "HeLLo"}]}""", """{"a": "hello"}""", true)]
    [InlineData("""{"a": [{"equals-ignore-case": "HeLLo"}]}""", """{"a": "hello!"}""", false)]
    [InlineData("""{"a": [{"equals-ignore-case": ""}]}""", """{"a": ""}""", true)]
    [InlineData("""{"a": [{"exactly": "x"}]}""", """{"a": "x"}""", true)]
    // wildcard.
    [InlineData("""{"a": [{"wildcard": "*.png"}]}""", """{"a": "dir/a.png"}""", true)]
    [InlineData("""{"a": [{"wildcard": "dir/*.png"}]}""", """{"a": "dir/a.jpg"}""", false)]
    [InlineData("""{"a": [{"wildcard": "a*b*c"}]}""", """{"a": "abc"}""", true)]
    [InlineData("""{"a": [{"wildcard": "a*b*c"}]}""", """{"a": "acb"}""", false)]
    [InlineData("""{"a": [{"wildcard": "a*bc*bc"}]}""", """{"a": "abcxbcbc"}""", true)]
    [InlineData("""{"a": [{"wildcard": "*"}]}""", """{"a": ""}""", true)]
    [InlineData("""{"a": [{"wildcard": "*"}]}""", """{"a": 5}""", false)]
    [InlineData("""{"a": [{"wildcard": "a\\*b"}]}""", """{"a": "a*b"}""", true)]
    [InlineData("""{"a": [{"wildcard": "a\\*b"}]}""", """{"a": "axb"}""", false)]
    [InlineData("""{"a": [{"wildcard": "a\\\\b"}]}""", """{"a": "a\\b"}""", true)]
    [InlineData("""{"a": [{"wildcard": ""}]}""", """{"a": ""}""", true)]
    // anything-but: every leaf value it does not exclude, null and other types included; never a missing field.
    [InlineData("""{"a": [{"anything-but": "x"}]}""", """{"a": null}""", true)]
    [InlineData("""{"a": [{"anything-but": "x"}]}""", """{"a": 5}""", true)]
    [InlineData("""{"a": [{"anything-but": "x"}]}""", """{}""", false)]
    [InlineData("""{"a": [{"anything-but": "x"}]}""", """{"a": ["x"]}""", false)]
    [InlineData("""{"a": [{"anything-but": "x"}]}""", """{"a": ["x", "y"]}""", true)]
    [InlineData("""{"a": [{"anything-but": 100}]}""", """{"a": 1e2}""", false)]
    [InlineData("""{"a": [{"anything-but": 100}]}""", """{"a": "100"}""", true)]
    [InlineData("""{"a": [{"anything-but": 0}]}""", """{"a": 0}""", false)]
    [InlineData("""{"a": [{"anything-but": {"prefix": "init"}}]}""", """{"a": 12}""", true)]
    [InlineData("""{"a": [{"anything-but": {"prefix": ["us-", "eu-"]}}]}""", """{"a": "eu-west-1"}""", false)]
    [InlineData("""{"a": [{"anything-but": {"prefix": ["us-", "eu-"]}}]}""", """{"a": "ap-south-1"}""", true)]
    [InlineData("""{"a": [{"anything-but": {"suffix": ".png"}}]}""", """{"a": "a.png"}""", false)]
    [InlineData("""{"a": [{"anything-but": {"suffix": ".png"}}]}""", """{"a": null}""", true)]
    [InlineData("""{"a": [{"anything-but": {"wildcard": "*/lib/*"}}]}""", """{"a": "/usr/lib/x"}""", false)]
    [InlineData("""{"a": [{"anything-but": {"wildcard": "*/lib/*"}}]}""", """{"a": 123}""", true)]
    [InlineData("""{"a": [{"anything-but": {"wildcard": ""}}]}""", """{"a": "x"}""", true)]
    [InlineData("""{"a": [{"anything-but": {"equals-ignore-case": "Init"}}]}""", """{"a": "INIT"}""", false)]
    [InlineData("""{"a": [{"anything-but": {"equals-ignore-case": ["Init", "Stop"]}}]}""", """{"a": "running"}""", true)]
    [InlineData("""{"a": [{"anything-but": {"equals-ignore-case": "Init"}}]}""", """{"a": null}""", true)]
    // numeric: JSON numbers only, compared as numbers, within ±5e9 and six decimal places.
    [InlineData("""{"a": [{"numeric": ["=", 301.8]}]}""", """{"a": 3.018e2}""", true)]
    [InlineData("""{"a": [{"numeric": [">", 0]}]}""", """{"a": "5"}""", false)]
    [InlineData("""{"a": [{"numeric": [">", 0]}]}""", """{"a": 5000000000}""", true)]
    [InlineData("""{"a": [{"numeric": [">", 0]}]}""", """{"a": 5000000001}""", false)]
    [InlineData("""{"a": [{"numeric": [">", 0]}]}""", """{"a": 0.0000001}""", false)]
    [InlineData("""{"a": [{"numeric": [">", 0]}]}""", """{"a": 0.000001}""", true)]
    [InlineData("""{"a": [{"numeric": [">", 0]}]}""", """{"a": 0}""", false)]
    [InlineData("""{"a": [{"numeric": [">=", 0]}]}""", """{"a": -0.0}""", true)]
    [InlineData("""{"a": [{"numeric": ["<", 10]}]}""", """{"a": 10}""", false)]
    [InlineData("""{"a": [{"numeric": ["<=", 10]}]}""", """{"a": 10}""", true)]
    [InlineData("""{"a": [{"numeric": [">", 0, "<", 1]}]}""", """{"a": [5, 0.5]}""", true)]
    [InlineData("""{"a": [{"numeric": ["<", 0]}]}""", """{"a": -5000000000}""", true)]
    [InlineData("""{"a": [{"numeric": [">", 0]}]}""", """{"a": null}""", false)]
    [InlineData("""{"a": [{"numeric": [">", 0]}]}""", """{"a": true}""", false)]
    // exists: leaves only; null and values in arrays exist, an empty array or an object does not.
    [InlineData("""{"a": [{"exists": true}]}""", """{"a": null}""", true)]
    [InlineData("""{"a": [{"exists": false}]}""", """{"a": null}""", false)]
    [InlineData("""{"a": [{"exists": true}]}""", """{"a": []}""", false)]
    [InlineData("""{"a": [{"exists": false}]}""", """{"a": []}""", true)]
    [InlineData("""{"a": [{"exists": true}]}""", """{"a": {"b": 1}}""", false)]
    [InlineData("""{"a": [{"exists": false}]}""", """{"a": {"b": 1}}""", true)]
    [InlineData("""{"a": [{"exists": true}]}""", """{"a": [[], [1]]}""", true)]
    [InlineData("""{"d": {"l1": {"l2": [{"exists": false}]}}}""", """{"d": {"l1": {"l2": "v"}}}""", false)]
    [InlineData("""{"d": {"l1": {"l2": [{"exists": false}]}}}""", """{"x": 1}""", true)]
    [InlineData("""{"d": {"l1": {"l2": [{"exists": false}]}}}""", """{"d": "scalar"}""", true)]
    [InlineData("""{"a": [{"exists": false}, "x"]}""", """{"a": "x"}""", true)]
    // cidr: IPv4 and IPv6, strings that are addresses only.
    [InlineData("""{"ip": [{"cidr": "10.0.0.0/24"}]}""", """{"ip": "10.0.0.255"}""", true)]
    [InlineData("""{"ip": [{"cidr": "10.0.0.0/24"}]}""", """{"ip": "10.0.1.0"}""", false)]
    [InlineData("""{"ip": [{"cidr": "10.0.0.0/24"}]}""", """{"ip": "not-an-ip"}""", false)]
    [InlineData("""{"ip": [{"cidr": "10.0.0.0/24"}]}""", """{"ip": "::ffff:a00:1"}""", false)]
    [InlineData("""{"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]}""", """{"ip": "2001:db8:1234:1a00::7"}""", true)]
    [InlineData("""{"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]}""", """{"ip": "2001:db8:1234:1a01::7"}""", false)]
    // $or: at the top, nested, and inside alternatives.
    [InlineData("""{"$or": [{"a": ["x"]}, {"b": ["y"]}]}""", """{"b": "y"}""", true)]
    [InlineData("""{"$or": [{"a": ["x"]}, {"b": ["y"]}]}""", """{"c": "y"}""", false)]
    [InlineData("""{"d": {"$or": [{"a": [{"numeric": [">", 0, "<=", 5]}]}, {"b": [{"numeric": ["<", 10]}]}]}}""", """{"d": {"b": 3}}""", true)]
    [InlineData("""{"d": {"$or": [{"a": [{"numeric": [">", 0, "<=", 5]}]}, {"b": [{"numeric": ["<", 10]}]}]}}""", """{"d": {"a": 7, "b": 11}}""", false)]
    [InlineData("""{"s": ["cw"], "$or": [{"m": ["CPU"]}, {"t": ["T"], "n": ["EC2"], "$or": [{"id": [1234]}, {"sp": [1000]}]}]}""", """{"s": "cw", "t": "T", "n": "EC2", "sp": 1000}""", true)]
    [InlineData("""{"s": ["cw"], "$or": [{"m": ["CPU"]}, {"t": ["T"], "n": ["EC2"], "$or": [{"id": [1234]}, {"sp": [1000]}]}]}""", """{"s": "cw", "t": "T", "n": "EC2", "sp": 1001}""", false)]
    [InlineData("""{"$or": [{"a": ["x"]}, {"b": ["y"]}], "$or": [{"c": ["z"]}, {"d": ["w"]}]}""", """{"a": "x", "d": "w"}""", true)]
    // A repeated key: the last one counts (AWS documents it); repeated objects add up.
    [InlineData("""{"d": {"loc": [{"prefix": "us-"}], "loc": [{"anything-but": "us-east"}]}}""", """{"d": {"loc": "eu-west"}}""", true)]
    [InlineData("""{"d": {"a": ["1"]}, "d": {"b": ["2"]}}""", """{"d": {"a": "1", "b": "3"}}""", false)]
    public void Matching(string pattern, string @event, bool expected) => Assert.Equal(expected, Matches(pattern, @event));

    [Fact]
    public void MatchesAParsedElementAndRefusesNonObjects()
    {
        var pattern = EventPattern.Parse("""{"a": [{"exists": false}]}""");
        using var document = JsonDocument.Parse("""[{"b": 1}]""");
        Assert.False(pattern.Matches(document.RootElement));
        Assert.True(pattern.Matches(document.RootElement[0]));
    }

    // AWS's messages, recorded against EventBridge (LocalStack's snapshot of test_events_patterns, Dec 2024),
    // with the parser's position where AWS gives one.
    [Theory]
    [InlineData("""{"int": 42}""", "\"int\" must be an object or an array\n at [Source: (String)\"{\"int\": 42}\"; line: 1, column: 11]")]
    [InlineData("""{"string": "my-value"}""", "\"string\" must be an object or an array\n at [Source: (String)\"{\"string\": \"my-value\"}\"; line: 1, column: 13]")]
    [InlineData("""{"resources": []}""", "Empty arrays are not allowed\n at [Source: (String)\"{\"resources\": []}\"; line: 1, column: 17]")]
    [InlineData("""{"detail": {"equal": [{"NUMERIC": ["=", 5]}]}}""", "Unrecognized match type NUMERIC\n at [Source: (String)\"{\"detail\": {\"equal\": [{\"NUMERIC\": [\"=\", 5]}]}}\"; line: 1, column: 36]")]
    [InlineData("""{"my_key": [{"EXISTS": true}]}""", "Unrecognized match type EXISTS\n at [Source: (String)\"{\"my_key\": [{\"EXISTS\": true}]}\"; line: 1, column: 28]")]
    [InlineData("""{"detail": {"c-count": [{"numeric": [">", 0, ">", 0]}]}}""", "Bad numeric range operator: >\n at [Source: (String)\"{\"detail\": {\"c-count\": [{\"numeric\": [\">\", 0, \">\", 0]}]}}\"; line: 1, column: 49]")]
    [InlineData("""{"detail": {"c-count": [{"numeric": [">", 0, "<"]}]}}""", "Value of < must be numeric\n at [Source: (String)\"{\"detail\": {\"c-count\": [{\"numeric\": [\">\", 0, \"<\"]}]}}\"; line: 1, column: 50]")]
    [InlineData("""{"detail-type": [{"equals-ignore-case": ["ec2 instance state-change notification"]}]}""", "equals-ignore-case match pattern must be a string\n at [Source: (String)\"{\"detail-type\": [{\"equals-ignore-case\": [\"ec2 instance state-change notification\"]}]}\"; line: 1, column: 42]")]
    [InlineData("""{"detail-type": [{"equals-ignore-case": {"prefix": "ec2"}}]}""", "equals-ignore-case match pattern must be a string\n at [Source: (String)\"{\"detail-type\": [{\"equals-ignore-case\": {\"prefix\": \"ec2\"}}]}\"; line: 1, column: 42]")]
    [InlineData("""{"detail": {"state": [{"anything-but": {"equals-ignore-case": 123}}]}}""", "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.\n at [Source: (String)\"{\"detail\": {\"state\": [{\"anything-but\": {\"equals-ignore-case\": 123}}]}}\"; line: 1, column: 66]")]
    [InlineData("""{"detail": {"state": [{"anything-but": {"equals-ignore-case": [123, 456]}}]}}""", "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.\n at [Source: (String)\"{\"detail\": {\"state\": [{\"anything-but\": {\"equals-ignore-case\": [123, 456]}}]}}\"; line: 1, column: 67]\n at [Source: (String)\"{\"detail\": {\"state\": [{\"anything-but\": {\"equals-ignore-case\": [123, 456]}}]}}\"; line: 1, column: 67]")]
    [InlineData("this is valid json but not a dict", "Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')\n at [Source: (String)\"this is valid json but not a dict\"; line: 1, column: 5]")]
    [InlineData("{'bad': 'quotation'}", "Unexpected character (''' (code 39)): was expecting double-quote to start field name\n at [Source: (String)\"{'bad': 'quotation'}\"; line: 1, column: 2]")]
    [InlineData("""{"not": closed mark"}""", "Unrecognized token 'closed': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')\n at [Source: (String)\"{\"not\": closed mark\"}\"; line: 1, column: 15]")]
    [InlineData("""["not", "a", "dict", "but valid json"]""", "Filter is not an object\n at [Source: (String)\"[\"not\", \"a\", \"dict\", \"but valid json\"]\"; line: 1, column: 2]")]
    [InlineData("""{"EventBusArn": [{"wildcard": 123}]}""", "wildcard match pattern must be a string\n at [Source: (String)\"{\"EventBusArn\": [{\"wildcard\": 123}]}\"; line: 1, column: 34]")]
    [InlineData("""{"EventBusArn": [{"wildcard": ["arn:*"]}]}""", "wildcard match pattern must be a string\n at [Source: (String)\"{\"EventBusArn\": [{\"wildcard\": [\"arn:*\"]}]}\"; line: 1, column: 32]")]
    [InlineData("""{"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:**:event-bus/*"}]}""", "Consecutive wildcard characters at pos 26\n at [Source: (String)\"{\"EventBusArn\": [{\"wildcard\": \"arn:aws:events:us-east-1:**:event-bus/*\"}]}\"; line: 1, column: 72]")]
    [InlineData("""{"detail": {"state": [{"anything-but": {"wildcard": [123, "*/dir/*"]}}]}}""", "wildcard match pattern must be a string\n at [Source: (String)\"{\"detail\": {\"state\": [{\"anything-but\": {\"wildcard\": [123, \"*/dir/*\"]}}]}}\"; line: 1, column: 57]\n at [Source: (String)\"{\"detail\": {\"state\": [{\"anything-but\": {\"wildcard\": [123, \"*/dir/*\"]}}]}}\"; line: 1, column: 57]")]
    [InlineData("""{"detail": {"FilePath": [{"anything-but": {"wildcard": 123}}]}}""", "wildcard match pattern must be a string\n at [Source: (String)\"{\"detail\": {\"FilePath\": [{\"anything-but\": {\"wildcard\": 123}}]}}\"; line: 1, column: 59]")]
    [InlineData("""{"detail": {"FileName": [{"anything-but": {"suffix": [123, ".txt"]}}]}}""", "prefix/suffix match pattern must be a string\n at [Source: (String)\"{\"detail\": {\"FileName\": [{\"anything-but\": {\"suffix\": [123, \".txt\"]}}]}}\"; line: 1, column: 58]\n at [Source: (String)\"{\"detail\": {\"FileName\": [{\"anything-but\": {\"suffix\": [123, \".txt\"]}}]}}\"; line: 1, column: 58]")]
    [InlineData("""{"detail": {"FileName": [{"anything-but": {"suffix": 123}}]}}""", "prefix/suffix match pattern must be a string\n at [Source: (String)\"{\"detail\": {\"FileName\": [{\"anything-but\": {\"suffix\": 123}}]}}\"; line: 1, column: 57]")]
    [InlineData("""{"detail": {"state": [{"anything-but": {"prefix": [123, "test"]}}]}}""", "prefix/suffix match pattern must be a string\n at [Source: (String)\"{\"detail\": {\"state\": [{\"anything-but\": {\"prefix\": [123, \"test\"]}}]}}\"; line: 1, column: 55]\n at [Source: (String)\"{\"detail\": {\"state\": [{\"anything-but\": {\"prefix\": [123, \"test\"]}}]}}\"; line: 1, column: 55]")]
    [InlineData("""{"detail": {"state": [{"anything-but": {"prefix": 123}}]}}""", "prefix/suffix match pattern must be a string\n at [Source: (String)\"{\"detail\": {\"state\": [{\"anything-but\": {\"prefix\": 123}}]}}\"; line: 1, column: 54]")]
    [InlineData("""{"time": [{"prefix": ["2022-07-13"]}]}""", "prefix match pattern must be a string\n at [Source: (String)\"{\"time\": [{\"prefix\": [\"2022-07-13\"]}]}\"; line: 1, column: 23]")]
    [InlineData("""{"time": [{"prefix": 123}]}""", "prefix match pattern must be a string\n at [Source: (String)\"{\"time\": [{\"prefix\": 123}]}\"; line: 1, column: 25]")]
    [InlineData("""{"FileName": [{"suffix": 123}]}""", "suffix match pattern must be a string\n at [Source: (String)\"{\"FileName\": [{\"suffix\": 123}]}\"; line: 1, column: 29]")]
    [InlineData("""{"FileName": [{"suffix": [".png"]}]}""", "suffix match pattern must be a string\n at [Source: (String)\"{\"FileName\": [{\"suffix\": [\".png\"]}]}\"; line: 1, column: 27]")]
    [InlineData("""{"detail": {"FileName": [{"anything-but": {"prefix": {"equals-ignore-case": "file"}}}]}}""", "Value of anything-but must be an array or single string/number value.\n at [Source: (String)\"{\"detail\": {\"FileName\": [{\"anything-but\": {\"prefix\": {\"equals-ignore-case\": \"file\"}}}]}}\"; line: 1, column: 55]")]
    [InlineData("""{"detail": {"sourceIPAddress": [{"cidr": ["bad-type"]}]}}""", "prefix match pattern must be a string\n at [Source: (String)\"{\"detail\": {\"sourceIPAddress\": [{\"cidr\": [\"bad-type\"]}]}}\"; line: 1, column: 43]")]
    [InlineData("""{"ip": [{"cidr": "bad-value"}]}""", "Malformed CIDR, one '/' required")]
    [InlineData("""{"ip": [{"cidr": "10.0.0.0/xx"}]}""", "Malformed CIDR, mask bits must be an integer")]
    [InlineData("""{"ip": [{"cidr": "xx.11.xx/24"}]}""", "Nonstandard IP address: xx.11.xx")]
    [InlineData("""{"ip": [{"cidr": "xxxx:db8:1234:1a00::/64"}]}""", "Nonstandard IP address: xxxx:db8:1234:1a00::")]
    public void RefusalsRecordedFromAws(string pattern, string reason)
        => Assert.Equal("Event pattern is not valid. Reason: " + reason, Refusal(pattern));

    // AWS's compiler (event-ruler's JsonRuleCompiler) for the rest: the reason, and where it is located.
    [Theory]
    [InlineData("{}", "Empty objects are not allowed", 3)]
    [InlineData("""{"a": {}}""", "Empty objects are not allowed", 9)]
    [InlineData("""{"a": [["x"]]}""", "Match value must be String, number, true, false, or null", 9)]
    [InlineData("""{"a": [{}]}""", "Match expression name not found", 10)]
    [InlineData("""{"a": [{"bogus": 1}]}""", "Unrecognized match type bogus", 19)]
    [InlineData("""{"a": [{"prefix": "x", "suffix": "y"}]}""", "Only one key allowed in match expression", 35)]
    [InlineData("""{"a": [{"prefix": {"bogus": "x"}}]}""", "Unsupported prefix pattern: bogus", 30)]
    [InlineData("""{"a": [{"exists": "yes"}]}""", "exists match pattern must be either true or false.", 20)]
    [InlineData("""{"a": [{"numeric": 5}]}""", "Value of numeric must be an array.", 21)]
    [InlineData("""{"a": [{"numeric": [5]}]}""", "Invalid member in numeric match: 5", 22)]
    [InlineData("""{"a": [{"numeric": ["!", 5]}]}""", "Unrecognized numeric range operator: !", 27)]
    [InlineData("""{"a": [{"numeric": ["=", "5"]}]}""", "Value of equals must be numeric", 27)]
    [InlineData("""{"a": [{"numeric": ["=", 5, 6]}]}""", "Too many elements in numeric expression", 30)]
    [InlineData("""{"a": [{"numeric": ["<", 5, ">", 1]}]}""", "Too many elements in numeric expression", 30)]
    [InlineData("""{"a": [{"numeric": [">", 5, "<", 1]}]}""", "Bottom must be less than top", 36)]
    [InlineData("""{"a": [{"numeric": [">", 5, "<", 5]}]}""", "Bottom must be less than top", 36)]
    [InlineData("""{"a": [{"numeric": [">", 1, "<", 5, 6]}]}""", "Too many terms in numeric range expression", 38)]
    [InlineData("""{"a": [{"numeric": [">", 1, 5]}]}""", "Bad value in numeric range: 5", 30)]
    [InlineData("""{"a": [{"numeric": ["<", -5e9]}]}""", "Bottom must be less than top", 31)]
    [InlineData("""{"a": [{"numeric": ["=", 5000000001]}]}""", "Value must be between -5.0E9 and 5.0E9, inclusive", 37)]
    [InlineData("""{"a": [{"numeric": [">", -5.1e9]}]}""", "Value must be between -5.0E9 and 5.0E9, inclusive", 33)]
    [InlineData("""{"a": [{"numeric": ["=", 1.0000001]}]}""", "Only values upto 6 decimals are supported1.0000001 1.0000001 0x1.0p0", 36)]
    [InlineData("""{"a": [{"numeric": ["<", 1e-7]}]}""", "Only values upto 6 decimals are supported1E-7 1e-7 0x0.0p0", 31)]
    [InlineData("""{"a": [{"anything-but": ["x", 1]}]}""", "Inside anything but list, either all values are number or string, mixed type is not supported", 33)]
    [InlineData("""{"a": [{"anything-but": []}]}""", "Inside anything but list, either all values are number or string, mixed type is not supported", 27)]
    [InlineData("""{"a": [{"anything-but": [6e9]}]}""", "Value must be between -5.0E9 and 5.0E9, inclusive", 29)]
    [InlineData("""{"a": [{"anything-but": null}]}""", "Value of anything-but must be an array or single string/number value.", 29)]
    [InlineData("""{"a": [{"anything-but": {}}]}""", "Anything-But expression name not found", 27)]
    [InlineData("""{"a": [{"anything-but": {"numeric": [1]}}]}""", "Unsupported anything-but pattern: numeric", 38)]
    [InlineData("""{"a": [{"anything-but": {"prefix": ""}}]}""", "Null prefix/suffix not allowed", 38)]
    [InlineData("""{"a": [{"anything-but": "x", "b": 1}]}""", "Too many elements in numeric expression", 36)]
    [InlineData("""{"a": [{"wildcard": "a\\b"}]}""", "Invalid escape character at pos 2", 27)]
    [InlineData("""{"a": [{"anything-but": {"wildcard": "**"}}]}""", "Consecutive wildcard characters at pos 1", 42)]
    [InlineData("""{"$or": {"a": ["x"]}}""", "It must be an Array followed with $or.", 10)]
    [InlineData("""{"$or": [{"a": ["x"]}]}""", "There must have at least 2 Objects in $or relationship.", 23)]
    [InlineData("""{"$or": [{"a": ["x"]}, "b"]}""", "Only JSON object is allowed in array of $or relationship.", 25)]
    [InlineData("""{"$or": [{"a": ["x"]}, {"numeric": [1]}]}""", "numeric is Ruler reserved fieldName which cannot be used inside $or.", 37)]
    [InlineData("""{"$or": [{"a": ["x"]}, {"d": {"prefix": ["x"]}}]}""", "prefix is Ruler reserved fieldName which cannot be used inside $or.", 42)]
    [InlineData("""{"a": ["x",]}""", "Unexpected character (']' (code 93)): expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')", 12)]
    [InlineData("""{"a": ["x" "y"]}""", "Unexpected character ('\"' (code 34)): was expecting comma to separate Array entries", 12)]
    [InlineData("""{"a" ["x"]}""", "Unexpected character ('[' (code 91)): was expecting a colon to separate field name and value", 6)]
    [InlineData("""{"a": [01]}""", "Invalid numeric value: Leading zeroes not allowed", 9)]
    [InlineData("""{"a": [-x]}""", "Unexpected character ('x' (code 120)) in numeric value: expected digit (0-9) to follow minus sign, for valid numeric value", 10)]
    [InlineData("""{"a": [tru]}""", "Unrecognized token 'tru': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')", 11)]
    [InlineData("""{"a": ["x\qy"]}""", "Unrecognized character escape 'q' (code 113)", 12)]
    [InlineData("""{"a": ["x"]]""", "Unexpected close marker ']': expected '}' (for Object starting at [Source: (String)\"{\"a\": [\"x\"]]\"; line: 1, column: 1])", 13)]
    public void RefusalsFollowAwsCompiler(string pattern, string reason, int column)
    {
        var location = $"\n at [Source: (String)\"{pattern}\"; line: 1, column: {column}]";
        Assert.Equal("Event pattern is not valid. Reason: " + reason + location, Refusal(pattern));
    }

    [Fact]
    public void RefusalAtTheEndNamesTheOpenObject()
        => Assert.Equal("Event pattern is not valid. Reason: Unexpected end-of-input: expected close marker for Object (start marker at [Source: (String)\"{\"a\": [\"x\"]\"; line: 1, column: 1])\n at [Source: (String)\"{\"a\": [\"x\"]\"; line: 1, column: 12]",
            Refusal("""{"a": ["x"]"""));

    [Fact]
    public void PositionsCountLinesAndTruncateLongPatterns()
    {
        var multiline = "{\n  \"a\": 1\n}";
        Assert.EndsWith("; line: 2, column: 9]", Refusal(multiline));
        var longPattern = "{\"" + new string('k', 600) + "\": 1}";
        var message = Refusal(longPattern);
        Assert.Contains($"\"[truncated {longPattern.Length - 500} chars]; line: 1, column: 607]", message);
        Assert.Contains("(String)\"" + longPattern[..500] + "\"", message);
    }

    [Fact]
    public void AnythingButNumberOutOfRangeHasNoPosition()
        => Assert.Equal("Event pattern is not valid. Reason: Value must be between -5.0E9 and 5.0E9, inclusive", Refusal("""{"a": [{"anything-but": 6e9}]}"""));

    [Fact]
    public void WhatFollowsThePatternIsNotRead()
        => Assert.True(Matches("""{"a": ["x"]} trailing {{ garbage""", """{"a": "x"}"""));

    [Fact]
    public void ExactNumbersBeyondNumericRangeStillMatchTheirText()
    {
        // AWS keeps an exact match on the text where the number cannot be compared (an account number).
        Assert.True(Matches("""{"a": [1.00000001]}""", """{"a": 1.00000001}"""));
        Assert.False(Matches("""{"a": [1.00000001]}""", """{"a": 1.000000010}"""));
    }

    [Fact]
    public void NestingIsBoundedAsAwsParserBoundsIt()
    {
        // 999 objects and a leaf array: 1000 levels, Jackson's limit, accepted.
        const int Depth = 1000;
        var deepest = string.Concat(Enumerable.Repeat("{\"a\":", Depth - 1)) + "[1]" + new string('}', Depth - 1);
        Assert.False(Matches(deepest, "{}"));
        var tooDeep = string.Concat(Enumerable.Repeat("{\"a\":", 100_000)) + "[1]" + new string('}', 100_000);
        Assert.Equal("Event pattern is not valid. Reason: Document nesting depth (1001) exceeds the maximum allowed (1000, from `StreamReadConstraints.getMaxNestingDepth()`)",
            Refusal(tooDeep));
        Assert.StartsWith("Event pattern is not valid. Reason: Filter is not an object", Refusal(new string('[', 100_000)));
    }

    /// <summary>Property: whatever the text, Parse answers a pattern or InvalidEventPatternException, and a
    /// pattern answers Matches for any event without throwing.</summary>
    [Fact]
    public void ParseNeverThrowsAnythingElse()
    {
        var random = new Random(20240515);
        string[] fragments =
        [
            "{", "}", "[", "]", ":", ",", "\"a\"", "\"$or\"", "\"prefix\"", "\"suffix\"", "\"numeric\"", "\"anything-but\"", "\"exists\"",
            "\"cidr\"", "\"wildcard\"", "\"equals-ignore-case\"", "\"exactly\"", "\"=\"", "\"<\"", "\">=\"", "\"10.0.0.0/8\"", "\"::/0\"",
            "\"a*b\"", "\"**\"", "\"\\\\\"", "1", "-0.5", "5e9", "1e400", "0.0000001", "true", "false", "null", " ", "\n", "\"", "\\",
            "x", "'", "/", "\"\\u12\"", "01", "-", "1.", "1e",
        ];
        using var events = JsonDocument.Parse("""[{}, {"a": "x"}, {"a": [1, "b", null, {"a": 2}]}, {"a": {"a": ["10.1.2.3"]}}, {"a": 5e9}]""");
        var parsed = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var text = new StringBuilder(i % 3 == 0 ? "{\"a\": [" : "");
            var count = random.Next(1, 14);
            for (var j = 0; j < count; j++) text.Append(fragments[random.Next(fragments.Length)]);
            if (i % 3 == 0) text.Append("]}");
            EventPattern pattern;
            try
            {
                pattern = EventPattern.Parse(text.ToString());
            }
            catch (InvalidEventPatternException e)
            {
                Assert.StartsWith("Event pattern is not valid. Reason: ", e.Message);
                continue;
            }
            parsed++;
            foreach (var @event in events.RootElement.EnumerateArray()) pattern.Matches(@event);
        }
        // The generator must reach valid patterns too, or it tests only the refusals.
        Assert.InRange(parsed, 50, 19_000);
    }

    [Fact]
    public void RandomBytesAreRefusedOrParsed()
    {
        var random = new Random(7);
        for (var i = 0; i < 5_000; i++)
        {
            var chars = new char[random.Next(0, 40)];
            for (var j = 0; j < chars.Length; j++) chars[j] = (char)random.Next(0, 0x3000);
            try
            {
                EventPattern.Parse(new string(chars));
            }
            catch (InvalidEventPatternException)
            {
            }
        }
    }
}
