using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Strata.Server.Jobs.Transform;

/// <summary>A job's input cannot be processed as asked (the job fails with this message).</summary>
public sealed class TransformException(string message) : JobException(message);

/// <summary>A record of an input object and, for line records, its line in the object
/// (1-based, blank lines counted; 1 for a whole object; 0 for RecordIO, which has no lines).</summary>
public readonly record struct InputRecord(byte[] Bytes, long Line);

/// <summary>Cuts an input object into records, as SplitType says: the whole object (None), one
/// record per line (Line), or MXNet RecordIO records (RecordIO).</summary>
public static class RecordSplitter
{
    const uint RecordIOMagic = 0xced7230a;

    public static async IAsyncEnumerable<InputRecord> SplitAsync(Stream input, string splitType, [EnumeratorCancellation] CancellationToken ct = default)
    {
        switch (splitType)
        {
            case "None":
                using (var all = new MemoryStream())
                {
                    await input.CopyToAsync(all, ct);
                    yield return new InputRecord(all.ToArray(), 1);
                }
                break;
            case "Line":
                await foreach (var line in LinesAsync(input, ct)) yield return line;
                break;
            case "RecordIO":
                await foreach (var record in RecordIOAsync(input, ct)) yield return new InputRecord(record, 0);
                break;
            default:
                throw new TransformException($"SplitType {splitType} is not supported");
        }
    }

    static async IAsyncEnumerable<InputRecord> LinesAsync(Stream input, [EnumeratorCancellation] CancellationToken ct)
    {
        var buffer = new byte[256 * 1024];
        var pending = new MemoryStream();
        long lineNumber = 1;
        int n;
        while ((n = await input.ReadAsync(buffer, ct)) > 0)
        {
            var start = 0;
            for (var i = 0; i < n; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                pending.Write(buffer, start, i - start);
                if (Line(pending) is { } line) yield return new InputRecord(line, lineNumber);
                lineNumber++;
                pending.SetLength(0);
                start = i + 1;
            }
            pending.Write(buffer, start, n - start);
        }
        if (Line(pending) is { } last) yield return new InputRecord(last, lineNumber);
    }

    /// <summary>A line without its CR; blank lines are not records.</summary>
    static byte[]? Line(MemoryStream pending)
    {
        var bytes = pending.GetBuffer().AsSpan(0, (int)pending.Length);
        if (bytes.Length > 0 && bytes[^1] == (byte)'\r') bytes = bytes[..^1];
        return bytes.Trim((byte)' ').Length == 0 ? null : bytes.ToArray();
    }

    static async IAsyncEnumerable<byte[]> RecordIOAsync(Stream input, [EnumeratorCancellation] CancellationToken ct)
    {
        var header = new byte[8];
        while (true)
        {
            var read = await input.ReadAtLeastAsync(header, 8, throwOnEndOfStream: false, ct);
            if (read == 0) yield break;
            if (read < 8 || BinaryPrimitives.ReadUInt32LittleEndian(header) != RecordIOMagic)
                throw new TransformException("the input is not RecordIO: a record does not start with the RecordIO magic number");
            var length = (int)(BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4)) & ((1u << 29) - 1));
            var record = new byte[length];
            await input.ReadExactlyAsync(record, ct);
            var padding = (4 - length % 4) % 4;
            if (padding > 0) await input.ReadExactlyAsync(new byte[padding], ct);
            yield return record;
        }
    }

    /// <summary>One record in RecordIO framing (how RecordIO records travel in a request).</summary>
    public static void WriteRecordIO(Stream output, ReadOnlySpan<byte> record)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(header, RecordIOMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)record.Length);
        output.Write(header);
        output.Write(record);
        for (var i = 0; i < (4 - record.Length % 4) % 4; i++) output.WriteByte(0);
    }
}

/// <summary>
/// Where a mini-batch's records are in the input object they were cut from, so that a failure
/// names them as a person finds them (records and lines from 1) rather than by mini-batch. A
/// payload cut straight from the object (<see cref="FirstLine"/> without
/// <see cref="RecordLines"/>) has the object's lines, blank ones too, one for one; a payload of
/// line records joined again has one line per record, each record's line in
/// <see cref="RecordLines"/>; RecordIO records have no lines.
/// </summary>
/// <param name="FirstRecord">How many records of the object come before the mini-batch.</param>
public sealed record BatchSpan(long FirstRecord, int Count, long? FirstLine = null, long[]? RecordLines = null)
{
    /// <summary>"records 2001-3000 (lines 2001-3002) of s3://bucket/key".</summary>
    public string Describe(string objectUri, ReadOnlySpan<byte> payload)
    {
        var records = Count == 1 ? $"record {FirstRecord + 1}" : $"records {FirstRecord + 1}-{FirstRecord + Count}";
        var lines = Lines(payload) is (var first, var last) ? first == last ? $" (line {first})" : $" (lines {first}-{last})" : "";
        return $"{records}{lines} of {objectUri}";
    }

    /// <summary>"record 2017 (line 2018)": the record and line of the object that line
    /// <paramref name="payloadLine"/> of the payload is; null when the payload's lines are not the
    /// object's (RecordIO, or a filtered whole object) or the line is not in the payload.</summary>
    public string? Fault(int payloadLine, ReadOnlySpan<byte> payload)
    {
        if (payloadLine < 1) return null;
        if (RecordLines is { } recordLines)
            return payloadLine <= recordLines.Length ? $"record {FirstRecord + payloadLine} (line {recordLines[payloadLine - 1]})" : null;
        if (FirstLine is not { } firstLine) return null;
        // A payload cut from the object: its line N is the object's line FirstLine + N - 1, and
        // the record is counted over the non-blank lines up to it (all of a whole object's lines
        // are its one record).
        var record = FirstRecord;
        var line = 0;
        foreach (var text in payload.Split((byte)'\n'))
        {
            if (payload[text].Trim(" \r"u8).Length > 0) record++;
            if (++line == payloadLine) return $"record {Math.Clamp(record, FirstRecord + 1, FirstRecord + Count)} (line {firstLine + payloadLine - 1})";
        }
        return null;
    }

    (long First, long Last)? Lines(ReadOnlySpan<byte> payload)
    {
        if (RecordLines is { Length: > 0 } recordLines) return (recordLines[0], recordLines[^1]);
        if (FirstLine is not { } first) return null;
        return (first, first + payload.TrimEnd((byte)'\n').Count((byte)'\n'));
    }
}

/// <summary>
/// DataProcessing on records: the InputFilter before a record is sent, joining the output to its
/// input record (JoinSource Input), and the OutputFilter on what is written. CSV records are rows
/// (arrays of fields); JSON records are JSON documents.
/// </summary>
public sealed class RecordProcessor
{
    readonly JsonPathFilter? _input;
    readonly JsonPathFilter? _output;
    readonly bool _join;
    readonly bool _csv;

    public RecordProcessor(string? inputFilter, string? outputFilter, string? joinSource, string? contentType)
    {
        _input = inputFilter is null or "$" ? null : JsonPathFilter.Parse(inputFilter);
        _output = outputFilter is null or "$" ? null : JsonPathFilter.Parse(outputFilter);
        _join = joinSource == "Input";
        _csv = (contentType ?? "").Split(';')[0].Trim().Equals("text/csv", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Whether outputs must be matched to their input records one by one.</summary>
    public bool PerRecord => _join || _output is not null;

    public bool FiltersInput => _input is not null;

    public byte[] FilterInput(byte[] record) => _input is null ? record : Serialize(_input.Apply(Parse(record)), "InputFilter");

    /// <summary>The record written for one input record and its output.</summary>
    public byte[] Output(byte[] input, byte[] output)
    {
        if (!_join && _output is null) return output;
        JsonNode? joined;
        if (!_join) joined = Parse(output);
        else if (_csv)
        {
            var row = (JsonArray)Parse(input)!;
            foreach (var field in (JsonArray)Parse(output)!) row.Add(field?.DeepClone());
            joined = row;
        }
        else
        {
            var inputNode = Parse(input);
            var outputNode = ParseJsonOrString(output);
            joined = inputNode is JsonObject o
                ? With(o, "SageMakerOutput", outputNode)
                : new JsonObject { ["SageMakerInput"] = inputNode, ["SageMakerOutput"] = outputNode };
        }
        return Serialize(_output is null ? joined : _output.Apply(joined), "OutputFilter");
    }

    static JsonObject With(JsonObject o, string name, JsonNode? value)
    {
        o[name] = value;
        return o;
    }

    JsonNode? Parse(byte[] record)
    {
        var text = Encoding.UTF8.GetString(record).TrimEnd('\r', '\n');
        if (_csv) return new JsonArray(text.Split(',').Select(f => (JsonNode?)JsonValue.Create(f)).ToArray());
        try { return JsonNode.Parse(text); }
        catch (JsonException) { throw new TransformException($"a record is not valid JSON, which a JSONPath filter or join needs: {Preview(text)}"); }
    }

    static JsonNode? ParseJsonOrString(byte[] record)
    {
        var text = Encoding.UTF8.GetString(record).TrimEnd('\r', '\n');
        try { return JsonNode.Parse(text); }
        catch (JsonException) { return JsonValue.Create(text); }
    }

    byte[] Serialize(JsonNode? node, string filter)
    {
        if (node is null) throw new TransformException($"the {filter} selects nothing from a record");
        if (_csv)
        {
            var fields = node is JsonArray a ? a.Select(Field) : [Field(node)];
            return Encoding.UTF8.GetBytes(string.Join(',', fields));
        }
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }

    static string Field(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node?.ToJsonString() ?? "";

    static string Preview(string text) => text.Length > 80 ? text[..80] + "…" : text;
}
