using System.Formats.Cbor;
using System.Text;
using System.Text.Json;
using Strata.Server.Protocol;
using Strata.Server.Services.CloudWatch;

namespace Strata.Server.Tests.Unit.Protocol;

/// <summary>RPC v2 CBOR as botocore writes and reads it.</summary>
public sealed class CborWireTests
{
    [Fact]
    public void RequestsBecomeTheJsonTheContextReads()
    {
        var w = new CborWriter();
        w.WriteStartMap(null); // indefinite length, as some encoders write
        w.WriteTextString("Namespace");
        w.WriteTextString("App");
        w.WriteTextString("MetricData");
        w.WriteStartArray(1);
        w.WriteStartMap(6);
        w.WriteTextString("MetricName");
        w.WriteTextString("m");
        w.WriteTextString("Timestamp");
        w.WriteTag(CborTag.UnixTimeSeconds);
        w.WriteDouble(1796000000.5);
        w.WriteTextString("Value");
        w.WriteHalf((Half)1.5);
        w.WriteTextString("Values");
        w.WriteStartArray(2);
        w.WriteDouble(double.NaN);
        w.WriteInt64(-3);
        w.WriteEndArray();
        w.WriteTextString("StorageResolution");
        w.WriteUInt32(1);
        w.WriteTextString("Unit");
        w.WriteNull();
        w.WriteEndMap();
        w.WriteEndArray();
        w.WriteEndMap();
        var input = JsonSerializer.Deserialize(CborWire.ToJson(w.Encode()), CloudWatchJson.Default.PutMetricDataInput)!;
        var datum = input.MetricData!.Single();
        Assert.Equal(("App", "m", 1.5, 1), (input.Namespace, datum.MetricName, datum.Value, datum.StorageResolution));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1796000000500), datum.Timestamp);
        Assert.True(double.IsNaN(datum.Values![0]));
        Assert.Equal(-3, datum.Values[1]);
        Assert.Null(datum.Unit);
    }

    [Fact]
    public void ByteStringsAreBlobs()
    {
        var w = new CborWriter();
        w.WriteStartMap(1);
        w.WriteTextString("b");
        w.WriteByteString([1, 2, 255]);
        w.WriteEndMap();
        Assert.Equal("{\"b\":\"AQL/\"}", Encoding.UTF8.GetString(CborWire.ToJson(w.Encode())));
        Assert.Equal("{}", Encoding.UTF8.GetString(CborWire.ToJson(ReadOnlyMemory<byte>.Empty)));
    }

    [Theory]
    [InlineData("a1")] // map of one entry, then nothing
    [InlineData("a16161")] // map whose key is 'a' and value missing
    [InlineData("a101c2")] // key 1 (not a string)
    [InlineData("a16161c24100")] // tag 2 (bignum)
    [InlineData("a16161c16161")] // tag 1 on a string
    [InlineData("a0a0")] // two values
    [InlineData("ff")]
    public void MalformedBodiesAreSerializationErrors(string hex)
    {
        var e = Assert.Throws<AwsException>(() => CborWire.ToJson(Convert.FromHexString(hex)));
        Assert.Equal(("SerializationException", 400), (e.Code, e.Status));
    }

    [Fact]
    public void DeepNestingIsRefusedNotOverflowed()
    {
        var bytes = Enumerable.Repeat((byte)0x81, 100_000).Append((byte)0xa0).ToArray(); // [[[[...{}]]]]
        Assert.Equal("SerializationException", Assert.Throws<AwsException>(() => CborWire.ToJson(bytes)).Code);
    }

    [Fact]
    public void ResponsesCarryTaggedTimestampsAndOmitAbsentMembers()
    {
        var output = new GetMetricStatisticsOutput
        {
            Label = "m",
            Datapoints = [new Datapoint { Timestamp = DateTimeOffset.FromUnixTimeSeconds(1796000000), Sum = 17, ExtendedStatistics = new() { ["p99"] = 0.5 } }],
        };
        var r = new CborReader(CborWire.FromValue(output, CloudWatchJson.Default.GetMetricStatisticsOutput));
        Assert.Equal(2, r.ReadStartMap());
        Assert.Equal("Label", r.ReadTextString());
        Assert.Equal("m", r.ReadTextString());
        Assert.Equal("Datapoints", r.ReadTextString());
        Assert.Equal(1, r.ReadStartArray());
        Assert.Equal(3, r.ReadStartMap());
        Assert.Equal("Timestamp", r.ReadTextString());
        Assert.Equal(CborTag.UnixTimeSeconds, r.ReadTag());
        Assert.Equal(1796000000, r.ReadInt64());
        Assert.Equal("Sum", r.ReadTextString());
        Assert.Equal(17, r.ReadDouble());
        Assert.Equal("ExtendedStatistics", r.ReadTextString());
        Assert.Equal(1, r.ReadStartMap());
        Assert.Equal("p99", r.ReadTextString());
        Assert.Equal(0.5, r.ReadDouble());
    }

    [Fact]
    public void DoublesAreWrittenAsAwsWritesThem()
    {
        var json = JsonSerializer.Serialize(new Datapoint { Sum = 17, Average = 0.25, Maximum = double.PositiveInfinity }, CloudWatchJson.Default.Datapoint);
        Assert.Equal("{\"Average\":0.25,\"Sum\":17.0,\"Maximum\":\"Infinity\"}", json);
    }
}
