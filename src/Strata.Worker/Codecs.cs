using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Strata.Worker;

/// <summary>
/// Request and response bodies as SageMaker's framework containers accept them:
/// <c>application/json</c> (<c>{"instances": [...]}</c>, <c>{"inputs": {name: tensor}}</c> or a bare
/// nested array), <c>text/csv</c> (one record per line) and <c>application/x-npy</c> (a NumPy
/// array, so binary tensors do not pay for text).
/// </summary>
public static class Codecs
{
    public const string Json = "application/json";
    public const string Csv = "text/csv";
    public const string Npy = "application/x-npy";
    /// <summary>JSON Lines: one record per line (a row array, or an object with "instances"), as
    /// batch transform sends records split by line; the answer is one prediction per line.</summary>
    public const string JsonLines = "application/jsonlines";

    public static string MediaType(string? header)
        => (header ?? "").Split(';')[0].Trim().ToLowerInvariant();

    public static Dictionary<string, TensorData> Decode(string? contentType, ReadOnlyMemory<byte> body, OnnxModel model) => MediaType(contentType) switch
    {
        Json or "" => DecodeJson(body, model),
        JsonLines => DecodeJsonLines(body, model),
        Csv => DecodeCsv(body, model),
        Npy => Single(model, "application/x-npy", input => DecodeNpy(body, input)),
        var other => throw new PayloadException($"content type '{other}' is not supported; use {Json}, {JsonLines}, {Csv} or {Npy}", 415),
    };

    /// <summary>The response media type for an Accept header (the first supported one);
    /// <paramref name="fallback"/> when it names none (the container's own default, e.g. text/csv
    /// for AWS's XGBoost image).</summary>
    public static string Negotiate(string? accept, string fallback = Json)
    {
        if (string.IsNullOrWhiteSpace(accept)) return fallback;
        foreach (var part in accept.Split(','))
        {
            var type = MediaType(part);
            if (type is Json or Csv or Npy or JsonLines) return type;
            if (type is "*/*") return fallback;
            if (type is "application/*") return fallback.StartsWith("application/", StringComparison.Ordinal) ? fallback : Json;
        }
        throw new PayloadException($"accept '{accept}' is not supported; use {Json}, {JsonLines}, {Csv} or {Npy}", 406);
    }

    /// <summary>The response body. <paramref name="responseFormat"/> (STRATA_RESPONSE_FORMAT) shapes
    /// JSON and JSON Lines as an AWS algorithm container writes them: <c>linear-learner</c>
    /// (<see cref="EncodeLinearLearner"/>), <c>kmeans</c> ({"predictions": [record, ...]}) or
    /// <c>pca</c> ({"projections": [record, ...]}), a record being an object of the model's outputs
    /// by name ({"closest_cluster", "distance_to_cluster"}, {"projection"}).</summary>
    public static byte[] Encode(string mediaType, List<OutputValue> outputs, string? responseFormat = null) => mediaType switch
    {
        Csv => EncodeCsv(outputs),
        Npy => EncodeNpy(outputs),
        JsonLines => EncodeJsonLines(EncodeJson(outputs, responseFormat)),
        _ => EncodeJson(outputs, responseFormat),
    };

    static byte[] EncodeJson(List<OutputValue> outputs, string? responseFormat) => responseFormat switch
    {
        "linear-learner" => EncodeLinearLearner(outputs),
        "kmeans" => EncodeRecords(outputs, "predictions"),
        "pca" => EncodeRecords(outputs, "projections"),
        _ => EncodeJson(outputs),
    };

    /// <summary>The records of a JSON Lines body as one JSON array of rows (a line holding
    /// {"instances": [...]} contributes its rows), decoded as a JSON array is, with the line each
    /// row came from, so that an error names the line.</summary>
    static Dictionary<string, TensorData> DecodeJsonLines(ReadOnlyMemory<byte> body, OnnxModel model)
    {
        using var buffer = new MemoryStream();
        var recordLines = new List<int>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            var lines = Encoding.UTF8.GetString(body.Span).Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                var line = lines[i];
                if (line.Trim().Length == 0) continue;
                JsonDocument doc;
                try { doc = JsonDocument.Parse(line); }
                catch (JsonException e) { throw new PayloadException($"line {i + 1} of the JSON Lines payload is not valid JSON: {JsonProblem(e)} (at byte {e.BytePositionInLine + 1})", line: i + 1); }
                using (doc)
                {
                    if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("instances", out var rows) && rows.ValueKind == JsonValueKind.Array)
                        foreach (var row in rows.EnumerateArray())
                        {
                            row.WriteTo(json);
                            recordLines.Add(i + 1);
                        }
                    else
                    {
                        doc.RootElement.WriteTo(json);
                        recordLines.Add(i + 1);
                    }
                }
            }
            json.WriteEndArray();
        }
        return DecodeJson(buffer.ToArray(), model, [.. recordLines]);
    }

    /// <summary>One prediction per line, in record order: the elements of the JSON answer's list
    /// (its "predictions", or an algorithm's own name for them).</summary>
    static byte[] EncodeJsonLines(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        using var buffer = new MemoryStream();
        foreach (var prediction in doc.RootElement.EnumerateObject().First(p => p.Value.ValueKind == JsonValueKind.Array).Value.EnumerateArray())
        {
            buffer.Write(Encoding.UTF8.GetBytes(prediction.GetRawText()));
            buffer.WriteByte((byte)'\n');
        }
        return buffer.ToArray();
    }

    /// <summary>What System.Text.Json found wrong, without its position (0-based, as it counts
    /// them): the message gives the position as people count, from 1.</summary>
    static string JsonProblem(JsonException e)
    {
        var at = e.Message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return at > 0 ? e.Message[..at] : e.Message;
    }

    static Dictionary<string, TensorData> Single(OnnxModel model, string what, Func<ModelInput, TensorData> decode)
    {
        if (model.Inputs.Count != 1)
            throw new PayloadException($"{what} carries one tensor, but the model has {model.Inputs.Count} inputs: {model.Describe()}; send application/json with {{\"inputs\": {{name: tensor}}}}");
        var input = model.Inputs[0];
        return new() { [input.Name] = decode(input) };
    }

    // ---- JSON ----

    /// <param name="recordLines">For a JSON Lines payload, the line of each record (1-based).</param>
    static Dictionary<string, TensorData> DecodeJson(ReadOnlyMemory<byte> body, OnnxModel model, int[]? recordLines = null)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(body); }
        catch (JsonException e) { throw new PayloadException($"the body is not valid JSON: {JsonProblem(e)} (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("inputs", out var inputs))
            {
                if (inputs.ValueKind != JsonValueKind.Object) return Single(model, "\"inputs\" as an array", input => FromJson(inputs, input));
                var result = new Dictionary<string, TensorData>();
                foreach (var property in inputs.EnumerateObject())
                {
                    var input = model.Inputs.FirstOrDefault(i => i.Name == property.Name)
                        ?? throw new PayloadException($"the model has no input '{property.Name}'; it expects {model.Describe()}");
                    result[input.Name] = FromJson(property.Value, input);
                }
                return result;
            }
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("instances", out var instances))
            {
                if (instances.ValueKind != JsonValueKind.Array) throw new PayloadException("\"instances\" must be an array of records");
                if (instances.GetArrayLength() > 0 && instances[0].ValueKind == JsonValueKind.Object) return DecodeRecords(instances, model, null);
                return Single(model, "\"instances\"", input => FromJson(instances, input));
            }
            if (root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0 && root[0].ValueKind == JsonValueKind.Object) return DecodeRecords(root, model, recordLines);
            if (root.ValueKind == JsonValueKind.Array) return Single(model, "a bare JSON array", input => FromJson(root, input, recordLines));
            throw new PayloadException($"expected {{\"instances\": [...]}}, {{\"inputs\": {{...}}}} or a JSON array; the model expects {model.Describe()}");
        }
    }

    /// <summary>Records given as objects: each names the model's inputs ({"a": [...], "b": [...]}),
    /// or, for a model of one input, gives it as AWS's built-in algorithms take a record:
    /// {"features": [...]} or {"data": {"features": {"values": [...]}}} (with "keys" and "shape",
    /// a sparse record: the values at those indices, zeros elsewhere).</summary>
    static Dictionary<string, TensorData> DecodeRecords(JsonElement records, OnnxModel model, int[]? recordLines)
    {
        var result = new Dictionary<string, TensorData>();
        foreach (var input in model.Inputs)
        {
            var stacked = records.EnumerateArray().Select((r, i) => r.ValueKind == JsonValueKind.Object && r.TryGetProperty(input.Name, out var v) ? v
                : model.Inputs.Count == 1 && AwsFeatures(r, input) is { } features ? features
                : throw new PayloadException($"record {i + 1}{LineOf(recordLines, i)} has no input '{input.Name}' (nor \"features\"); the model expects {model.Describe()}",
                    line: recordLines?[i])).ToList();
            result[input.Name] = FromJsonList(stacked, input, recordLines);
        }
        return result;
    }

    /// <summary>" (line N)" for record <paramref name="record"/> (0-based) of a JSON Lines payload.</summary>
    static string LineOf(int[]? recordLines, int record) => recordLines is null || record >= recordLines.Length ? "" : $" (line {recordLines[record]})";

    /// <summary>A record's features in AWS's JSON record formats, as a JSON array; null when it has none.</summary>
    static JsonElement? AwsFeatures(JsonElement record, ModelInput input)
    {
        if (record.ValueKind != JsonValueKind.Object) return null;
        if (record.TryGetProperty("features", out var dense)) return dense;
        if (!record.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object
            || !data.TryGetProperty("features", out var features) || features.ValueKind != JsonValueKind.Object
            || !features.TryGetProperty("values", out var values))
            return null;
        if (!features.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Array || keys.GetArrayLength() == 0) return values;
        var width = features.TryGetProperty("shape", out var shape) && shape.ValueKind == JsonValueKind.Array && shape.GetArrayLength() == 1 && shape[0].TryGetInt32(out var w) ? w
            : input.Dimensions.Length == 2 && input.Dimensions[1] > 0 ? input.Dimensions[1]
            : throw new PayloadException("a sparse record (\"keys\") needs its \"shape\": [width]");
        if (values.ValueKind != JsonValueKind.Array || values.GetArrayLength() != keys.GetArrayLength())
            throw new PayloadException("a sparse record's \"keys\" and \"values\" must be arrays of the same length");
        var expanded = new double[width];
        for (var i = 0; i < keys.GetArrayLength(); i++)
        {
            if (!keys[i].TryGetInt32(out var key) || key < 0 || key >= width)
                throw new PayloadException($"a sparse record's key {keys[i].GetRawText()} is not an index in [0, {width})");
            if (!values[i].TryGetDouble(out expanded[key])) throw new PayloadException("a sparse record's values must be numbers");
        }
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var v in expanded) json.WriteNumberValue(v);
            json.WriteEndArray();
        }
        using var doc = JsonDocument.Parse(buffer.ToArray());
        return doc.RootElement.Clone();
    }

    static TensorData FromJsonList(List<JsonElement> records, ModelInput input, int[]? recordLines)
    {
        var shape = new List<int> { records.Count };
        var values = new List<JsonElement>();
        int[]? inner = null;
        for (var i = 0; i < records.Count; i++)
        {
            var recordShape = new List<int>();
            Flatten(records[i], recordShape, values, 0, input);
            if (inner is null) inner = recordShape.ToArray();
            else if (!inner.SequenceEqual(recordShape))
                throw new PayloadException($"input '{input.Name}' is not a rectangular tensor: record {i + 1}{LineOf(recordLines, i)} has shape [{string.Join(",", recordShape)}], "
                    + $"record 1 [{string.Join(",", inner)}]; the model expects {input.Describe()}", line: recordLines?[i]);
        }
        shape.AddRange(inner ?? []);
        return new TensorData(input.Type, shape.ToArray(), Convert(values, input, records.Count, recordLines));
    }

    static TensorData FromJson(JsonElement element, ModelInput input, int[]? recordLines = null)
    {
        var shape = new List<int>();
        var values = new List<JsonElement>();
        Flatten(element, shape, values, 0, input);
        // A single record given without its batch dimension gets one.
        if (shape.Count == input.Dimensions.Length - 1) shape.Insert(0, 1);
        return new TensorData(input.Type, shape.ToArray(), Convert(values, input, shape.Count == 0 ? 1 : shape[0], recordLines));
    }

    static void Flatten(JsonElement element, List<int> shape, List<JsonElement> values, int depth, ModelInput input)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            if (depth < shape.Count) throw Ragged(input);
            values.Add(element);
            return;
        }
        var length = element.GetArrayLength();
        if (depth == shape.Count) shape.Add(length);
        else if (shape[depth] != length) throw Ragged(input);
        foreach (var item in element.EnumerateArray()) Flatten(item, shape, values, depth + 1, input);
    }

    static PayloadException Ragged(ModelInput input) => new($"input '{input.Name}' is not a rectangular tensor; the model expects {input.Describe()}");

    /// <summary>The flat values as the input's element type; one that is not names its record
    /// (of <paramref name="records"/>, the first dimension) and its place in the record.</summary>
    static Array Convert(List<JsonElement> values, ModelInput input, int records, int[]? recordLines) => input.Type switch
    {
        TensorElementType.Float => Each(values, input, records, recordLines, v => v.GetSingle()),
        TensorElementType.Double => Each(values, input, records, recordLines, v => v.GetDouble()),
        TensorElementType.Int32 => Each(values, input, records, recordLines, v => v.GetInt32()),
        TensorElementType.Int64 => Each(values, input, records, recordLines, v => v.GetInt64()),
        TensorElementType.Bool => Each(values, input, records, recordLines, v => v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : v.GetInt32() != 0),
        TensorElementType.String => values.Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()).ToArray(),
        _ => throw new PayloadException($"input '{input.Name}' has element type {input.Type}, which Strata's worker does not take"),
    };

    static T[] Each<T>(List<JsonElement> values, ModelInput input, int records, int[]? recordLines, Func<JsonElement, T> convert)
    {
        var result = new T[values.Count];
        for (var i = 0; i < values.Count; i++)
        {
            try { result[i] = convert(values[i]); }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                var perRecord = Math.Max(1, values.Count / Math.Max(1, records));
                var record = i / perRecord;
                throw new PayloadException($"input '{input.Name}' expects {TensorData.TypeName(input.Type)} values, but value {i % perRecord + 1} of record {record + 1}{LineOf(recordLines, record)} is "
                    + PayloadException.Shown(values[i].GetRawText(), json: true), line: recordLines is not null && record < recordLines.Length ? recordLines[record] : null);
            }
        }
        return result;
    }

    static byte[] EncodeJson(List<OutputValue> outputs)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WritePropertyName("predictions");
            if (outputs.Count == 1 && outputs[0].Tensor is { } only)
            {
                WriteTensor(json, only);
            }
            else
            {
                // Several outputs (a classifier's label and probabilities): one object per record.
                WriteRecordObjects(json, outputs);
            }
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>{"<paramref name="collection"/>": [record, ...]}, each record an object of the outputs by name.</summary>
    static byte[] EncodeRecords(List<OutputValue> outputs, string collection)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WritePropertyName(collection);
            WriteRecordObjects(json, outputs);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    static void WriteRecordObjects(Utf8JsonWriter json, List<OutputValue> outputs)
    {
        var records = outputs.Min(o => o.Records);
        json.WriteStartArray();
        for (var i = 0; i < records; i++)
        {
            json.WriteStartObject();
            foreach (var output in outputs)
            {
                json.WritePropertyName(output.Name);
                if (output.Tensor is { } t)
                {
                    var record = t.Record(i);
                    if (record.Shape.Length == 0) WriteScalar(json, record.Values, 0);
                    else WriteTensor(json, record);
                }
                else
                {
                    var maps = output.Maps!;
                    var row = maps.Record(i);
                    json.WriteStartObject();
                    // As a double, as the probabilities were always written (0.1f is 0.10000000149011612).
                    for (var k = 0; k < maps.Keys.Length; k++) json.WriteNumber(maps.Keys[k], (double)row[k]);
                    json.WriteEndObject();
                }
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    /// <summary>The JSON AWS's Linear Learner container answers: one object per record, its
    /// <c>score</c> (the probability of a binary classifier, the value of a regressor, the class
    /// probabilities of a multiclass one) and, for classifiers, its <c>predicted_label</c>. Other
    /// models' outputs are written as <see cref="Encode"/> writes them.</summary>
    public static byte[] EncodeLinearLearner(List<OutputValue> outputs)
    {
        var score = outputs.FirstOrDefault(o => o.Name.StartsWith("Probability", StringComparison.Ordinal))
            ?? outputs.FirstOrDefault(o => o.Name.StartsWith("Score", StringComparison.Ordinal));
        var label = outputs.FirstOrDefault(o => o.Name.StartsWith("PredictedLabel", StringComparison.Ordinal))?.Tensor;
        if (score?.Tensor is not { Values: float[] } scores) return EncodeJson(outputs);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("predictions");
            for (var i = 0; i < scores.Records; i++)
            {
                var values = (float[])scores.Record(i).Values;
                json.WriteStartObject();
                if (values.Length == 1) json.WriteNumber("score", values[0]);
                else
                {
                    json.WriteStartArray("score");
                    foreach (var v in values) json.WriteNumberValue(v);
                    json.WriteEndArray();
                }
                if (label is not null)
                    json.WriteNumber("predicted_label", label.Record(i).Values is bool[] b ? (b[0] ? 1 : 0) : System.Convert.ToDouble(label.Record(i).Values.GetValue(0), CultureInfo.InvariantCulture));
                else if (values.Length > 1) json.WriteNumber("predicted_label", Array.IndexOf(values, values.Max()));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    static void WriteTensor(Utf8JsonWriter json, TensorData tensor)
    {
        var index = 0;
        Write(0);

        void Write(int depth)
        {
            if (depth == tensor.Shape.Length)
            {
                WriteScalar(json, tensor.Values, index++);
                return;
            }
            json.WriteStartArray();
            for (var i = 0; i < tensor.Shape[depth]; i++) Write(depth + 1);
            json.WriteEndArray();
        }
    }

    static void WriteScalar(Utf8JsonWriter json, Array values, int i)
    {
        switch (values)
        {
            case float[] f: json.WriteNumberValue(f[i]); break;
            case double[] d: json.WriteNumberValue(d[i]); break;
            case int[] n: json.WriteNumberValue(n[i]); break;
            case long[] l: json.WriteNumberValue(l[i]); break;
            case bool[] b: json.WriteBooleanValue(b[i]); break;
            case string[] s: json.WriteStringValue(s[i]); break;
        }
    }

    // ---- CSV ----

    static Dictionary<string, TensorData> DecodeCsv(ReadOnlyMemory<byte> body, OnnxModel model) => Single(model, "text/csv", input =>
        input.Type is TensorElementType.Float or TensorElementType.Double ? DecodeCsvNumbers(body, input) : DecodeCsvFields(body, input));

    /// <summary>Float and double rows parsed straight from the UTF-8 bytes: batch transform sends
    /// megabytes of them, and a string per field would cost more than the model.</summary>
    static TensorData DecodeCsvNumbers(ReadOnlyMemory<byte> body, ModelInput input)
        => input.Type == TensorElementType.Float ? DecodeCsvNumbers<float>(body, input) : DecodeCsvNumbers<double>(body, input);

    static TensorData DecodeCsvNumbers<T>(ReadOnlyMemory<byte> body, ModelInput input) where T : INumberBase<T>
    {
        var text = body.Span;
        // The values go into one array sized once (a list that grows would copy a 300 000-row
        // mini-batch through the large object heap several times): at most a row per line, and
        // never more values than fields.
        var lines = text.Count((byte)'\n') + (text.Length > 0 && text[^1] != (byte)'\n' ? 1 : 0);
        var fieldsAtMost = text.Count((byte)',') + lines;
        T[] values = [];
        var count = 0;
        var rows = 0;
        var columns = -1;
        var lineNumber = 0; // every line counts, blank ones too: the number an editor shows
        while (text.Length > 0)
        {
            var end = text.IndexOf((byte)'\n');
            var line = (end < 0 ? text : text[..end]).TrimEnd((byte)'\r');
            text = end < 0 ? [] : text[(end + 1)..];
            lineNumber++;
            if (line.Trim((byte)' ').Length == 0) continue;
            if (columns < 0)
            {
                columns = line.Count((byte)',') + 1;
                values = new T[Math.Min((long)lines * columns, fieldsAtMost)];
            }
            var fields = 0;
            while (true)
            {
                var comma = line.IndexOf((byte)',');
                var field = (comma < 0 ? line : line[..comma]).Trim((byte)' ');
                if (!T.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                    throw NotACsvValue(input, lineNumber, fields + 1, Encoding.UTF8.GetString(field));
                // A row longer than the first is refused below, once its fields are all parsed.
                if (fields < columns) values[count + fields] = value;
                fields++;
                if (comma < 0) break;
                line = line[(comma + 1)..];
            }
            if (fields != columns) throw Columns(columns, lineNumber, fields);
            count += fields;
            rows++;
        }
        if (rows == 0) throw new PayloadException($"the CSV payload has no rows; the model expects {input.Describe()}");
        if (count != values.Length) Array.Resize(ref values, count); // blank lines
        var shape = input.Dimensions.Length == 1 && columns == 1 ? new[] { rows } : new[] { rows, columns };
        return new TensorData(input.Type, shape, values);
    }

    internal static TensorData DecodeCsvFields(ReadOnlyMemory<byte> body, ModelInput input)
    {
        // Each row with its line (1-based, blank lines counted, as an editor numbers them).
        var rows = Encoding.UTF8.GetString(body.Span).Split('\n').Select((l, i) => (Line: i + 1, Text: l.TrimEnd('\r'))).Where(r => r.Text.Length > 0)
            .Select(r => (r.Line, Fields: r.Text.Split(','))).ToList();
        if (rows.Count == 0) throw new PayloadException($"the CSV payload has no rows; the model expects {input.Describe()}");
        var columns = rows[0].Fields.Length;
        if (rows.FirstOrDefault(r => r.Fields.Length != columns) is { Fields: not null } ragged) throw Columns(columns, ragged.Line, ragged.Fields.Length);
        var shape = input.Dimensions.Length == 1 && columns == 1 ? new[] { rows.Count } : new[] { rows.Count, columns };
        Array values = input.Type switch
        {
            TensorElementType.Float => ParseFields(rows, input, (string v, out float x) => float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out x)),
            TensorElementType.Double => ParseFields(rows, input, (string v, out double x) => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out x)),
            TensorElementType.Int32 => ParseFields(rows, input, (string v, out int x) => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out x)),
            TensorElementType.Int64 => ParseFields(rows, input, (string v, out long x) => long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out x)),
            TensorElementType.Bool => ParseFields(rows, input, (string v, out bool x) => { x = v is "1" or "true" or "True"; return true; }),
            TensorElementType.String => ParseFields(rows, input, (string v, out string x) => { x = v; return true; }),
            _ => throw new PayloadException($"input '{input.Name}' has element type {input.Type}, which Strata's worker does not take"),
        };
        return new TensorData(input.Type, shape, values);
    }

    delegate bool FieldParser<T>(string field, out T value);

    static T[] ParseFields<T>(List<(int Line, string[] Fields)> rows, ModelInput input, FieldParser<T> parse)
    {
        var values = new T[rows.Count * rows[0].Fields.Length];
        var i = 0;
        foreach (var (line, fields) in rows)
            for (var column = 0; column < fields.Length; column++)
            {
                var field = fields[column].Trim();
                if (!parse(field, out values[i++])) throw NotACsvValue(input, line, column + 1, field);
            }
        return values;
    }

    /// <summary>A CSV field that is not of the input's element type: where it is and what it holds.</summary>
    static PayloadException NotACsvValue(ModelInput input, int line, int column, string field)
        => new($"input '{input.Name}' expects {TensorData.TypeName(input.Type)} values, but line {line}, column {column} of the CSV payload is {PayloadException.Shown(field)}", line: line);

    static PayloadException Columns(int columns, int line, int fields)
        => new($"every CSV row must have {columns} columns, as the first one has, but line {line} has {fields}", line: line);

    /// <summary>One CSV line per record, its outputs' values in order, formatted straight into
    /// UTF-8 bytes from the output arrays (no per-record array, no boxed value, no string).</summary>
    static byte[] EncodeCsv(List<OutputValue> outputs)
    {
        var records = outputs.Min(o => o.Records);
        // Room for every value at its longest (a float as "R" writes it takes at most 15 bytes, a
        // double 24) and its comma, so a large answer seldom grows (and copies) its buffer.
        var perRecord = outputs.Sum(o => o.Tensor is { } t ? t.RecordSize * CsvFieldBytes(t.Values) : o.Maps!.Keys.Length * 16);
        var buffer = new ArrayBufferWriter<byte>((int)Math.Clamp((long)records * (perRecord + 1), 256, 256 << 20));
        var strings = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (var i = 0; i < records; i++)
        {
            var first = true;
            foreach (var output in outputs)
            {
                if (output.Tensor is { } t)
                {
                    var size = t.RecordSize;
                    for (var j = 0; j < size; j++)
                    {
                        if (!first) buffer.Write(","u8);
                        first = false;
                        WriteCsvField(buffer, t.Values, i * size + j, strings);
                    }
                }
                else
                {
                    foreach (var value in output.Maps!.Record(i))
                    {
                        if (!first) buffer.Write(","u8);
                        first = false;
                        WriteUtf8(buffer, value, "R");
                    }
                }
            }
            buffer.Write("\n"u8);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The most bytes a value of this array takes in CSV, with its comma (a string's guessed).</summary>
    static int CsvFieldBytes(Array values) => values switch
    {
        float[] => 16,
        double[] => 25,
        int[] => 12,
        long[] => 21,
        bool[] => 6,
        _ => 16,
    };

    /// <param name="strings">String fields already encoded: a classifier's label column repeats a
    /// few labels, each written as UTF-8 once rather than once a record.</param>
    static void WriteCsvField(ArrayBufferWriter<byte> buffer, Array values, int i, Dictionary<string, byte[]> strings)
    {
        switch (values)
        {
            case string[] text:
                var field = text[i] ?? "";
                if (!strings.TryGetValue(field, out var bytes))
                {
                    bytes = Encoding.UTF8.GetBytes(Field(field));
                    if (strings.Count < 1024) strings[field] = bytes;
                }
                buffer.Write(bytes);
                break;
            case float[] f: WriteUtf8(buffer, f[i], "R"); break;
            case double[] d: WriteUtf8(buffer, d[i], "R"); break;
            case int[] n: WriteUtf8(buffer, n[i], null); break;
            case long[] l: WriteUtf8(buffer, l[i], null); break;
            case bool[] b: buffer.Write(b[i] ? "true"u8 : "false"u8); break;
            default: buffer.Write(Encoding.UTF8.GetBytes(Field(values.GetValue(i)))); break;
        }
    }

    static void WriteUtf8<T>(ArrayBufferWriter<byte> buffer, T value, string? format) where T : IUtf8SpanFormattable
    {
        var span = buffer.GetSpan(32);
        if (!value.TryFormat(span, out var written, format, CultureInfo.InvariantCulture))
            throw new InvalidOperationException($"{value} did not fit 32 bytes");
        buffer.Advance(written);
    }

    static string Field(object? value) => value switch
    {
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        string s when s.Contains(',') || s.Contains('"') || s.Contains('\n') => "\"" + s.Replace("\"", "\"\"") + "\"",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value?.ToString() ?? "",
    };

    // ---- NPY (format version 1.0/2.0, C order) ----

    static TensorData DecodeNpy(ReadOnlyMemory<byte> payload, ModelInput input)
    {
        var body = payload.Span;
        if (body.Length < 10 || body[0] != 0x93 || Encoding.ASCII.GetString(body.Slice(1, 5)) != "NUMPY")
            throw new PayloadException("the body is not a NumPy .npy array");
        var major = body[6];
        int headerLength, offset;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(body[8..]); offset = 10; }
        else { headerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(body[8..]); offset = 12; }
        var header = Encoding.ASCII.GetString(body.Slice(offset, headerLength));
        var descr = HeaderValue(header, "descr").Trim('\'', '"', ' ');
        if (HeaderValue(header, "fortran_order").Trim() == "True") throw new PayloadException("Fortran-ordered .npy arrays are not supported; send C order");
        var shapeText = HeaderValue(header, "shape").Trim().TrimStart('(').TrimEnd(')');
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        var count = shape.Aggregate(1, (a, b) => a * b);
        var data = body[(offset + headerLength)..];
        (var type, var size) = descr switch
        {
            "<f4" => (TensorElementType.Float, 4),
            "<f8" => (TensorElementType.Double, 8),
            "<i4" => (TensorElementType.Int32, 4),
            "<i8" => (TensorElementType.Int64, 8),
            "|b1" => (TensorElementType.Bool, 1),
            _ => throw new PayloadException($"NumPy dtype '{descr}' is not supported; input '{input.Name}' expects {TensorData.TypeName(input.Type)}"),
        };
        if (type != input.Type) throw new PayloadException($"input '{input.Name}' expects {TensorData.TypeName(input.Type)}, but the array is {TensorData.TypeName(type)} ('{descr}')");
        if (data.Length != (long)count * size) throw new PayloadException($"the .npy data holds {data.Length} bytes, not the {count * size} its shape needs");
        Array values = type switch
        {
            TensorElementType.Float => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(data).ToArray(),
            TensorElementType.Double => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(data).ToArray(),
            TensorElementType.Int32 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(data).ToArray(),
            TensorElementType.Int64 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(data).ToArray(),
            _ => data.ToArray().Select(b => b != 0).ToArray(),
        };
        return new TensorData(type, shape, values);
    }

    static string HeaderValue(string header, string key)
    {
        var at = header.IndexOf($"'{key}'", StringComparison.Ordinal);
        if (at < 0) throw new PayloadException($"the .npy header has no '{key}'");
        var start = header.IndexOf(':', at) + 1;
        var end = key == "shape" ? header.IndexOf(')', start) + 1 : header.IndexOf(',', start);
        return header[start..end];
    }

    static byte[] EncodeNpy(List<OutputValue> outputs)
    {
        if (outputs.Count != 1 || outputs[0].Tensor is not { } t)
            throw new PayloadException($"{Npy} carries one tensor, but the model returns {string.Join(", ", outputs.Select(o => o.Name))}; accept application/json", 406);
        var (descr, bytes) = t.Values switch
        {
            float[] f => ("<f4", System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.AsSpan()).ToArray()),
            double[] d => ("<f8", System.Runtime.InteropServices.MemoryMarshal.AsBytes(d.AsSpan()).ToArray()),
            int[] n => ("<i4", System.Runtime.InteropServices.MemoryMarshal.AsBytes(n.AsSpan()).ToArray()),
            long[] l => ("<i8", System.Runtime.InteropServices.MemoryMarshal.AsBytes(l.AsSpan()).ToArray()),
            bool[] b => ("|b1", b.Select(x => (byte)(x ? 1 : 0)).ToArray()),
            _ => throw new PayloadException($"output '{outputs[0].Name}' of strings cannot be sent as {Npy}; accept application/json", 406),
        };
        var shape = t.Shape.Length == 1 ? $"({t.Shape[0]},)" : $"({string.Join(", ", t.Shape)})";
        var header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        // Pad so that the data starts on a 64-byte boundary, newline-terminated, as NumPy writes it.
        var total = 10 + header.Length + 1;
        header += new string(' ', (64 - total % 64) % 64) + "\n";
        var output = new byte[10 + header.Length + bytes.Length];
        output[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY").CopyTo(output, 1);
        output[6] = 1;
        output[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(output.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header).CopyTo(output, 10);
        bytes.CopyTo(output, 10 + header.Length);
        return output;
    }
}
