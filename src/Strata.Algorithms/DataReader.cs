using System.Globalization;

namespace Strata.Algorithms;

/// <summary>A channel's records as a dense matrix: one label and <see cref="Columns"/> features per
/// row, row-major. A feature that is absent (an empty CSV field, an index a libsvm row does not
/// list) is NaN: missing, which XGBoost takes as missing and the other algorithms refuse. <see cref="Labeled"/> is
/// false for CSV declared <c>label_size=0</c> (unsupervised data); its labels are then 0.</summary>
public sealed class Dataset(string name, float[] labels, float[] features, int columns, bool labeled = true)
{
    public string Name { get; } = name;
    public float[] Labels { get; } = labels;
    public float[] Features { get; } = features;
    public int Columns { get; } = columns;
    public bool Labeled { get; } = labeled;
    public int Rows => Labels.Length;

    public ReadOnlySpan<float> Row(int i) => Features.AsSpan(i * Columns, Columns);
}

/// <summary>
/// Reads channels as SageMaker's built-in algorithms do: every regular file under the channel's
/// directory (subdirectories included) in sorted order, as <c>text/csv</c> (no header, the label
/// first; <c>text/csv;label_size=0</c> for rows of features only, as AWS's unsupervised algorithms
/// take them) or <c>text/libsvm</c> (<c>label index:value ...</c>). The channels of one job are read
/// together so they share one feature count.
/// </summary>
public static class DataReader
{
    public const string Csv = "text/csv";
    public const string LibSvm = "text/libsvm";

    public static Dictionary<string, Dataset> Read(IEnumerable<Channel> channels, string defaultContentType)
    {
        var raw = channels.Select(c => (Channel: c, Data: ContentType(c, defaultContentType) is (Csv, var labelSize) ? ReadCsv(c, labelSize) : ReadLibSvm(c))).ToList();
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
                result[channel.Name] = new Dataset(channel.Name, [.. data.Labels], [.. data.Dense!], columns, data.Labeled);
                continue;
            }
            // An index a row does not list is missing (NaN), not 0: XGBoost reads libsvm as a sparse
            // matrix whose absent entries are missing values.
            var features = new float[data.Labels.Count * columns];
            Array.Fill(features, float.NaN);
            for (var row = 0; row < data.Sparse.Count; row++)
                foreach (var (index, value) in data.Sparse[row])
                    features[row * columns + index - (zeroBased ? 0 : 1)] = value;
            result[channel.Name] = new Dataset(channel.Name, [.. data.Labels], features, columns);
        }
        return result;
    }

    /// <summary>The channel's format, and for CSV how many label columns lead each row (SageMaker's
    /// <c>label_size</c> parameter: 1 unless the content type says 0).</summary>
    static (string Type, int LabelSize) ContentType(Channel channel, string defaultContentType)
    {
        var parts = (channel.ContentType ?? defaultContentType).Split(';');
        var type = parts[0].Trim().ToLowerInvariant() switch
        {
            "text/csv" or "csv" => Csv,
            "text/libsvm" or "text/x-libsvm" or "libsvm" => LibSvm,
            _ => throw new ClientError($"Channel '{channel.Name}': content type '{channel.ContentType}' is not supported; use text/csv or text/libsvm"),
        };
        var labelSize = 1;
        foreach (var parameter in parts.Skip(1))
        {
            var (key, value) = parameter.Split('=', 2) is [var k, var v] ? (k.Trim().ToLowerInvariant(), v.Trim()) : (parameter.Trim().ToLowerInvariant(), "");
            if (key != "label_size") continue;
            labelSize = type == Csv && value is "0" or "1" ? value[0] - '0'
                : throw new ClientError($"Channel '{channel.Name}': content type '{channel.ContentType}': label_size must be 0 (no label column) or 1 (the label first), for text/csv");
        }
        return (type, labelSize);
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
        public bool Labeled { get; init; } = true;
        public List<float>? Dense { get; init; }
        public List<List<(int Index, float Value)>>? Sparse { get; init; }
        public int Columns { get; set; } = -1;
        public int MinIndex { get; set; } = int.MaxValue;
        public int MaxIndex { get; set; } = -1;
    }

    static RawData ReadCsv(Channel channel, int labelSize)
    {
        var data = new RawData { Dense = [], Labeled = labelSize == 1 };
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
                    var isLabel = fields < labelSize;
                    float value;
                    if (field.IsEmpty && !isLabel) value = float.NaN;
                    else if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out value) || (isLabel && float.IsNaN(value)))
                        throw new ClientError(isLabel
                            ? $"Unable to read data channel '{channel.Name}' as text/csv: file '{relative}', line {lineNumber}: the label '{field}' is not a number (CSV has no header; the label is the first column, unless the content type is text/csv;label_size=0)"
                            : $"Unable to read data channel '{channel.Name}' as text/csv: file '{relative}', line {lineNumber}, column {fields + 1}: '{field}' is not a number");
                    if (isLabel) data.Labels.Add(value);
                    else data.Dense!.Add(value);
                    fields++;
                }
                if (labelSize == 0) data.Labels.Add(0);
                if (data.Columns < 0) data.Columns = fields - labelSize;
                else if (fields - labelSize != data.Columns)
                    throw new ClientError($"Unable to read data channel '{channel.Name}' as text/csv: file '{relative}', line {lineNumber} has {fields} columns, earlier rows have {data.Columns + labelSize}");
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
