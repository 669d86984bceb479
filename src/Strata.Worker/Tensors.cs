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

    public NamedOnnxValue ToOnnx(string name) => Type switch
    {
        TensorElementType.Float => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>((float[])Values, Shape)),
        TensorElementType.Double => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<double>((double[])Values, Shape)),
        TensorElementType.Int32 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>((int[])Values, Shape)),
        TensorElementType.Int64 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>((long[])Values, Shape)),
        TensorElementType.Bool => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<bool>((bool[])Values, Shape)),
        TensorElementType.String => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<string>((string[])Values, Shape)),
        _ => throw new PayloadException($"input '{name}' has element type {Type}, which Strata's worker does not take"),
    };

    public static TensorData FromOnnx(DisposableNamedOnnxValue value) => value.ElementType switch
    {
        TensorElementType.Float => From(value.AsTensor<float>(), TensorElementType.Float),
        TensorElementType.Double => From(value.AsTensor<double>(), TensorElementType.Double),
        TensorElementType.Int32 => From(value.AsTensor<int>(), TensorElementType.Int32),
        TensorElementType.Int64 => From(value.AsTensor<long>(), TensorElementType.Int64),
        TensorElementType.Bool => From(value.AsTensor<bool>(), TensorElementType.Bool),
        TensorElementType.String => From(value.AsTensor<string>(), TensorElementType.String),
        _ => throw new PayloadException($"output '{value.Name}' has element type {value.ElementType}, which Strata's worker cannot return"),
    };

    static TensorData From<T>(Tensor<T> tensor, TensorElementType type) => new(type, tensor.Dimensions.ToArray(), tensor.ToArray());

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
public sealed record OutputValue(string Name, TensorData? Tensor, List<List<KeyValuePair<string, object>>>? Maps)
{
    public int Records => Tensor?.Records ?? Maps!.Count;
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
