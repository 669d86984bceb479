using System.Buffers;
using System.Collections;
using System.Formats.Cbor;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Strata.Server.Protocol;

/// <summary>
/// Smithy RPC v2 CBOR, the newest protocol of query-compatible services (CloudWatch: botocore ≥
/// 1.40 speaks it first). Its data model is JSON's plus byte strings and tagged timestamps, so an
/// input is transcoded to the JSON the generated System.Text.Json context reads, and an output is
/// written from the same context's metadata: one set of shapes serves JSON and CBOR alike.
/// </summary>
public static class CborWire
{
    public const string ContentType = "application/cbor";

    /// <summary>Deeper than any model's shapes; refusing deeper input keeps recursion bounded.</summary>
    const int MaxDepth = 64;

    /// <summary>A CBOR request body as the equivalent JSON: byte strings become base64 strings
    /// (JSON's blobs), tag 1 timestamps their epoch-seconds number, NaN and infinities the JSON
    /// protocol's strings. An empty body is an empty structure, as the protocol allows.</summary>
    public static byte[] ToJson(ReadOnlyMemory<byte> cbor)
    {
        if (cbor.IsEmpty) return "{}"u8.ToArray();
        var buffer = new ArrayBufferWriter<byte>(cbor.Length * 2);
        try
        {
            var reader = new CborReader(cbor, CborConformanceMode.Lax);
            using (var json = new Utf8JsonWriter(buffer))
                Copy(reader, json, 0);
            if (reader.BytesRemaining != 0) throw Malformed("data follows the request's CBOR value.");
        }
        catch (Exception e) when (e is CborContentException or InvalidOperationException or FormatException or OverflowException or ArgumentException or DecoderFallbackException)
        {
            throw Malformed("the body is not well-formed CBOR.");
        }
        return buffer.WrittenSpan.ToArray();
    }

    static void Copy(CborReader reader, Utf8JsonWriter json, int depth)
    {
        if (depth > MaxDepth) throw Malformed("the body nests too deeply.");
        switch (reader.PeekState())
        {
            case CborReaderState.StartMap:
                reader.ReadStartMap();
                json.WriteStartObject();
                while (reader.PeekState() != CborReaderState.EndMap)
                {
                    if (reader.PeekState() is not (CborReaderState.TextString or CborReaderState.StartIndefiniteLengthTextString))
                        throw Malformed("a map key is not a text string.");
                    json.WritePropertyName(reader.ReadTextString());
                    Copy(reader, json, depth + 1);
                }
                reader.ReadEndMap();
                json.WriteEndObject();
                break;
            case CborReaderState.StartArray:
                reader.ReadStartArray();
                json.WriteStartArray();
                while (reader.PeekState() != CborReaderState.EndArray) Copy(reader, json, depth + 1);
                reader.ReadEndArray();
                json.WriteEndArray();
                break;
            case CborReaderState.UnsignedInteger:
                json.WriteNumberValue(reader.ReadUInt64());
                break;
            case CborReaderState.NegativeInteger:
                json.WriteNumberValue(reader.ReadInt64());
                break;
            case CborReaderState.ByteString or CborReaderState.StartIndefiniteLengthByteString:
                json.WriteBase64StringValue(reader.ReadByteString());
                break;
            case CborReaderState.TextString or CborReaderState.StartIndefiniteLengthTextString:
                json.WriteStringValue(reader.ReadTextString());
                break;
            case CborReaderState.Tag:
                // Tag 1 (epoch seconds) is the only tag the protocol uses: timestamps.
                if (reader.ReadTag() != CborTag.UnixTimeSeconds) throw Malformed("a tag other than 1 (epoch seconds).");
                if (reader.PeekState() is not (CborReaderState.UnsignedInteger or CborReaderState.NegativeInteger or CborReaderState.HalfPrecisionFloat
                    or CborReaderState.SinglePrecisionFloat or CborReaderState.DoublePrecisionFloat))
                    throw Malformed("a timestamp is not a number.");
                Copy(reader, json, depth + 1);
                break;
            case CborReaderState.HalfPrecisionFloat or CborReaderState.SinglePrecisionFloat or CborReaderState.DoublePrecisionFloat:
                var d = reader.ReadDouble();
                if (double.IsNaN(d)) json.WriteStringValue("NaN");
                else if (double.IsPositiveInfinity(d)) json.WriteStringValue("Infinity");
                else if (double.IsNegativeInfinity(d)) json.WriteStringValue("-Infinity");
                else json.WriteNumberValue(d);
                break;
            case CborReaderState.Boolean:
                json.WriteBooleanValue(reader.ReadBoolean());
                break;
            case CborReaderState.Null:
                reader.ReadNull();
                json.WriteNullValue();
                break;
            case CborReaderState.SimpleValue when reader.ReadSimpleValue() == CborSimpleValue.Undefined:
                json.WriteNullValue();
                break;
            default:
                throw Malformed($"unexpected CBOR item ({reader.PeekState()}).");
        }
    }

    static AwsException Malformed(string why) => new("SerializationException", 400, "The request body could not be read: " + why);

    /// <summary>An output shape as CBOR, walking the generated context's metadata: members by their
    /// wire names (absent ones omitted), timestamps as tag 1 epoch seconds, blobs as byte strings.</summary>
    public static byte[] FromValue(object? value, JsonTypeInfo info)
    {
        var writer = new CborWriter(CborConformanceMode.Lax);
        if (value is null or Empty)
        {
            writer.WriteStartMap(0);
            writer.WriteEndMap();
        }
        else Write(writer, value, info);
        return writer.Encode();
    }

    /// <summary>The protocol's error body: a map with the code and the message.</summary>
    public static byte[] Error(string code, string message)
    {
        var writer = new CborWriter(CborConformanceMode.Lax);
        writer.WriteStartMap(2);
        writer.WriteTextString("__type");
        writer.WriteTextString(code);
        writer.WriteTextString("message");
        writer.WriteTextString(WireText.ForJson(message));
        writer.WriteEndMap();
        return writer.Encode();
    }

    static void Write(CborWriter w, object? value, JsonTypeInfo info)
    {
        switch (value)
        {
            case null: w.WriteNull(); return;
            case string s: w.WriteTextString(WireText.ForJson(s)); return;
            case bool b: w.WriteBoolean(b); return;
            case int i: w.WriteInt32(i); return;
            case long l: w.WriteInt64(l); return;
            case double d: w.WriteDouble(d); return;
            case float f: w.WriteSingle(f); return;
            case byte[] bytes: w.WriteByteString(bytes); return;
            case DateTimeOffset time:
                w.WriteTag(CborTag.UnixTimeSeconds);
                var ms = time.ToUnixTimeMilliseconds();
                if (ms % 1000 == 0) w.WriteInt64(ms / 1000);
                else w.WriteDouble(ms / 1000.0);
                return;
        }
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object:
                var members = new List<(string Name, object Value, Type Type)>(info.Properties.Count);
                foreach (var p in info.Properties)
                    if (p.Get?.Invoke(value) is { } member) members.Add((p.Name, member, p.PropertyType));
                w.WriteStartMap(members.Count);
                foreach (var (name, member, type) in members)
                {
                    w.WriteTextString(name);
                    Write(w, member, info.Options.GetTypeInfo(type));
                }
                w.WriteEndMap();
                return;
            case JsonTypeInfoKind.Dictionary:
                var map = (IDictionary)value;
                var valueInfo = info.Options.GetTypeInfo(info.ElementType!);
                w.WriteStartMap(map.Count);
                foreach (DictionaryEntry entry in map)
                {
                    w.WriteTextString((string)entry.Key);
                    Write(w, entry.Value, valueInfo);
                }
                w.WriteEndMap();
                return;
            case JsonTypeInfoKind.Enumerable:
                var items = ((IEnumerable)value).Cast<object?>().ToList();
                var itemInfo = info.Options.GetTypeInfo(info.ElementType!);
                w.WriteStartArray(items.Count);
                foreach (var item in items) Write(w, item, itemInfo);
                w.WriteEndArray();
                return;
            default:
                throw new InvalidOperationException($"CBOR output of {info.Type} is not supported");
        }
    }
}
