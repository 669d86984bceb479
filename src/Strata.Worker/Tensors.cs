using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Strata.Worker;

/// <summary>A dense tensor as the codecs see it: element type, shape and a flat typed array
/// (float[], double[], int[], long[], bool[] or string[]).</summary>
public sealed record TensorData(TensorElementType Type, int[] Shape, Array Values)
{
    public int Records => Shape.Length == 0 ? 1 : Shape[0];

    /// <summary>The elements of record <paramref name="i"/> (a slice along the first dimension).</summary>
    public TensorData Record(int i)
    {
        var inner = Shape.Length == 0 ? [] : Shape[1..];
        var size = inner.Aggregate(1, (a, b) => a * b);
        var slice = Array.CreateInstance(Values.GetType().GetElementType()!, size);
        Array.Copy(Values, i * size, slice, 0, size);
        return new TensorData(Type, inner, slice);
    }

    /// <summary>Records <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> (along the first dimension).</summary>
    public TensorData Slice(int start, int count)
    {
        var size = RecordSize;
        var slice = Array.CreateInstance(Values.GetType().GetElementType()!, count * size);
        Array.Copy(Values, start * size, slice, 0, count * size);
        return new TensorData(Type, [count, .. Shape[1..]], slice);
    }

    /// <summary>Tensors of one type and one record shape, stacked along the first dimension (a dynamic batch).</summary>
    public static TensorData Concatenate(IReadOnlyList<TensorData> parts)
    {
        var first = parts[0];
        var records = parts.Sum(p => p.Records);
        var all = Array.CreateInstance(first.Values.GetType().GetElementType()!, records * first.RecordSize);
        var at = 0;
        foreach (var p in parts)
        {
            Array.Copy(p.Values, 0, all, at, p.Values.Length);
            at += p.Values.Length;
        }
        return new TensorData(first.Type, [records, .. first.Shape[1..]], all);
    }

    /// <summary>The number of elements in one record.</summary>
    public int RecordSize => Shape.Length == 0 ? 1 : Shape.AsSpan(1).ToArray().Aggregate(1, (a, b) => a * b);

    /// <summary>An ONNX Runtime value over this tensor's own array (pinned, not copied); the caller disposes it after the run.</summary>
    public OrtValue ToOrtValue(string name)
    {
        var shape = Array.ConvertAll(Shape, d => (long)d);
        return Type switch
        {
            TensorElementType.Float => OrtValue.CreateTensorValueFromMemory((float[])Values, shape),
            TensorElementType.Double => OrtValue.CreateTensorValueFromMemory((double[])Values, shape),
            TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory((int[])Values, shape),
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory((long[])Values, shape),
            TensorElementType.Bool => OrtValue.CreateTensorValueFromMemory((bool[])Values, shape),
            TensorElementType.String => OrtValue.CreateFromStringTensor(new DenseTensor<string>((string[])Values, Shape)),
            _ => throw new PayloadException($"input '{name}' has element type {Type}, which Strata's worker does not take"),
        };
    }

    /// <summary>A tensor output, copied once from ONNX Runtime's buffer into a managed array.</summary>
    public static TensorData FromOrtValue(string name, OrtValue value)
    {
        var info = value.GetTensorTypeAndShape();
        var shape = Array.ConvertAll(info.Shape, d => checked((int)d));
        return info.ElementDataType switch
        {
            TensorElementType.Float => new(TensorElementType.Float, shape, value.GetTensorDataAsSpan<float>().ToArray()),
            TensorElementType.Double => new(TensorElementType.Double, shape, value.GetTensorDataAsSpan<double>().ToArray()),
            TensorElementType.Int32 => new(TensorElementType.Int32, shape, value.GetTensorDataAsSpan<int>().ToArray()),
            TensorElementType.Int64 => new(TensorElementType.Int64, shape, value.GetTensorDataAsSpan<long>().ToArray()),
            TensorElementType.Bool => new(TensorElementType.Bool, shape, value.GetTensorDataAsSpan<bool>().ToArray()),
            TensorElementType.String => new(TensorElementType.String, shape, value.GetStringTensorAsArray()),
            var other => throw new PayloadException($"output '{name}' has element type {other}, which Strata's worker cannot return", 500),
        };
    }

    public static string TypeName(TensorElementType type) => type switch
    {
        TensorElementType.Float => "float",
        TensorElementType.Double => "double",
        TensorElementType.Int32 => "int32",
        TensorElementType.Int64 => "int64",
        TensorElementType.Bool => "bool",
        TensorElementType.String => "string",
        _ => type.ToString().ToLowerInvariant(),
    };
}

/// <summary>One output of a run: a tensor, or (ONNX-ML classifiers) one map per record.</summary>
public sealed record OutputValue(string Name, TensorData? Tensor, MapColumns? Maps)
{
    public int Records => Tensor?.Records ?? Maps!.Records;

    /// <summary>The output of records <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/>.</summary>
    public OutputValue Slice(int start, int count) => this with
    {
        Tensor = Tensor?.Slice(start, count),
        Maps = Maps is null ? null : new MapColumns(Maps.Keys, Maps.Values.AsSpan(start * Maps.Keys.Length, count * Maps.Keys.Length).ToArray()),
    };
}

/// <summary>
/// An ONNX-ML classifier's ZipMap output (a sequence of one map per record, class label →
/// probability) held as columns: the labels once, the probabilities record after record. Every
/// map of a ZipMap has the same labels in the same order (the operator's class labels), so only
/// the first map's keys are read; the others' values are copied straight from ONNX Runtime's
/// buffers. Turning each map into a .NET dictionary cost ~2.3 s per 300 000 records.
/// </summary>
public sealed record MapColumns(string[] Keys, float[] Values)
{
    public int Records => Keys.Length == 0 ? 0 : Values.Length / Keys.Length;

    public ReadOnlySpan<float> Record(int i) => Values.AsSpan(i * Keys.Length, Keys.Length);

    /// <summary>The maps a ZipMap would have made of <paramref name="tensor"/>, its input, read
    /// straight from the tensor (<see cref="ZipMap"/>). Shapes are checked as ONNX Runtime's ZipMap
    /// checks them: [classes] for one record, or [records, classes].</summary>
    public static MapColumns FromTensor(string name, OrtValue tensor, ZipMap.Zipped zipped)
    {
        var info = tensor.GetTensorTypeAndShape();
        var shape = info.Shape;
        var classes = zipped.Columns.Length;
        if (info.ElementDataType != TensorElementType.Float || shape.Length is not (1 or 2) || shape[^1] != classes)
            throw new PayloadException($"output '{name}': its ZipMap's input is a {TensorData.TypeName(info.ElementDataType)} tensor of shape [{string.Join(",", shape)}] where it zips {classes} class labels", 500);
        var data = tensor.GetTensorDataAsSpan<float>();
        var values = new float[data.Length];
        if (zipped.Columns.AsSpan().SequenceEqual(Identity(classes))) data.CopyTo(values);
        else
        {
            for (var row = 0; row < data.Length; row += classes)
                for (var k = 0; k < classes; k++) values[row + k] = data[row + zipped.Columns[k]];
        }
        return new MapColumns(zipped.Keys, values);
    }

    static int[] Identity(int n) => Enumerable.Range(0, n).ToArray();

    public static MapColumns FromSequence(string name, OrtValue sequence)
    {
        var allocator = OrtAllocator.DefaultInstance;
        var records = sequence.GetValueCount();
        string[]? keys = null;
        float[] values = [];
        for (var i = 0; i < records; i++)
        {
            using var map = sequence.GetValue(i, allocator);
            if (map.OnnxType != OnnxValueType.ONNX_TYPE_MAP)
                throw new PayloadException($"output '{name}' is a sequence of {map.OnnxType}, which Strata's worker cannot return", 500);
            using var mapValues = map.GetValue(1, allocator);
            if (keys is null)
            {
                using var mapKeys = map.GetValue(0, allocator);
                keys = mapKeys.GetTensorTypeAndShape().ElementDataType switch
                {
                    TensorElementType.String => mapKeys.GetStringTensorAsArray(),
                    TensorElementType.Int64 => Array.ConvertAll(mapKeys.GetTensorDataAsSpan<long>().ToArray(), k => k.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    var other => throw new PayloadException($"output '{name}' is a map keyed by {other}, which Strata's worker cannot return", 500),
                };
                if (mapValues.GetTensorTypeAndShape().ElementDataType != TensorElementType.Float)
                    throw new PayloadException($"output '{name}' is a map of {mapValues.GetTensorTypeAndShape().ElementDataType} values, which Strata's worker cannot return", 500);
                values = new float[records * keys.Length];
            }
            var row = mapValues.GetTensorDataAsSpan<float>();
            if (row.Length != keys.Length)
                throw new PayloadException($"output '{name}': map {i + 1} has {row.Length} entries where the first has {keys.Length}", 500);
            row.CopyTo(values.AsSpan(i * keys.Length));
        }
        return new MapColumns(keys ?? [], values);
    }
}

/// <summary>A payload the model cannot take: answered 400 with a message naming what the model
/// expected (the router reports it to the caller as SageMaker's ModelError), and, where the fault
/// is on one line of a line-oriented payload (CSV, JSON Lines), that line.</summary>
public sealed class PayloadException(string message, int status = 400, int? line = null) : Exception(message)
{
    public int Status { get; } = status;

    /// <summary>The 1-based line of the payload at fault, counting blank lines (as an editor
    /// numbers them); null when the payload is not line-oriented or no one line is.</summary>
    public int? Line { get; } = line;

    /// <summary>The response header that carries <see cref="Line"/>: batch transform maps it to the
    /// line and record of the input object the mini-batch was cut from.</summary>
    public const string LineHeader = "X-Strata-Payload-Line";

    /// <summary>A value from the payload, as a message shows it: quoted, control characters
    /// escaped, cut after <paramref name="max"/> characters (a field may be a whole document).
    /// <paramref name="json"/>: the value is JSON text, shown as it is written (a string keeps
    /// its own quotes).</summary>
    public static string Shown(string value, bool json = false, int max = 40)
    {
        var cut = value.Length > max;
        var text = new System.Text.StringBuilder(json ? "" : "\"");
        foreach (var c in cut ? value[..max] : value)
        {
            if (!json && (c == '"' || c == '\\')) text.Append('\\').Append(c);
            else if (c < ' ') text.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ => $"\\u{(int)c:x4}" });
            else text.Append(c);
        }
        return text.Append(cut ? "…" : "").Append(json ? "" : "\"").ToString();
    }
}
