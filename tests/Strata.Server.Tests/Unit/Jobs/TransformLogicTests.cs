using System.Text;
using System.Text.Json.Nodes;
using Strata.Server.Jobs.Transform;

namespace Strata.Server.Tests.Unit;

/// <summary>The JSONPath subset, record splitting, and DataProcessing (filters and joins).</summary>
public sealed class TransformLogicTests
{
    const string Doc = """{"id": 7, "features": [1, 2, 3, 4], "meta": {"a": "x", "b": "y"}}""";

    [Theory]
    [InlineData("$", Doc)]
    [InlineData("$.id", "7")]
    [InlineData("$.features", "[1,2,3,4]")]
    [InlineData("$.features[0]", "1")]
    [InlineData("$.features[-1]", "4")]
    [InlineData("$.features[1:3]", "[2,3]")]
    [InlineData("$.features[2:]", "[3,4]")]
    [InlineData("$.features[:-1]", "[1,2,3]")]
    [InlineData("$.features[0,2]", "[1,3]")]
    [InlineData("$['id','meta']", """{"id":7,"meta":{"a":"x","b":"y"}}""")]
    [InlineData("$.meta.*", """["x","y"]""")]
    [InlineData("$.meta['b']", "\"y\"")]
    [InlineData("$.features[*]", "[1,2,3,4]")]
    public void Paths(string path, string expected)
    {
        var result = JsonPathFilter.Parse(path).Apply(JsonNode.Parse(Doc));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), result), $"{path}: {result?.ToJsonString()}");
    }

    [Fact]
    public void MissingPathsSelectNothing()
    {
        Assert.Null(JsonPathFilter.Parse("$.nope").Apply(JsonNode.Parse(Doc)));
        Assert.Null(JsonPathFilter.Parse("$.features[9]").Apply(JsonNode.Parse(Doc)));
    }

    [Theory]
    [InlineData("features")]
    [InlineData("$.features[")]
    [InlineData("$[a:b]")]
    [InlineData("$..x")]
    [InlineData("$['unclosed]")]
    public void BadFiltersAreRefused(string path) => Assert.Throws<FormatException>(() => JsonPathFilter.Parse(path));

    static async Task<List<string>> Split(byte[] input, string splitType)
    {
        var records = new List<string>();
        await foreach (var r in RecordSplitter.SplitAsync(new MemoryStream(input), splitType)) records.Add(Encoding.UTF8.GetString(r.Bytes));
        return records;
    }

    [Fact]
    public async Task LinesRecordIOAndWholeObjects()
    {
        Assert.Equal(["a,1", "b,2", "c,3"], await Split("a,1\r\nb,2\n\nc,3"u8.ToArray(), "Line"));
        Assert.Equal(["x\ny"], await Split("x\ny"u8.ToArray(), "None"));
        var framed = new MemoryStream();
        foreach (var r in new[] { "one", "three", "" }) RecordSplitter.WriteRecordIO(framed, Encoding.UTF8.GetBytes(r));
        Assert.Equal(0, framed.Length % 4);
        Assert.Equal(["one", "three", ""], await Split(framed.ToArray(), "RecordIO"));
        await Assert.ThrowsAsync<TransformException>(() => Split("not recordio"u8.ToArray(), "RecordIO"));
    }

    [Fact]
    public async Task LineRecordsKnowTheirLines()
    {
        var lines = new List<long>();
        await foreach (var r in RecordSplitter.SplitAsync(new MemoryStream("a\r\n\n  \nb\nc"u8.ToArray()), "Line")) lines.Add(r.Line);
        Assert.Equal([1L, 4, 5], lines);
    }

    [Fact]
    public void CsvFiltersAndJoins()
    {
        var p = new RecordProcessor("$[1:]", "$[0,-1]", "Input", "text/csv");
        Assert.Equal("1,2,3,4", Encoding.UTF8.GetString(p.FilterInput("id7,1,2,3,4"u8.ToArray())));
        Assert.Equal("id7,0.9", Encoding.UTF8.GetString(p.Output("id7,1,2,3,4"u8.ToArray(), "0.9\n"u8.ToArray())));
        var join = new RecordProcessor(null, null, "Input", "text/csv");
        Assert.Equal("a,b,0.1,0.9", Encoding.UTF8.GetString(join.Output("a,b"u8.ToArray(), "0.1,0.9"u8.ToArray())));
    }

    [Fact]
    public void JsonJoinsAsSageMakerDoes()
    {
        var join = new RecordProcessor("$.features", null, "Input", "application/jsonlines");
        Assert.Equal("[1,2]", Encoding.UTF8.GetString(join.FilterInput("""{"id":1,"features":[1,2]}"""u8.ToArray())));
        Assert.Equal("""{"id":1,"features":[1,2],"SageMakerOutput":[0.5]}""",
            Encoding.UTF8.GetString(join.Output("""{"id":1,"features":[1,2]}"""u8.ToArray(), "[0.5]"u8.ToArray())));
        // An input that is not an object is kept beside the output.
        Assert.Equal("""{"SageMakerInput":[1,2],"SageMakerOutput":{"label":"a"}}""",
            Encoding.UTF8.GetString(join.Output("[1,2]"u8.ToArray(), """{"label":"a"}"""u8.ToArray())));
        Assert.Throws<TransformException>(() => new RecordProcessor("$.missing", null, null, "application/json").FilterInput("""{"a":1}"""u8.ToArray()));
    }
}
