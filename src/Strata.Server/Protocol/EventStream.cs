using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Strata.Server.Protocol;

/// <summary>
/// AWS's event stream framing (<c>application/vnd.amazon.eventstream</c>), the binary messages a
/// streaming operation's response is made of: a prelude (total length, headers length, both
/// big-endian 32-bit, then the CRC32 of those 8 bytes), the headers, the payload, and the CRC32
/// of everything before it. Strata only writes string-valued headers (type 7: a 16-bit length
/// and UTF-8), which is all the <c>:event-type</c>/<c>:message-type</c>/<c>:content-type</c>/
/// <c>:exception-type</c> headers need.
/// </summary>
public static class EventStream
{
    public const string ContentType = "application/vnd.amazon.eventstream";

    const int PreludeLength = 12;
    const int CrcLength = 4;
    const byte StringHeader = 7;

    /// <summary>One event of a stream's <paramref name="eventType"/> member (e.g. SageMaker
    /// Runtime's <c>PayloadPart</c>): a blob payload travels as <c>application/octet-stream</c>.</summary>
    public static byte[] Event(string eventType, ReadOnlySpan<byte> payload, string contentType = "application/octet-stream")
        => Message([(":event-type", eventType), (":content-type", contentType), (":message-type", "event")], payload);

    /// <summary>A modeled error sent as an event (<c>:message-type exception</c>), its members as a
    /// JSON document: how a stream reports a failure after the response has begun.</summary>
    public static byte[] Exception(string exceptionType, ReadOnlySpan<byte> json)
        => Message([(":exception-type", exceptionType), (":content-type", "application/json"), (":message-type", "exception")], json);

    /// <summary>One whole message with these headers (in this order) and payload.</summary>
    public static byte[] Message(IReadOnlyList<(string Name, string Value)> headers, ReadOnlySpan<byte> payload)
    {
        var headersLength = 0;
        foreach (var (name, value) in headers)
        {
            var n = Encoding.UTF8.GetByteCount(name);
            var v = Encoding.UTF8.GetByteCount(value);
            if (n is 0 or > byte.MaxValue) throw new ArgumentException($"an event stream header name is 1 to 255 bytes: {name}");
            if (v > ushort.MaxValue) throw new ArgumentException($"the value of event stream header {name} is longer than 65535 bytes");
            headersLength += 1 + n + 1 + 2 + v;
        }
        var total = PreludeLength + headersLength + payload.Length + CrcLength;
        var message = new byte[total];
        var span = message.AsSpan();
        BinaryPrimitives.WriteInt32BigEndian(span, total);
        BinaryPrimitives.WriteInt32BigEndian(span[4..], headersLength);
        BinaryPrimitives.WriteUInt32BigEndian(span[8..], Crc32.HashToUInt32(span[..8]));
        var at = PreludeLength;
        foreach (var (name, value) in headers)
        {
            var n = Encoding.UTF8.GetBytes(name, span[(at + 1)..]);
            span[at] = (byte)n;
            at += 1 + n;
            span[at++] = StringHeader;
            var v = Encoding.UTF8.GetBytes(value, span[(at + 2)..]);
            BinaryPrimitives.WriteUInt16BigEndian(span[at..], (ushort)v);
            at += 2 + v;
        }
        payload.CopyTo(span[at..]);
        at += payload.Length;
        BinaryPrimitives.WriteUInt32BigEndian(span[at..], Crc32.HashToUInt32(span[..at]));
        return message;
    }
}
