using System.Text.Json.Nodes;

namespace Strata.States.Tests;

/// <summary>Definitions run end to end against the in-memory host: output (or error and cause) and the
/// sequence of history event types, as the States Language specification and the developer guide give them.</summary>
public class ExecutionTableTests
{
    public sealed record Case(string Name, string Definition, string? Input, string? Output, string? Error = null, string? Cause = null, string? Events = null)
    {
        public override string ToString() => Name;
    }

    private static string Pass(string fields) => "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\"," + fields + ",\"End\":true}}}";

    private static string Params(string parameters) => Pass("\"Parameters\":" + parameters);

    public static TheoryData<Case> Cases() =>
    [
        // Pass and the JSONPath pipeline
        new("pass copies input", Pass("\"Comment\":\"x\""), """{"a":1}""", """{"a":1}""",
            Events: "ExecutionStarted PassStateEntered PassStateExited ExecutionSucceeded"),
        new("pass result replaces", Pass("\"Result\":{\"r\":true}"), """{"a":1}""", """{"r":true}"""),
        new("result path nests", Pass("\"Result\":7,\"ResultPath\":\"$.x.y\""), """{"a":1}""", """{"a":1,"x":{"y":7}}"""),
        new("result path null keeps input", Pass("\"Result\":7,\"ResultPath\":null"), """{"a":1}""", """{"a":1}"""),
        new("input path selects", Pass("\"InputPath\":\"$.a\""), """{"a":{"b":2}}""", """{"b":2}"""),
        new("input path null is empty object", Pass("\"InputPath\":null"), """{"a":1}""", """{}"""),
        new("output path selects", Pass("\"OutputPath\":\"$.a.b\""), """{"a":{"b":[1,2]}}""", """[1,2]"""),
        new("missing input path fails with States.Runtime", Pass("\"InputPath\":\"$.foo\""), """{"a":1}""", null, "States.Runtime",
            "An error occurred while executing the state 'A' (entered at the event id #2). Invalid path '$.foo' : No results for path: $['foo']",
            "ExecutionStarted PassStateEntered ExecutionFailed"),
        new("result path through a non-object fails", Pass("\"Result\":1,\"ResultPath\":\"$.a.b\""), """{"a":"s"}""", null, "States.ResultPathMatchFailure"),
        new("parameters paths and context", Params("""{"v.$":"$.a","lit":"x","nested":{"n.$":"$.b[1]"},"name.$":"$$.State.Name","exec.$":"$$.Execution.Name","sm.$":"$$.StateMachine.Name","retry.$":"$$.State.RetryCount"}"""),
            """{"a":1,"b":[5,6]}""", """{"v":1,"lit":"x","nested":{"n":6},"name":"A","exec":"run-1","sm":"Machine","retry":0}"""),
        new("parameters missing path", Params("""{"v.$":"$.nope"}"""), """{"a":1}""", null, "States.Runtime",
            "An error occurred while executing the state 'A' (entered at the event id #2). The JSONPath '$.nope' specified for the field 'v.$' could not be found in the input '{\"a\":1}'"),
        new("jsonpath wildcard and filter", Params("""{"all.$":"$.items[*].n","big.$":"$.items[?(@.n > 1)].n","deep.$":"$..n","slice.$":"$.items[0:2].n","quoted.$":"$['items'][2]['n']"}"""),
            """{"items":[{"n":1},{"n":2},{"n":3}]}""", """{"all":[1,2,3],"big":[2,3],"deep":[1,2,3],"slice":[1,2],"quoted":3}"""),
        new("execution input in context", Params("""{"i.$":"$$.Execution.Input.a"}"""), """{"a":"z"}""", """{"i":"z"}"""),

        // Intrinsic functions
        new("States.Format", Params("""{"s.$":"States.Format('Hello {} you are {} \\{x\\}', $.name, $.age)"}"""), """{"name":"Ann","age":3}""", """{"s":"Hello Ann you are 3 {x}"}"""),
        new("States.StringToJson and JsonToString", Params("""{"j.$":"States.StringToJson($.s)","s.$":"States.JsonToString($.o)"}"""), """{"s":"{\"a\":[1]}","o":{"b":true}}""", """{"j":{"a":[1]},"s":"{\"b\":true}"}"""),
        new("States.Array", Params("""{"a.$":"States.Array('x', 1, $.b, null)"}"""), """{"b":{"c":1}}""", """{"a":["x",1,{"c":1},null]}"""),
        new("States.ArrayPartition", Params("""{"a.$":"States.ArrayPartition($.v, 2)"}"""), """{"v":[1,2,3,4,5]}""", """{"a":[[1,2],[3,4],[5]]}"""),
        new("States.ArrayContains", Params("""{"a.$":"States.ArrayContains($.v, 3)","b.$":"States.ArrayContains($.v, 9)"}"""), """{"v":[1,2,3]}""", """{"a":true,"b":false}"""),
        new("States.ArrayRange", Params("""{"a.$":"States.ArrayRange(1, 9, 2)"}"""), "{}", """{"a":[1,3,5,7,9]}"""),
        new("States.ArrayGetItem", Params("""{"a.$":"States.ArrayGetItem($.v, 1)"}"""), """{"v":["x","y"]}""", """{"a":"y"}"""),
        new("States.ArrayLength", Params("""{"a.$":"States.ArrayLength($.v)"}"""), """{"v":[1,2,3]}""", """{"a":3}"""),
        new("States.ArrayUnique", Params("""{"a.$":"States.ArrayUnique($.v)"}"""), """{"v":[1,2,2,3,1]}""", """{"a":[1,2,3]}"""),
        new("States.Base64", Params("""{"e.$":"States.Base64Encode('Data to encode')","d.$":"States.Base64Decode('RGF0YSB0byBlbmNvZGU=')"}"""), "{}",
            """{"e":"RGF0YSB0byBlbmNvZGU=","d":"Data to encode"}"""),
        new("States.Hash", Params("""{"md5.$":"States.Hash('input data', 'MD5')","sha1.$":"States.Hash('input data', 'SHA-1')"}"""), "{}",
            """{"md5":"812f45842bc6d66ee14572ce20db8e86","sha1":"aaff4a450a104cd177d28d18d74485e8cae074b7"}"""),
        new("States.JsonMerge", Params("""{"m.$":"States.JsonMerge($.a, $.b, false)"}"""), """{"a":{"x":1,"y":{"z":1}},"b":{"y":{"w":2}}}""", """{"m":{"x":1,"y":{"w":2}}}"""),
        new("States.MathAdd", Params("""{"s.$":"States.MathAdd($.v, -3)"}"""), """{"v":10}""", """{"s":7}"""),
        new("States.StringSplit", Params("""{"s.$":"States.StringSplit($.v, '.+,=')"}"""), """{"v":"This.is+a,test=string"}""", """{"s":["This","is","a","test","string"]}"""),
        new("States.MathRandom seeded", Params("""{"r.$":"States.MathRandom(5, 6, 1)"}"""), "{}", """{"r":5}"""),
        new("intrinsic failure", Params("""{"a.$":"States.ArrayGetItem($.v, 5)"}"""), """{"v":[1]}""", null, "States.IntrinsicFailure"),

        // Choice
        .. ChoiceCases(),

        // Succeed and Fail
        new("succeed", """{"StartAt":"S","States":{"S":{"Type":"Succeed","OutputPath":"$.a"}}}""", """{"a":1}""", "1",
            Events: "ExecutionStarted SucceedStateEntered SucceedStateExited ExecutionSucceeded"),
        new("fail with error and cause", """{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"MyError","Cause":"because"}}}""", "{}", null, "MyError", "because",
            "ExecutionStarted FailStateEntered ExecutionFailed"),
        new("fail with paths", """{"StartAt":"F","States":{"F":{"Type":"Fail","ErrorPath":"$.e","CausePath":"States.Format('c={}', $.c)"}}}""", """{"e":"E1","c":2}""", null, "E1", "c=2"),

        // Wait
        new("wait seconds", """{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":30,"Next":"P"},"P":{"Type":"Pass","End":true}}}""", """{"a":1}""", """{"a":1}""",
            Events: "ExecutionStarted WaitStateEntered WaitStateExited PassStateEntered PassStateExited ExecutionSucceeded"),
        new("wait seconds path", """{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.s","End":true}}}""", """{"s":5}""", """{"s":5}"""),
        new("wait bad seconds path", """{"StartAt":"W","States":{"W":{"Type":"Wait","SecondsPath":"$.s","End":true}}}""", """{"s":"x"}""", null, "States.Runtime"),
        new("wait timestamp path", """{"StartAt":"W","States":{"W":{"Type":"Wait","TimestampPath":"$.t","End":true}}}""", """{"t":"2026-12-01T10:05:00Z"}""", """{"t":"2026-12-01T10:05:00Z"}"""),

        // Task
        new("task echoes parameters", """{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::sagemaker:createTrainingJob.sync","Parameters":{"TrainingJobName.$":"$.n"},"ResultSelector":{"name.$":"$.TrainingJobName"},"ResultPath":"$.job","End":true}}}""",
            """{"n":"j1"}""", """{"n":"j1","job":{"name":"j1"}}""",
            Events: "ExecutionStarted TaskStateEntered TaskScheduled TaskStarted TaskSucceeded TaskStateExited ExecutionSucceeded"),

        // Parallel and Map
        new("parallel", """{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"End":true}}},{"StartAt":"B","States":{"B":{"Type":"Pass","InputPath":"$.x","End":true}}}]}}}""",
            """{"x":2}""", "[1,2]"),
        new("parallel branch fails", """{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom","Cause":"c"}}}]}}}""",
            "{}", null, "Boom", "c", "ExecutionStarted ParallelStateEntered ParallelStateStarted FailStateEntered ParallelStateFailed ExecutionFailed"),
        new("parallel caught", """{"StartAt":"P","States":{"P":{"Type":"Parallel","Next":"D","Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.err","Next":"D"}],"Branches":[{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom","Cause":"c"}}}]},"D":{"Type":"Pass","End":true}}}""",
            """{"a":1}""", """{"a":1,"err":{"Error":"Boom","Cause":"c"}}"""),
        new("map with item selector", """{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","MaxConcurrency":1,"ItemSelector":{"i.$":"$$.Map.Item.Index","v.$":"$$.Map.Item.Value","k.$":"$.k"},"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}""",
            """{"k":"K","items":["a","b"]}""", """[{"i":0,"v":"a","k":"K"},{"i":1,"v":"b","k":"K"}]""",
            Events: "ExecutionStarted MapStateEntered MapStateStarted MapIterationStarted PassStateEntered PassStateExited MapIterationSucceeded MapIterationStarted PassStateEntered PassStateExited MapIterationSucceeded MapStateSucceeded MapStateExited ExecutionSucceeded"),
        new("map iterator (legacy)", """{"StartAt":"M","States":{"M":{"Type":"Map","Iterator":{"StartAt":"P","States":{"P":{"Type":"Pass","Result":0,"End":true}}},"End":true}}}""",
            "[1,2,3]", "[0,0,0]"),
        new("map over a non-array", """{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}""",
            """{"a":1}""", null, "States.Runtime"),

        // Variables
        new("assign and read variables", """{"StartAt":"A","States":{"A":{"Type":"Pass","Result":{"x":3},"Assign":{"v.$":"$.x","lit":"L"},"Next":"B"},"B":{"Type":"Pass","Parameters":{"v.$":"$v","l.$":"$lit"},"End":true}}}""",
            "{}", """{"v":3,"l":"L"}"""),
    ];

    private static IEnumerable<Case> ChoiceCases()
    {
        static string Choice(string rule) =>
            """{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{""" + rule + ""","Next":"Yes"}],"Default":"No"},"Yes":{"Type":"Pass","Result":"yes","End":true},"No":{"Type":"Pass","Result":"no","End":true}}}""";
        var input = """{"s":"abc","n":5,"b":true,"t":"2026-01-02T03:04:05Z","t2":"2026-01-02T03:04:06Z","z":null,"s2":"abd","n2":5}""";
        (string Rule, bool Expected)[] rules =
        [
            ("\"Variable\":\"$.s\",\"StringEquals\":\"abc\"", true),
            ("\"Variable\":\"$.s\",\"StringEqualsPath\":\"$.s2\"", false),
            ("\"Variable\":\"$.s\",\"StringLessThan\":\"abd\"", true),
            ("\"Variable\":\"$.s\",\"StringLessThanPath\":\"$.s2\"", true),
            ("\"Variable\":\"$.s\",\"StringGreaterThan\":\"abb\"", true),
            ("\"Variable\":\"$.s\",\"StringGreaterThanPath\":\"$.s2\"", false),
            ("\"Variable\":\"$.s\",\"StringLessThanEquals\":\"abc\"", true),
            ("\"Variable\":\"$.s\",\"StringLessThanEqualsPath\":\"$.s2\"", true),
            ("\"Variable\":\"$.s\",\"StringGreaterThanEquals\":\"abc\"", true),
            ("\"Variable\":\"$.s\",\"StringGreaterThanEqualsPath\":\"$.s2\"", false),
            ("\"Variable\":\"$.s\",\"StringMatches\":\"a*\"", true),
            ("\"Variable\":\"$.s\",\"StringMatches\":\"*d\"", false),
            ("\"Variable\":\"$.n\",\"NumericEquals\":5", true),
            ("\"Variable\":\"$.n\",\"NumericEqualsPath\":\"$.n2\"", true),
            ("\"Variable\":\"$.n\",\"NumericLessThan\":5", false),
            ("\"Variable\":\"$.n\",\"NumericLessThanPath\":\"$.n2\"", false),
            ("\"Variable\":\"$.n\",\"NumericGreaterThan\":4.5", true),
            ("\"Variable\":\"$.n\",\"NumericGreaterThanPath\":\"$.n2\"", false),
            ("\"Variable\":\"$.n\",\"NumericLessThanEquals\":5", true),
            ("\"Variable\":\"$.n\",\"NumericLessThanEqualsPath\":\"$.n2\"", true),
            ("\"Variable\":\"$.n\",\"NumericGreaterThanEquals\":6", false),
            ("\"Variable\":\"$.n\",\"NumericGreaterThanEqualsPath\":\"$.n2\"", true),
            ("\"Variable\":\"$.s\",\"NumericEquals\":5", false),
            ("\"Variable\":\"$.b\",\"BooleanEquals\":true", true),
            ("\"Variable\":\"$.b\",\"BooleanEqualsPath\":\"$.b\"", true),
            ("\"Variable\":\"$.t\",\"TimestampEquals\":\"2026-01-02T03:04:05Z\"", true),
            ("\"Variable\":\"$.t\",\"TimestampEqualsPath\":\"$.t2\"", false),
            ("\"Variable\":\"$.t\",\"TimestampLessThan\":\"2026-01-02T03:04:06Z\"", true),
            ("\"Variable\":\"$.t\",\"TimestampLessThanPath\":\"$.t2\"", true),
            ("\"Variable\":\"$.t\",\"TimestampGreaterThan\":\"2026-01-02T03:04:06Z\"", false),
            ("\"Variable\":\"$.t\",\"TimestampGreaterThanPath\":\"$.t2\"", false),
            ("\"Variable\":\"$.t\",\"TimestampLessThanEquals\":\"2026-01-02T03:04:05Z\"", true),
            ("\"Variable\":\"$.t\",\"TimestampLessThanEqualsPath\":\"$.t2\"", true),
            ("\"Variable\":\"$.t\",\"TimestampGreaterThanEquals\":\"2026-01-02T03:04:05+00:00\"", true),
            ("\"Variable\":\"$.t\",\"TimestampGreaterThanEqualsPath\":\"$.t2\"", false),
            ("\"Variable\":\"$.z\",\"IsNull\":true", true),
            ("\"Variable\":\"$.s\",\"IsNull\":true", false),
            ("\"Variable\":\"$.missing\",\"IsPresent\":false", true),
            ("\"Variable\":\"$.n\",\"IsPresent\":true", true),
            ("\"Variable\":\"$.n\",\"IsNumeric\":true", true),
            ("\"Variable\":\"$.s\",\"IsString\":true", true),
            ("\"Variable\":\"$.b\",\"IsBoolean\":true", true),
            ("\"Variable\":\"$.t\",\"IsTimestamp\":true", true),
            ("\"Variable\":\"$.s\",\"IsTimestamp\":true", false),
            ("\"And\":[{\"Variable\":\"$.n\",\"NumericEquals\":5},{\"Variable\":\"$.b\",\"BooleanEquals\":true}]", true),
            ("\"Or\":[{\"Variable\":\"$.n\",\"NumericEquals\":1},{\"Variable\":\"$.b\",\"BooleanEquals\":false}]", false),
            ("\"Not\":{\"Variable\":\"$.n\",\"NumericEquals\":1}", true),
        ];
        foreach (var (rule, expected) in rules)
            yield return new Case("choice " + rule, Choice(rule), input, expected ? "\"yes\"" : "\"no\"");
        yield return new Case("choice missing variable", Choice("\"Variable\":\"$.missing\",\"StringEquals\":\"x\""), input, null, "States.Runtime",
            "An error occurred while executing the state 'C' (entered at the event id #2). Invalid path '$.missing' : No results for path: $['missing']");
        yield return new Case("choice no match", """{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericEquals":1,"Next":"P"}]},"P":{"Type":"Pass","End":true}}}""",
            input, null, "States.NoChoiceMatched", Events: "ExecutionStarted ChoiceStateEntered ExecutionFailed");
        yield return new Case("choice events", Choice("\"Variable\":\"$.n\",\"NumericEquals\":5"), input, "\"yes\"",
            Events: "ExecutionStarted ChoiceStateEntered ChoiceStateExited PassStateEntered PassStateExited ExecutionSucceeded");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Runs(Case c)
    {
        var r = await Harness.RunAsync(c.Definition, c.Input);
        if (c.Error is null)
        {
            Assert.True(r.Outcome.Status == "SUCCEEDED", $"{r.Outcome.Error}: {r.Outcome.Cause}");
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(c.Output!), r.Outcome.Output), r.Outcome.Output?.ToJsonString());
        }
        else
        {
            Assert.Equal("FAILED", r.Outcome.Status);
            Assert.Equal(c.Error, r.Outcome.Error);
            if (c.Cause is not null) Assert.Equal(c.Cause, r.Outcome.Cause);
        }
        if (c.Events is not null) Assert.Equal(c.Events, string.Join(' ', r.Events.Select(e => e.Type)));
        // Every event but the first follows the one that led to it.
        Assert.All(r.Events.Skip(1), e => Assert.InRange(e.PreviousEventId, 1, e.Id - 1));
    }
}

/// <summary>Distributed Map: items from the input or an ItemReader (S3), ItemBatcher, tolerated failures, and a
/// ResultWriter formatting the results and exporting them to S3.</summary>
public class DistributedMapTests
{
    private static string Map(string fields, string processor = """{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}""") =>
        "{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\"," + fields + ",\"ItemProcessor\":" + processor.Replace("{\"StartAt\"", "{\"ProcessorConfig\":{\"Mode\":\"DISTRIBUTED\",\"ExecutionType\":\"STANDARD\"},\"StartAt\"", StringComparison.Ordinal) + ",\"End\":true}}}";

    [Fact]
    public async Task Item_batcher_groups_items_with_the_batch_input()
    {
        var r = await Harness.RunAsync(Map("\"ItemBatcher\":{\"MaxItemsPerBatch\":2,\"BatchInput\":{\"k.$\":\"$.k\"}},\"ItemsPath\":\"$.xs\""), """{"k":"K","xs":[1,2,3]}""");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[{"k":"K","Items":[1,2]},{"k":"K","Items":[3]}]"""), r.Outcome.Output), r.Outcome.Output?.ToJsonString());
    }

    [Fact]
    public async Task Failures_past_the_tolerated_count_fail_the_map()
    {
        const string Failing = """{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$","NumericGreaterThan":1,"Next":"F"}],"Default":"OK"},"F":{"Type":"Fail","Error":"Bad"},"OK":{"Type":"Succeed"}}}""";
        var within = await Harness.RunAsync(Map("\"ToleratedFailureCount\":2", Failing), "[1,2,3]");
        Assert.Equal("SUCCEEDED", within.Outcome.Status);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[1,{"Error":"Bad","Cause":""},{"Error":"Bad","Cause":""}]"""), within.Outcome.Output), within.Outcome.Output?.ToJsonString());
        var past = await Harness.RunAsync(Map("\"ToleratedFailureCount\":1,\"MaxConcurrency\":1", Failing), "[1,2,3]");
        Assert.Equal("States.ExceedToleratedFailureThreshold", past.Outcome.Error);
    }

    /// <summary>A host that serves S3 from a dictionary: getObject, listObjectsV2 and putObject, as the server's does.</summary>
    private static Func<TaskRequest, int, Task<JsonNode?>> S3(Dictionary<string, string> objects) => (r, _) =>
    {
        var p = r.Parameters!.AsObject();
        var bucket = p["Bucket"]!.GetValue<string>();
        switch (r.Resource)
        {
            case "arn:aws:states:::s3:getObject":
                var key = $"{bucket}/{p["Key"]!.GetValue<string>()}";
                return objects.TryGetValue(key, out var body) ? Task.FromResult<JsonNode?>(new JsonObject { ["Body"] = body })
                    : throw new StatesError("S3.NoSuchKeyException", "The specified key does not exist.");
            case "arn:aws:states:::s3:listObjectsV2":
                var prefix = $"{bucket}/{p["Prefix"]?.GetValue<string>()}";
                return Task.FromResult<JsonNode?>(new JsonObject
                {
                    ["Contents"] = new JsonArray([.. objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal)
                        .Select(k => (JsonNode)new JsonObject { ["Key"] = k[(bucket.Length + 1)..], ["ETag"] = "\"e\"", ["LastModified"] = "2026-12-03T10:00:00Z", ["Size"] = objects[k].Length })]),
                });
            case "arn:aws:states:::s3:putObject":
                objects[$"{bucket}/{p["Key"]!.GetValue<string>()}"] = p["Body"]!.GetValue<string>();
                return Task.FromResult<JsonNode?>(new JsonObject { ["ETag"] = "\"w\"" });
        }
        throw new InvalidOperationException(r.Resource);
    };

    private static string Reader(string resource, string parameters, string? config = null) =>
        $"\"ItemReader\":{{\"Resource\":\"arn:aws:states:::s3:{resource}\",\"Parameters\":{parameters}{(config is null ? "" : ",\"ReaderConfig\":" + config)}}}";

    [Fact]
    public async Task Item_reader_reads_csv_json_lines_and_listings()
    {
        var objects = new Dictionary<string, string>
        {
            ["b/rows.csv"] = "id,name\r\n1,\"Smith, J\"\r\n2,\"say \"\"hi\"\"\"\r\n3,x\r\n",
            ["b/items.jsonl"] = "{\"a\":1}\n\n{\"a\":2}\n",
            ["b/items.json"] = "[1,2,3]",
        };
        var csv = await Harness.RunAsync(Map(Reader("getObject", """{"Bucket":"b","Key":"rows.csv"}""", """{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW","MaxItems":2}""")), "{}", S3(objects));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[{"id":"1","name":"Smith, J"},{"id":"2","name":"say \"hi\""}]"""), csv.Outcome.Output), csv.Outcome.Output?.ToJsonString());
        var given = await Harness.RunAsync(Map(Reader("getObject", """{"Bucket":"b","Key.$":"$.key"}""", """{"InputType":"CSV","CSVHeaderLocation":"GIVEN","CSVHeaders":["x","y"]}""")),
            """{"key":"rows.csv"}""", S3(objects));
        Assert.Equal(4, given.Outcome.Output!.AsArray().Count);
        var lines = await Harness.RunAsync(Map(Reader("getObject", """{"Bucket":"b","Key":"items.jsonl"}""", """{"InputType":"JSONL"}""")), "{}", S3(objects));
        Assert.Equal("""[{"a":1},{"a":2}]""", lines.Outcome.Output!.ToJsonString());
        var json = await Harness.RunAsync(Map(Reader("getObject", """{"Bucket":"b","Key":"items.json"}""", """{"InputType":"JSON"}""") + ",\"ItemSelector\":{\"v.$\":\"$$.Map.Item.Value\"}"), "{}", S3(objects));
        Assert.Equal("""[{"v":1},{"v":2},{"v":3}]""", json.Outcome.Output!.ToJsonString());
        var listing = await Harness.RunAsync(Map(Reader("listObjectsV2", """{"Bucket":"b","Prefix":"items"}""")), "{}", S3(objects));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[{"Etag":"\"e\"","Key":"items.json","LastModified":1796292000,"Size":7,"StorageClass":"STANDARD"},{"Etag":"\"e\"","Key":"items.jsonl","LastModified":1796292000,"Size":17,"StorageClass":"STANDARD"}]"""),
            listing.Outcome.Output), listing.Outcome.Output?.ToJsonString());
        var missing = await Harness.RunAsync(Map(Reader("getObject", """{"Bucket":"b","Key":"nope"}""", """{"InputType":"JSON"}""")), "{}", S3(objects));
        Assert.Equal(("States.ItemReaderFailed", "S3.NoSuchKeyException: The specified key does not exist."), (missing.Outcome.Error, missing.Outcome.Cause));
        var ragged = await Harness.RunAsync(Map(Reader("getObject", """{"Bucket":"b","Key":"bad.csv"}""", """{"InputType":"CSV"}""")), "{}",
            S3(new() { ["b/bad.csv"] = "a,b\n1,2,3\n" }));
        Assert.Equal("States.ItemReaderFailed", ragged.Outcome.Error);
    }

    [Theory]
    [InlineData("\"ItemReader\":{\"Resource\":\"arn:aws:states:::s3:getObject\",\"ReaderConfig\":\"CSV\"}", "ReaderConfig")]
    [InlineData("\"ItemReader\":{\"Resource\":\"arn:aws:states:::s3:getObject\",\"ReaderConfig\":{\"InputType\":7}}", "InputType")]
    [InlineData("\"ItemReader\":{\"Resource\":\"arn:aws:states:::s3:deleteObject\"}", "Resource")]
    [InlineData("\"ResultWriter\":{\"WriterConfig\":[\"NONE\"]}", "WriterConfig")]
    [InlineData("\"ResultWriter\":{}", "ResultWriter")]
    [InlineData("\"Label\":42", "Label")]
    public void Bad_readers_writers_and_labels_are_invalid_definitions(string fields, string named)
    {
        var e = Assert.Throws<InvalidDefinitionException>(() => StateMachineDefinition.Parse(Map(fields)));
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public async Task Result_writer_exports_a_manifest_and_a_file_per_status()
    {
        const string Failing = """{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$","NumericGreaterThan":2,"Next":"F"}],"Default":"OK"},"F":{"Type":"Fail","Error":"Big","Cause":"over 2"},"OK":{"Type":"Pass","Parameters":{"doubled.$":"States.MathAdd($, $)"},"End":true}}}""";
        var objects = new Dictionary<string, string>();
        var r = await Harness.RunAsync(Map("\"ItemsPath\":\"$.xs\",\"ToleratedFailureCount\":1,\"Label\":\"Scores\",\"ResultWriter\":{\"Resource\":\"arn:aws:states:::s3:putObject\",\"Parameters\":{\"Bucket\":\"out\",\"Prefix\":\"runs/\"}}", Failing),
            """{"xs":[1,2,3]}""", S3(objects));
        Assert.Equal("SUCCEEDED", r.Outcome.Status);
        var output = r.Outcome.Output!.AsObject();
        var mapRun = output["MapRunArn"]!.GetValue<string>();
        Assert.StartsWith("arn:aws:states:us-east-1:123456789012:mapRun:", mapRun);
        Assert.Contains("/Scores:", mapRun);
        var manifestKey = output["ResultWriterDetails"]!["Key"]!.GetValue<string>();
        Assert.Equal("out", output["ResultWriterDetails"]!["Bucket"]!.GetValue<string>());
        var manifest = JsonNode.Parse(objects["out/" + manifestKey])!;
        Assert.Equal(mapRun, manifest["MapRunArn"]!.GetValue<string>());
        var succeeded = JsonNode.Parse(objects["out/" + manifest["ResultFiles"]!["SUCCEEDED"]![0]!["Key"]!.GetValue<string>()])!.AsArray();
        Assert.Equal(["""{"doubled":2}""", """{"doubled":4}"""], succeeded.Select(x => x!["Output"]!.GetValue<string>()));
        Assert.All(succeeded, x => Assert.Equal("SUCCEEDED", x!["Status"]!.GetValue<string>()));
        var failed = JsonNode.Parse(objects["out/" + manifest["ResultFiles"]!["FAILED"]![0]!["Key"]!.GetValue<string>()])!.AsArray();
        Assert.Equal(("FAILED", "Big", "over 2", "3"), (failed[0]!["Status"]!.GetValue<string>(), failed[0]!["Error"]!.GetValue<string>(), failed[0]!["Cause"]!.GetValue<string>(),
            failed[0]!["Input"]!.GetValue<string>()));
        Assert.StartsWith("runs/", manifestKey);

        // WriterConfig alone formats the result without writing it: FLATTEN spreads arrays.
        const string Pairs = """{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"pair.$":"States.Array($, $)"},"OutputPath":"$.pair","End":true}}}""";
        var flat = await Harness.RunAsync(Map("\"ResultWriter\":{\"WriterConfig\":{\"Transformation\":\"FLATTEN\",\"OutputType\":\"JSON\"}}", Pairs), "[1,2]", S3(objects));
        Assert.True(flat.Outcome.Status == "SUCCEEDED", $"{flat.Outcome.Error}: {flat.Outcome.Cause}");
        Assert.Equal("[1,1,2,2]", flat.Outcome.Output!.ToJsonString());
        var lines = new Dictionary<string, string>();
        await Harness.RunAsync(Map("\"ResultWriter\":{\"Resource\":\"arn:aws:states:::s3:putObject\",\"Parameters\":{\"Bucket\":\"o\",\"Prefix\":\"p\"},\"WriterConfig\":{\"Transformation\":\"COMPACT\",\"OutputType\":\"JSONL\"}}", Pairs), "[1,2]", S3(lines));
        Assert.Equal("[1,1]\n[2,2]\n", lines.Single(kv => kv.Key.EndsWith("SUCCEEDED_0.jsonl", StringComparison.Ordinal)).Value);
    }
}
