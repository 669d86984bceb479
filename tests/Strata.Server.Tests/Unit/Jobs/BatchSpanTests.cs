using System.Text;
using Strata.Server.Jobs.Transform;

namespace Strata.Server.Tests.Unit;

/// <summary>A transform failure names the input object's records and lines, not a mini-batch
/// number, and maps the line of the payload the model refused to the object's record and line.</summary>
public sealed class BatchSpanTests
{
    const string Uri = "s3://b/in/data.csv";

    [Fact]
    public void APayloadCutFromTheObjectHasItsLinesBlankOnesToo()
    {
        // Records 101-103 of the object, from line 105: "a", blank, "b", blank, "c".
        var payload = Encoding.UTF8.GetBytes("a\n\nb\n\nc");
        var span = new BatchSpan(100, 3, 105);
        Assert.Equal($"records 101-103 (lines 105-109) of {Uri}", span.Describe(Uri, payload));
        Assert.Equal("record 101 (line 105)", span.Fault(1, payload));
        Assert.Equal("record 102 (line 107)", span.Fault(3, payload));
        Assert.Equal("record 103 (line 109)", span.Fault(5, payload));
        Assert.Null(span.Fault(6, payload));
        Assert.Null(span.Fault(0, payload));
    }

    [Fact]
    public void RecordsJoinedAgainKeepTheirOwnLines()
    {
        var payload = Encoding.UTF8.GetBytes("1,2\n3,4\n5,6");
        var span = new BatchSpan(10, 3, RecordLines: [12, 14, 15]);
        Assert.Equal($"records 11-13 (lines 12-15) of {Uri}", span.Describe(Uri, payload));
        Assert.Equal("record 12 (line 14)", span.Fault(2, payload));
        Assert.Null(span.Fault(4, payload));
        Assert.Equal($"record 7 (line 9) of {Uri}", new BatchSpan(6, 1, RecordLines: [9]).Describe(Uri, "x"u8));
    }

    [Fact]
    public void RecordIORecordsHaveNoLines()
    {
        var span = new BatchSpan(0, 2);
        Assert.Equal($"records 1-2 of {Uri}", span.Describe(Uri, "xx"u8));
        Assert.Null(span.Fault(1, "xx"u8));
    }

    [Fact]
    public void AWholeObjectIsOneRecordOfItsLines()
    {
        var payload = Encoding.UTF8.GetBytes("a\nb\nc\n");
        var span = new BatchSpan(0, 1, 1);
        Assert.Equal($"record 1 (lines 1-3) of {Uri}", span.Describe(Uri, payload));
        Assert.Equal("record 1 (line 2)", span.Fault(2, payload));
    }
}
