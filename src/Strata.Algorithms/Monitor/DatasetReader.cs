using System.Text;
using System.Text.Json;

namespace Strata.Algorithms.Monitor;

/// <summary>The analyzer's dataset_format, as the SageMaker Python SDK's DatasetFormat writes it:
/// <c>{"csv": {"header": true}}</c> or <c>{"json": {"lines": true}}</c>.</summary>
public sealed record DatasetFormat(bool Csv, bool Header, bool Lines)
{
    const string Example = "set it as the SageMaker Python SDK's DatasetFormat.csv(header=True) or DatasetFormat.json(lines=True) does: {\"csv\": {\"header\": true}} or {\"json\": {\"lines\": true}}";

    public static DatasetFormat Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new ClientError($"the environment variable dataset_format is missing: {Example}");
        JsonElement root;
        try { root = JsonDocument.Parse(text).RootElement; }
        catch (JsonException) { throw new ClientError($"dataset_format is not JSON ({Shorten(text)}): {Example}"); }
        if (root.ValueKind != JsonValueKind.Object || root.EnumerateObject().Count() != 1)
            throw new ClientError($"dataset_format must be an object with one member, csv or json ({Shorten(text)}): {Example}");
        var member = root.EnumerateObject().First();
        var options = member.Value;
        if (options.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
            throw new ClientError($"dataset_format's {member.Name} must be an object of options: {Example}");
        bool Flag(string name, bool fallback)
        {
            if (options.ValueKind != JsonValueKind.Object || !options.TryGetProperty(name, out var v)) return fallback;
            // The SDK writes booleans; a string "true"/"false" is taken too.
            return v.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.String when bool.TryParse(v.GetString(), out var b) => b,
                _ => throw new ClientError($"dataset_format's {member.Name}.{name} must be true or false: {Example}"),
            };
        }
        return member.Name switch
        {
            "csv" => new DatasetFormat(true, Flag("header", false), false),
            "json" => new DatasetFormat(false, false, Flag("lines", true)),
            "sagemakerCaptureJson" => throw new ClientError("dataset_format sagemakerCaptureJson (an endpoint's captured data) is what monitoring executions analyse; a baseline is computed from a CSV or JSON dataset: " + Example),
            "parquet" => throw new ClientError("dataset_format parquet is not supported by Strata's analyzer: give the baseline dataset as CSV or JSON lines, " + Example),
            _ => throw new ClientError($"dataset_format {member.Name} is not a format the analyzer reads: {Example}"),
        };
    }

    static string Shorten(string text) => text.Length > 100 ? text[..100] + "…" : text;
}

/// <summary>
/// The records of a dataset's files, as the analyzer reads them: CSV (RFC 4180 quoting, quoted
/// fields may hold commas, quotes and line breaks; an empty field is missing) with each file's
/// first row as its header, or without a header and the columns named _c0, _c1, … (as Spark names
/// them); JSON lines (one object per line, nested objects flattened to dotted names, an array or
/// a boolean taken as its text) or, with lines false, one JSON array of objects (or one object)
/// per file. Blank lines are skipped. A file that does not parse fails the analysis saying where.
/// Each record is reused for the next: <see cref="DatasetStatistics.Add"/> keeps none.
/// </summary>
public static class DatasetReader
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static IEnumerable<IReadOnlyList<Field>> Read(IReadOnlyList<string> files, DatasetFormat format, Func<string, string> display)
    {
        string[]? firstHeader = null;
        string? firstFile = null;
        foreach (var file in files)
        {
            IEnumerable<IReadOnlyList<Field>> records;
            if (format.Csv)
            {
                records = Csv(file, format.Header, display, header =>
                {
                    // One dataset, one set of columns: every file's header must be the first one's.
                    if (firstHeader is null) { firstHeader = header; firstFile = file; return firstHeader; }
                    if (!header.SequenceEqual(firstHeader))
                        throw new ClientError($"{display(file)} has the header {string.Join(",", header)} but {display(firstFile!)} has {string.Join(",", firstHeader)}: the files of a dataset must have the same columns");
                    return firstHeader;
                });
            }
            else records = format.Lines ? JsonLines(file, display) : JsonDocumentRecords(file, display);
            foreach (var record in records) yield return record;
        }
    }

    static StreamReader Open(string file) => new(file, StrictUtf8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);

    static IEnumerable<IReadOnlyList<Field>> Csv(string file, bool header, Func<string, string> display, Func<string[], string[]> sameHeader)
    {
        using var reader = Open(file);
        var parser = new CsvParser(reader, display(file));
        string[]? names = null;
        var record = new List<Field>();
        var fields = new List<string?>();
        while (parser.Next(fields))
        {
            if (names is null)
            {
                if (header)
                {
                    names = sameHeader([.. fields.Select((f, i) => string.IsNullOrEmpty(f) ? $"_c{i}" : f)]);
                    continue;
                }
                names = sameHeader([.. Enumerable.Range(0, fields.Count).Select(i => $"_c{i}")]);
            }
            if (fields.Count > names.Length)
                throw new ClientError($"line {parser.Line} of {display(file)} has {fields.Count} fields but the dataset has {names.Length} columns ({(header ? "its header" : "its first row")})");
            record.Clear();
            for (var i = 0; i < fields.Count; i++) record.Add(new Field(names[i], fields[i]));
            yield return record;
        }
    }

    static IEnumerable<IReadOnlyList<Field>> JsonLines(string file, Func<string, string> display)
    {
        using var reader = Open(file);
        var record = new List<Field>();
        var number = 0;
        while (ReadLine(reader, file, display) is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument document;
            try { document = JsonDocument.Parse(line); }
            catch (JsonException e) { throw new ClientError($"line {number} of {display(file)} is not JSON ({e.Message}); dataset_format json with lines true wants one JSON object per line"); }
            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                    throw new ClientError($"line {number} of {display(file)} is a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object: each line must be one record, an object of features");
                record.Clear();
                Flatten(document.RootElement, null, record);
            }
            yield return record;
        }
    }

    static string? ReadLine(StreamReader reader, string file, Func<string, string> display)
    {
        try { return reader.ReadLine(); }
        catch (DecoderFallbackException) { throw new ClientError($"{display(file)} is not UTF-8 text"); }
    }

    static IEnumerable<IReadOnlyList<Field>> JsonDocumentRecords(string file, Func<string, string> display)
    {
        JsonDocument document;
        try
        {
            using var stream = File.OpenRead(file);
            document = JsonDocument.Parse(stream);
        }
        catch (JsonException e) { throw new ClientError($"{display(file)} is not a JSON document ({e.Message}); dataset_format json with lines false wants one array of objects per file"); }
        using (document)
        {
            var root = document.RootElement;
            var items = root.ValueKind == JsonValueKind.Array ? [.. root.EnumerateArray()] : new List<JsonElement> { root };
            var record = new List<Field>();
            var index = 0;
            foreach (var item in items)
            {
                if (item.ValueKind != JsonValueKind.Object)
                    throw new ClientError($"item {index} of {display(file)} is a JSON {item.ValueKind.ToString().ToLowerInvariant()}, not an object: each record must be an object of features");
                index++;
                record.Clear();
                Flatten(item, null, record);
                yield return record;
            }
        }
    }

    /// <summary>An object's members as fields: a nested object's members as parent.child; null is
    /// missing; a string is its text, a number its literal, true/false/an array their JSON text.</summary>
    internal static void Flatten(JsonElement element, string? prefix, List<Field> record)
    {
        foreach (var member in element.EnumerateObject())
        {
            var name = prefix is null ? member.Name : prefix + "." + member.Name;
            var value = member.Value;
            switch (value.ValueKind)
            {
                case JsonValueKind.Object: Flatten(value, name, record); break;
                case JsonValueKind.Null: record.Add(new Field(name, null)); break;
                case JsonValueKind.String: record.Add(new Field(name, value.GetString())); break;
                default: record.Add(new Field(name, value.GetRawText())); break;
            }
        }
    }
}

/// <summary>RFC 4180 records from a text reader: fields separated by commas, a field in double
/// quotes may hold commas, line breaks and doubled quotes. An empty field is null (missing).</summary>
sealed class CsvParser(TextReader reader, string name)
{
    readonly StringBuilder _field = new();
    int _line;

    /// <summary>The line the last record started on (1-based).</summary>
    public int Line { get; private set; }

    /// <summary>The next non-blank record into <paramref name="fields"/>; false at the end.</summary>
    public bool Next(List<string?> fields)
    {
        while (true)
        {
            fields.Clear();
            string? line;
            try { line = reader.ReadLine(); }
            catch (DecoderFallbackException) { throw new ClientError($"{name} is not UTF-8 text"); }
            if (line is null) return false;
            _line++;
            Line = _line;
            if (line.Length == 0) continue;
            if (!line.Contains('"'))
            {
                // The common case: no quoting, split in place.
                var start = 0;
                while (true)
                {
                    var comma = line.IndexOf(',', start);
                    var end = comma < 0 ? line.Length : comma;
                    fields.Add(end == start ? null : line[start..end]);
                    if (comma < 0) break;
                    start = comma + 1;
                }
                return true;
            }
            ParseQuoted(line, fields);
            return true;
        }
    }

    void ParseQuoted(string line, List<string?> fields)
    {
        _field.Clear();
        var i = 0;
        var quoted = false;
        var wasQuoted = false;
        while (true)
        {
            if (i == line.Length)
            {
                if (!quoted)
                {
                    fields.Add(_field.Length == 0 ? null : _field.ToString());
                    return;
                }
                // A line break inside quotes belongs to the field.
                string? next;
                try { next = reader.ReadLine(); }
                catch (DecoderFallbackException) { throw new ClientError($"{name} is not UTF-8 text"); }
                if (next is null) throw new ClientError($"{name}: the quoted field that starts on line {Line} is not closed before the end of the file");
                _line++;
                _field.Append('\n');
                line = next;
                i = 0;
                continue;
            }
            var c = line[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < line.Length && line[i + 1] == '"') { _field.Append('"'); i += 2; continue; }
                    quoted = false;
                    i++;
                    if (i < line.Length && line[i] != ',')
                        throw new ClientError($"{name}, line {_line}: a closing quote must end its field (found '{line[i]}' after it)");
                    continue;
                }
                _field.Append(c);
                i++;
                continue;
            }
            if (c == ',')
            {
                fields.Add(_field.Length == 0 ? null : _field.ToString());
                _field.Clear();
                wasQuoted = false;
                i++;
                continue;
            }
            if (c == '"' && _field.Length == 0 && !wasQuoted)
            {
                quoted = true;
                wasQuoted = true;
                i++;
                continue;
            }
            _field.Append(c);
            i++;
        }
    }
}
