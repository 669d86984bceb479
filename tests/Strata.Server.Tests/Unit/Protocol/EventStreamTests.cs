using System.Buffers.Binary;
using System.Text;
using Strata.Server.Protocol;
using Strata.Server.Services.Runtime;

namespace Strata.Server.Tests.Unit;

/// <summary>The event stream framing, held against AWS's published test vectors (the SDKs'
/// <c>encoded/positive</c> cases: lengths, prelude CRC32, message CRC32).</summary>
public sealed class EventStreamTests
{
    static readonly byte[] Foo = Encoding.ASCII.GetBytes("{'foo':'bar'}");

    [Fact]
    public void EmptyMessageIsTheVector()
        => Assert.Equal("000000100000000005c248eb7d98c8ff", Convert.ToHexStringLower(EventStream.Message([], [])));

    [Fact]
    public void PayloadWithoutHeadersIsTheVector()
        => Assert.Equal("0000001d00000000fd528c5a7b27666f6f273a27626172277dc3653936", Convert.ToHexStringLower(EventStream.Message([], Foo)));

    [Fact]
    public void PayloadWithOneStringHeaderIsTheVector()
        => Assert.Equal("0000003d0000002007fd83960c636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b27666f6f273a27626172277d8d9c08b1",
            Convert.ToHexStringLower(EventStream.Message([("content-type", "application/json")], Foo)));

    [Fact]
    public void PayloadPartEventCarriesItsTypeAndTheBytesAsTheyAre()
    {
        byte[] bytes = [0, 1, 2, 255];
        var message = EventStream.Event("PayloadPart", bytes);
        var (headers, payload) = Decode(message);
        Assert.Equal([(":event-type", "PayloadPart"), (":content-type", "application/octet-stream"), (":message-type", "event")], headers);
        Assert.Equal(bytes, payload);
    }

    [Fact]
    public void ExceptionEventNamesItsTypeAndCarriesJson()
    {
        var message = EventStream.Exception("ModelStreamError", Encoding.UTF8.GetBytes("""{"Message":"m","ErrorCode":"StreamBroken"}"""));
        var (headers, payload) = Decode(message);
        Assert.Equal([(":exception-type", "ModelStreamError"), (":content-type", "application/json"), (":message-type", "exception")], headers);
        Assert.Equal("""{"Message":"m","ErrorCode":"StreamBroken"}""", Encoding.UTF8.GetString(payload));
    }

    [Fact]
    public void HeaderNamesLongerThan255BytesAreRefused()
        => Assert.Throws<ArgumentException>(() => EventStream.Message([(new string('a', 256), "v")], []));

    [Fact]
    public void StreamingOperationMatchesItsOwnPathOnly()
    {
        var labels = new Dictionary<string, string>();
        Assert.True(SageMakerRuntimeOperations.InvokeEndpointWithResponseStream.TryMatch("POST", "/endpoints/e/invocations-response-stream", labels, Uri.UnescapeDataString));
        Assert.Equal("e", labels["EndpointName"]);
        Assert.False(SageMakerRuntimeOperations.InvokeEndpointWithResponseStream.TryMatch("POST", "/endpoints/e/invocations", labels, Uri.UnescapeDataString));
        // The two calls name the same members in different headers: each keeps its own constant.
        Assert.Equal("Accept", SageMakerRuntimeHeaders.Accept);
        Assert.Equal("X-Amzn-SageMaker-Accept", SageMakerRuntimeHeaders.InvokeEndpointWithResponseStreamAccept);
        Assert.Equal("X-Amzn-SageMaker-Content-Type", SageMakerRuntimeHeaders.InvokeEndpointWithResponseStreamContentType);
    }

    /// <summary>An independent reading of one message, checking both CRCs and the lengths.</summary>
    static (List<(string, string)> Headers, byte[] Payload) Decode(byte[] message)
    {
        var span = message.AsSpan();
        var total = BinaryPrimitives.ReadInt32BigEndian(span);
        var headersLength = BinaryPrimitives.ReadInt32BigEndian(span[4..]);
        Assert.Equal(message.Length, total);
        Assert.Equal(System.IO.Hashing.Crc32.HashToUInt32(span[..8]), BinaryPrimitives.ReadUInt32BigEndian(span[8..]));
        Assert.Equal(System.IO.Hashing.Crc32.HashToUInt32(span[..^4]), BinaryPrimitives.ReadUInt32BigEndian(span[^4..]));
        var headers = new List<(string, string)>();
        var at = 12;
        while (at < 12 + headersLength)
        {
            var name = Encoding.UTF8.GetString(span.Slice(at + 1, span[at]));
            at += 1 + span[at];
            Assert.Equal(7, span[at++]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(span[at..]);
            headers.Add((name, Encoding.UTF8.GetString(span.Slice(at + 2, length))));
            at += 2 + length;
        }
        return (headers, span[(12 + headersLength)..^4].ToArray());
    }
}
