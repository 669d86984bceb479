using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Strata.Worker;

/// <summary>An ONNX model loaded in ONNX Runtime, with the description of its inputs the codecs
/// need to shape and type a payload.</summary>
public sealed class OnnxModel : IDisposable
{
    readonly InferenceSession _session;

    /// <param name="cuda">Run on ONNX Runtime's CUDA execution provider (the first GPU CUDA_VISIBLE_DEVICES shows).</param>
    public OnnxModel(string path, int threads, bool cuda = false)
    {
        var options = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        if (cuda)
        {
            // The CPU build (the default) has no CUDA provider at all; the GPU build has one that
            // loads CUDA's libraries only now, and ONNX Runtime's own log line names any it missed.
            if (!OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
                throw new InvalidOperationException("this instance type runs on a GPU, but this Strata is built on ONNX Runtime's CPU build: "
                    + "start it with STRATA_ONNXRUNTIME=gpu ./strata serve for the GPU build, or with --gpu-instances-on-cpu");
            try { options.AppendExecutionProvider_CUDA(0); }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                throw new InvalidOperationException(
                    $"this instance type runs on a GPU, but ONNX Runtime's CUDA execution provider could not be loaded ({e.Message}): "
                    + "it needs NVIDIA's driver, CUDA 13's libcudart, libcublas, libcublasLt and libcurand, and cuDNN 9, where the loader finds them "
                    + "(the instance's log names the library that was missing)");
            }
        }
        // A model whose final ZipMaps are replaced is loaded from memory; any other, from its file.
        var rewritten = Rewritten(path);
        _zipped = rewritten?.Outputs ?? [];
        try { _session = rewritten is { } r ? new InferenceSession(r.Model, options) : new InferenceSession(path, options); }
        catch (OnnxRuntimeException e) when (cuda)
        {
            // Some of CUDA's libraries (cuDNN, cuFFT) are loaded only as the session is made or run.
            throw new InvalidOperationException($"this instance type runs on a GPU, but ONNX Runtime could not make the model's session on it ({e.Message}): "
                + "it needs NVIDIA's driver, CUDA 13's libraries and cuDNN 9 where the loader finds them (the instance's log names the library that was missing)");
        }
        Inputs = _session.InputMetadata.Select(kv => new ModelInput(kv.Key, kv.Value.ElementDataType, kv.Value.Dimensions)).ToList();
        Outputs = _session.OutputMetadata.Keys.ToList();
        OutputsPerRecord = _session.OutputMetadata.All(m => m.Value.OnnxValueType == OnnxValueType.ONNX_TYPE_SEQUENCE || _zipped.ContainsKey(m.Key)
            || m.Value.OnnxValueType == OnnxValueType.ONNX_TYPE_TENSOR && m.Value.Dimensions.Length > 0 && m.Value.Dimensions[0] < 0);
        _inputNames = Inputs.Select(i => i.Name).ToArray();
        _outputNames = [.. Outputs];
    }

    /// <summary>Models above this size are loaded from their file as they are: a ZipMap ends
    /// small classifiers, and a large model read into memory twice (here, then by ONNX Runtime)
    /// would cost more than its maps.</summary>
    const long MaxRewrittenBytes = 256L << 20;

    readonly Dictionary<string, ZipMap.Zipped> _zipped;

    /// <summary>The outputs whose ZipMap the worker replaced (<see cref="ZipMap"/>).</summary>
    internal IReadOnlyCollection<string> ZippedOutputs => _zipped.Keys;

    /// <summary>The model with its ZipMaps replaced; null to load the file as it is (a file that
    /// cannot be read is ONNX Runtime's to report, as it always was).</summary>
    static (byte[] Model, Dictionary<string, ZipMap.Zipped> Outputs)? Rewritten(string path)
    {
        try { return new FileInfo(path).Length <= MaxRewrittenBytes ? ZipMap.Rewrite(File.ReadAllBytes(path)) : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    readonly string[] _inputNames;
    readonly string[] _outputNames;
    readonly RunOptions _runOptions = new();

    public IReadOnlyList<ModelInput> Inputs { get; }
    public IReadOnlyList<string> Outputs { get; }

    /// <summary>Whether every output is declared one record per input record (a free first dimension, or a sequence).</summary>
    public bool OutputsPerRecord { get; }

    /// <summary>Runs the model on a payload's tensors, checked against the model's inputs first.</summary>
    public List<OutputValue> Run(IReadOnlyDictionary<string, TensorData> inputs)
    {
        Check(inputs);

        // OrtValues over the payload's own arrays in, OrtValues out: read through spans, never
        // through the NamedOnnxValue/DisposableNamedOnnxValue wrappers (a dictionary per record).
        var values = new List<OrtValue>(Inputs.Count);
        try
        {
            foreach (var input in Inputs) values.Add(inputs[input.Name].ToOrtValue(input.Name));
            using var results = _session.Run(_runOptions, _inputNames, values, _outputNames);
            var outputs = new List<OutputValue>(_outputNames.Length);
            var index = 0;
            foreach (var value in results)
            {
                var name = _outputNames[index++];
                outputs.Add(value.OnnxType switch
                {
                    OnnxValueType.ONNX_TYPE_TENSOR when _zipped.TryGetValue(name, out var zipped) => new OutputValue(name, null, MapColumns.FromTensor(name, value, zipped)),
                    OnnxValueType.ONNX_TYPE_TENSOR => new OutputValue(name, TensorData.FromOrtValue(name, value), null),
                    OnnxValueType.ONNX_TYPE_SEQUENCE => new OutputValue(name, null, MapColumns.FromSequence(name, value)),
                    var other => throw new PayloadException($"output '{name}' is a {other}, which Strata's worker cannot return", 500),
                });
            }
            return outputs;
        }
        finally
        {
            foreach (var value in values) value.Dispose();
        }
    }

    /// <summary>Refuses (PayloadException) tensors that are not the model's inputs, each of its shape.</summary>
    public void Check(IReadOnlyDictionary<string, TensorData> inputs)
    {
        foreach (var input in Inputs)
        {
            if (!inputs.TryGetValue(input.Name, out var tensor))
                throw new PayloadException($"the payload has no input '{input.Name}'; the model expects {Describe()}");
            input.Check(tensor);
        }
        var extra = inputs.Keys.Except(Inputs.Select(i => i.Name)).ToList();
        if (extra.Count > 0) throw new PayloadException($"the model has no input '{extra[0]}'; it expects {Describe()}");
    }

    public string Describe() => string.Join(", ", Inputs.Select(i => i.Describe()));

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }
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
