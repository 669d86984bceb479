using System.Text;
using Microsoft.ML.OnnxRuntime.Tensors;
using Strata.Worker;

namespace Strata.Server.Tests.Unit;

/// <summary>The built-in worker's payload errors locate the bad data: the line (as an editor
/// numbers it, blank lines counted), the column or place in the record, and the value, quoted
/// and cut when long; the line also travels on its own, for batch transform to map.</summary>
public sealed class PayloadErrorTests : IDisposable
{
    readonly OnnxModel _regression = new(Path.Combine(AppContext.BaseDirectory, "models", "regression", "model.onnx"), 1);

    public void Dispose() => _regression.Dispose();

    PayloadException Refused(string contentType, string body)
        => Assert.Throws<PayloadException>(() => Codecs.Decode(contentType, Encoding.UTF8.GetBytes(body), _regression));

    [Fact]
    public void ACsvFieldThatIsNotANumberIsNamedByLineColumnAndValue()
    {
        var e = Refused("text/csv", "1,2,3,4\r\n\n5,6, oops ,8\n");
        Assert.Equal("input 'features' expects float values, but line 3, column 3 of the CSV payload is \"oops\"", e.Message);
        Assert.Equal(3, e.Line);
        Assert.Equal(400, e.Status);
        // An empty field, and a long one (cut, so that the message stays one short line).
        Assert.Equal("input 'features' expects float values, but line 1, column 2 of the CSV payload is \"\"", Refused("text/csv", "1,,3,4").Message);
        var longField = Refused("text/csv", "1,2,3," + new string('x', 100)).Message;
        Assert.EndsWith($"line 1, column 4 of the CSV payload is \"{new string('x', 40)}…\"", longField);
    }

    [Fact]
    public void ARaggedCsvRowIsNamed()
    {
        var e = Refused("text/csv", "1,2,3,4\n1,2,3,4\n\n1,2,3\n");
        Assert.Equal("every CSV row must have 4 columns, as the first one has, but line 4 has 3", e.Message);
        Assert.Equal(4, e.Line);
        // A longer row, last in the payload: its fields run past the values the rows could hold.
        Assert.Equal("every CSV row must have 4 columns, as the first one has, but line 2 has 6", Refused("text/csv", "1,2,3,4\n1,2,3,4,5,6").Message);
        Assert.Equal("input 'features' expects float values, but line 2, column 6 of the CSV payload is \"x\"", Refused("text/csv", "1,2,3,4\n1,2,3,4,5,x\n").Message);
    }

    [Fact]
    public void CsvRowsAreReadWhateverTheirLineEndsAndBlankLines()
    {
        foreach (var body in new[] { "1,2,3,4\n5,6,7,8", "1,2,3,4\n5,6,7,8\n", "\n1,2,3,4\r\n\n \n5, 6 ,7,8\r\n\n" })
        {
            var features = Codecs.Decode("text/csv", Encoding.UTF8.GetBytes(body), _regression)["features"];
            Assert.Equal([2, 4], features.Shape);
            Assert.Equal([1f, 2, 3, 4, 5, 6, 7, 8], (float[])features.Values);
        }
        // Doubles the same way, at a double's precision.
        using var scaler = new OnnxModel(Path.Combine(AppContext.BaseDirectory, "models", "scaler", "model.onnx"), 1);
        var x = Codecs.Decode("text/csv", "0.1,2\n\n1e300,-3.5"u8.ToArray(), scaler)["x"];
        Assert.Equal([2, 2], x.Shape);
        Assert.Equal([0.1, 2, 1e300, -3.5], (double[])x.Values);
    }

    [Fact]
    public void CsvFieldsOfOtherTypesAreNamedToo()
    {
        var ids = new ModelInput("ids", TensorElementType.Int64, [-1, 2]);
        var e = Assert.Throws<PayloadException>(() => Codecs.DecodeCsvFields("1,2\n\n3,4.5\n"u8.ToArray(), ids));
        Assert.Equal("input 'ids' expects int64 values, but line 3, column 2 of the CSV payload is \"4.5\"", e.Message);
        Assert.Equal(3, e.Line);
        var ragged = Assert.Throws<PayloadException>(() => Codecs.DecodeCsvFields("1,2\n3\n"u8.ToArray(), ids));
        Assert.Equal("every CSV row must have 2 columns, as the first one has, but line 2 has 1", ragged.Message);
        Assert.Equal([1L, 2, 3, 4], (long[])Codecs.DecodeCsvFields("1,2\n3,4\n"u8.ToArray(), ids).Values);
    }

    [Fact]
    public void AJsonValueOfTheWrongTypeIsNamedByRecordAndPlace()
    {
        var e = Refused("application/json", """{"instances": [[1,2,3,4], [5,"six",7,8]]}""");
        Assert.Equal("input 'features' expects float values, but value 2 of record 2 is \"six\"", e.Message);
        Assert.Null(e.Line); // a JSON document is not line-oriented
        var objects = Refused("application/json", """[{"features": [1,2,3,4]}, {"features": [1,2,3,{"x": 1}]}]""");
        Assert.Equal("input 'features' expects float values, but value 4 of record 2 is {\"x\": 1}", objects.Message);
        var missing = Refused("application/json", """[{"features": [1,2,3,4]}, {"other": 1}]""");
        Assert.StartsWith("record 2 has no input 'features'", missing.Message);
        var ragged = Refused("application/json", """[{"features": [1,2,3,4]}, {"features": [1,2]}]""");
        Assert.StartsWith("input 'features' is not a rectangular tensor: record 2 has shape [2], record 1 [4]", ragged.Message);
        var broken = Refused("application/json", "{\"instances\": \n [1,2,,]}");
        Assert.StartsWith("the body is not valid JSON: ", broken.Message);
        Assert.EndsWith("(line 2, byte 7)", broken.Message);
    }

    [Fact]
    public void JsonLinesErrorsNameTheLine()
    {
        var e = Refused("application/jsonlines", "[1,2,3,4]\n\n[1,true,3,4]\n");
        Assert.Equal("input 'features' expects float values, but value 2 of record 2 (line 3) is true", e.Message);
        Assert.Equal(3, e.Line);
        // A line of several records ({"instances": [...]}): each record is of its line.
        var several = Refused("application/jsonlines", "{\"instances\": [[1,2,3,4], [1,2,3,4]]}\n{\"instances\": [[1,2,3,4], [1,2,\"x\",4]]}\n");
        Assert.Equal("input 'features' expects float values, but value 3 of record 4 (line 2) is \"x\"", several.Message);
        Assert.Equal(2, several.Line);
        var broken = Refused("application/jsonlines", "[1,2,3,4]\n[1,2,\n");
        Assert.StartsWith("line 2 of the JSON Lines payload is not valid JSON: ", broken.Message);
        Assert.Equal(2, broken.Line);
    }

    [Theory]
    [InlineData("abc", false, "\"abc\"")]
    [InlineData("a\"b\\c", false, "\"a\\\"b\\\\c\"")]
    [InlineData("tab\there\r\n", false, "\"tab\\there\\r\\n\"")]
    [InlineData("\"json\"", true, "\"json\"")]
    public void ValuesAreShownQuotedAndEscaped(string value, bool json, string shown) => Assert.Equal(shown, PayloadException.Shown(value, json));
}
