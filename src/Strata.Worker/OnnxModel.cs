using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Strata.Worker;

/// <summary>An ONNX model loaded in ONNX Runtime, with the description of its inputs the codecs
/// need to shape and type a payload.</summary>
public sealed class OnnxModel : IDisposable
{
    readonly InferenceSession _session;

    public OnnxModel(string path, int threads)
    {
        var options = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(path, options);
        Inputs = _session.InputMetadata.Select(kv => new ModelInput(kv.Key, kv.Value.ElementDataType, kv.Value.Dimensions)).ToList();
        Outputs = _session.OutputMetadata.Keys.ToList();
    }

    public IReadOnlyList<ModelInput> Inputs { get; }
    public IReadOnlyList<string> Outputs { get; }

    public List<OutputValue> Run(IReadOnlyDictionary<string, TensorData> inputs)
    {
        foreach (var input in Inputs)
        {
            if (!inputs.TryGetValue(input.Name, out var tensor))
                throw new PayloadException($"the payload has no input '{input.Name}'; the model expects {Describe()}");
            input.Check(tensor);
        }
        var extra = inputs.Keys.Except(Inputs.Select(i => i.Name)).ToList();
        if (extra.Count > 0) throw new PayloadException($"the model has no input '{extra[0]}'; it expects {Describe()}");

        using var results = _session.Run(Inputs.Select(i => inputs[i.Name].ToOnnx(i.Name)).ToList());
        var outputs = new List<OutputValue>();
        foreach (var value in results)
        {
            if (value.ValueType == OnnxValueType.ONNX_TYPE_TENSOR)
            {
                outputs.Add(new OutputValue(value.Name, TensorData.FromOnnx(value), null));
            }
            else if (value.ValueType == OnnxValueType.ONNX_TYPE_SEQUENCE)
            {
                var maps = new List<List<KeyValuePair<string, object>>>();
                foreach (var item in value.AsEnumerable<DisposableNamedOnnxValue>())
                    maps.Add(MapEntries(item));
                outputs.Add(new OutputValue(value.Name, null, maps));
            }
            else throw new PayloadException($"output '{value.Name}' is a {value.ValueType}, which Strata's worker cannot return", 500);
        }
        return outputs;
    }

    static List<KeyValuePair<string, object>> MapEntries(DisposableNamedOnnxValue item)
    {
        // ZipMap produces map(string, float) or map(int64, float).
        try
        {
            return item.AsDictionary<string, float>().Select(kv => new KeyValuePair<string, object>(kv.Key, kv.Value)).ToList();
        }
        catch (Exception e) when (e is OnnxRuntimeException or InvalidCastException or NotSupportedException)
        {
            return item.AsDictionary<long, float>().Select(kv => new KeyValuePair<string, object>(kv.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), kv.Value)).ToList();
        }
    }

    public string Describe() => string.Join(", ", Inputs.Select(i => i.Describe()));

    public void Dispose() => _session.Dispose();
}

/// <summary>An input as the model declares it: name, element type and dimensions (-1: any).</summary>
public sealed record ModelInput(string Name, TensorElementType Type, int[] Dimensions)
{
    public string Describe() => $"'{Name}' of shape [{string.Join(",", Dimensions.Select(d => d < 0 ? "N" : d.ToString()))}] and type {TensorData.TypeName(Type)}";

    public void Check(TensorData tensor)
    {
        var fits = tensor.Shape.Length == Dimensions.Length
            && tensor.Shape.Zip(Dimensions).All(p => p.Second < 0 || p.First == p.Second);
        if (!fits)
            throw new PayloadException($"input '{Name}' expects shape [{string.Join(",", Dimensions.Select(d => d < 0 ? "N" : d.ToString()))}] of type {TensorData.TypeName(Type)}, but the payload has shape [{string.Join(",", tensor.Shape)}]");
    }
}
