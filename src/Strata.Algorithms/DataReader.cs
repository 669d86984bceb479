using System.Globalization;

namespace Strata.Algorithms;

/// <summary>A channel's records as a dense matrix: one label and <see cref="Columns"/> features per
/// row, row-major. A feature that is absent (an empty CSV field) is NaN, which the trainers take as missing.</summary>
public sealed class Dataset(string name, float[] labels, float[] features, int columns)
{
    public string Name { get; } = name;
    public float[] Labels { get; } = labels;
    public float[] Features { get; } = features;
    public int Columns { get; } = columns;
    public int Rows => Labels.Length;

    public ReadOnlySpan<float> Row(int i) => Features.AsSpan(i * Columns, Columns);
}

/// <summary>
/// Reads channels as SageMaker's built-in algorithms do: every regular file under the channel's
/// directory (subdirectories included) in sorted order, as <c>text/csv</c> (no header, the label
/// first) or <c>text/libsvm</c> (<c>label index:value ...</c>). The channels of one job are read
/// together so they share one feature count.
/// </summary>
public static class DataReader
{
    public const string Csv = "text/csv";
    public const string LibSvm = "text/libsvm";

    public static Dictionary<string, Dataset> Read(IEnumerable<Channel> channels, string defaultContentType)
    {
        var raw = channels.Select(c => (Channel: c, Data: ContentType(c, defaultContentType) == Csv ? ReadCsv(c) : ReadLibSvm(c))).ToList();
        // libsvm indices are 0-based when any index 0 appears, else 1-based (so that a model trained
        // on 1-based files takes CSV rows of exactly its features).
        var zeroBased = raw.Any(r => r.Data.Sparse is not null && r.Data.MinIndex == 0);
        var columns = raw.Max(r => r.Data.Sparse is null ? r.Data.Columns : r.Data.MaxIndex + (zeroBased ? 1 : 0));
        var result = new Dictionary<string, Dataset>(StringComparer.Ordinal);
        foreach (var (channel, data) in raw)
        {
            if (data.Labels.Count == 0) throw new ClientError($"Channel '{channel.Name}' has no data: no records in any file under it");
            if (data.Sparse is null)
            {
                if (data.Columns != columns)
                    throw new ClientError($"Channel '{channel.Name}' has {data.Columns} features per row, but another channel has {columns}; every channel must have the same features");
                result[channel.Name] = new Dataset(channel.Name, [.. data.Labels], [.. data.Dense!], columns);
                continue;
            }
            var features = new float[data.Labels.Count * columns];
            for (var row = 0; row < data.Sparse.Count; row++)
                foreach (var (index, value) in data.Sparse[row])
                    features[row * columns + index - (zeroBased ? 0 : 1)] = value;
            result[channel.Name] = new Dataset(channel.Name, [.. data.Labels], features, columns);
        }
        return result;
    }

    static string ContentType(Channel channel, string defaultContentType)
    {
        var type = (channel.ContentType ?? defaultContentType).Split(';')[0].Trim().ToLowerInvariant();
        return type switch
        {
            "text/csv" or "csv" => Csv,
            "text/libsvm" or "text/x-libsvm" or "libsvm" => LibSvm,
            _ => throw new ClientError($"Channel '{channel.Name}': content type '{channel.ContentType}' is not supported; use text/csv or text/libsvm"),
        };
    }

    /// <summary>The channel's regular files, all levels down, in ordinal order of their relative path.</summary>
    static List<(string Path, string Relative)> Files(Channel channel)
    {
        if (!Directory.Exists(channel.Directory)) throw new ClientError($"Channel '{channel.Name}': its directory {channel.Directory} does not exist");
        return Directory.EnumerateFiles(channel.Directory, "*", SearchOption.AllDirectories)
            .Select(p => (Path: p, Relative: Path.GetRelativePath(channel.Directory, p)))
            .OrderBy(f => f.Relative, StringComparer.Ordinal)
            .ToList();
    }

    sealed class RawData
    {
        public List<float> Labels { get; } = [];
        public List<float>? Dense { get; init; }
        public List<List<(int Index, float Value)>>? Sparse { get; init; }
        public int Columns { get; set; } = -1;
        public int MinIndex { get; set; } = int.MaxValue;
        public int MaxIndex { get; set; } = -1;
    }

    static RawData ReadCsv(Channel channel)
    {
        var data = new RawData { Dense = [] };
        foreach (var (path, relative) in Files(channel))
        {
            using var reader = new StreamReader(path);
            var lineNumber = 0;
            while (reader.ReadLine() is { } text)
            {
                lineNumber++;
                var line = text.AsSpan().Trim();
                if (line.IsEmpty) continue;
                var fields = 0;
                foreach (var range in line.Split(','))
                {
                    var field = line[range].Trim();
                    float value;
                    if (field.IsEmpty && fields > 0) value = float.NaN;
                    else if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out value) || (fields == 0 && float.IsNaN(value)))
                        throw new ClientError(fields == 0
                            ? $"Unable to read data channel '{channel.Name}' as text/csv: file '{relative}', line {lineNumber}: the label '{field}' is not a number (CSV has no header; the label is the first column)"
                            : $"Unable to read data channel '{channel.Name}' as text/csv: file '{relative}', line {lineNumber}, column {fields + 1}: '{field}' is not a number");
                    if (fields == 0) data.Labels.Add(value);
                    else data.Dense!.Add(value);
                    fields++;
                }
                if (data.Columns < 0) data.Columns = fields - 1;
                else if (fields - 1 != data.Columns)
                    throw new ClientError($"Unable to read data channel '{channel.Name}' as text/csv: file '{relative}', line {lineNumber} has {fields} columns, earlier rows have {data.Columns + 1}");
            }
        }
        return data;
    }

    static RawData ReadLibSvm(Channel channel)
    {
        var data = new RawData { Sparse = [] };
        foreach (var (path, relative) in Files(channel))
        {
            using var reader = new StreamReader(path);
            var lineNumber = 0;
            while (reader.ReadLine() is { } text)
            {
                lineNumber++;
                var line = text.AsSpan();
                var comment = line.IndexOf('#');
                if (comment >= 0) line = line[..comment];
                line = line.Trim();
                if (line.IsEmpty) continue;
                var entries = new List<(int, float)>();
                var first = true;
                foreach (var range in line.SplitAny(' ', '\t'))
                {
                    var token = line[range];
                    if (token.IsEmpty) continue;
                    if (first)
                    {
                        // "label" or XGBoost's "label:weight"; the weight is not used.
                        var labelText = token.IndexOf(':') is var c and >= 0 ? token[..c] : token;
                        if (!float.TryParse(labelText, NumberStyles.Float, CultureInfo.InvariantCulture, out var label) || float.IsNaN(label))
                            throw new ClientError($"Unable to read data channel '{channel.Name}' as text/libsvm: file '{relative}', line {lineNumber}: the label '{token}' is not a number");
                        data.Labels.Add(label);
                        first = false;
                        continue;
                    }
                    var colon = token.IndexOf(':');
                    if (colon > 0 && token[..colon].SequenceEqual("qid")) continue;
                    if (colon <= 0
                        || !int.TryParse(token[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                        || !float.TryParse(token[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                        throw new ClientError($"Unable to read data channel '{channel.Name}' as text/libsvm: file '{relative}', line {lineNumber}: '{token}' is not index:value");
                    if (index > 1_000_000) throw new ClientError($"Unable to read data channel '{channel.Name}' as text/libsvm: file '{relative}', line {lineNumber}: feature index {index} is too large (at most 1000000)");
                    data.MinIndex = Math.Min(data.MinIndex, index);
                    data.MaxIndex = Math.Max(data.MaxIndex, index);
                    entries.Add((index, value));
                }
                data.Sparse!.Add(entries);
            }
        }
        return data;
    }
}
