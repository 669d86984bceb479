using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Strata.Worker;

/// <summary>
/// The built-in worker's share of a batch transform mini-batch, phase by phase: 300 000 CSV rows
/// through the small classifier (decode, run, encode), against the in-process floor's own parsing
/// and formatting of the same rows (a string per line, split, float.Parse; each probability
/// formatted straight into bytes).
///   dotnet run -c Release --project bench/Strata.Bench -- --filter '*WorkerCodecBenchmarks*' --buildTimeout 600
/// </summary>
[MemoryDiagnoser]
public class WorkerCodecBenchmarks
{
    const int Rows = 300_000;
    byte[] _csv = [];
    string[] _lines = [];
    OnnxModel _model = null!;
    Dictionary<string, TensorData> _inputs = [];
    List<OutputValue> _outputs = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        var csv = new StringBuilder();
        for (var i = 0; i < Rows; i++)
            csv.Append(CultureInfo.InvariantCulture, $"{4 + random.NextDouble() * 4:F2},{2 + random.NextDouble() * 2:F2},{1 + random.NextDouble() * 5:F2},{random.NextDouble() * 2.5:F2}\n");
        _csv = Encoding.ASCII.GetBytes(csv.ToString());
        _lines = csv.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        _model = new OnnxModel(Path.Combine(InvokeLoad.FindRoot(), "models", "classifier", "model.onnx"), 1);
        _inputs = Codecs.Decode(Codecs.Csv, _csv, _model);
        _outputs = _model.Run(_inputs);
    }

    [GlobalCleanup]
    public void Cleanup() => _model.Dispose();

    [Benchmark(Baseline = true, Description = "the floor's parse and format of the same rows")]
    public int Floor()
    {
        var values = new float[Rows * 4];
        var n = 0;
        foreach (var line in _lines)
            foreach (var field in line.Split(','))
                values[n++] = float.Parse(field, CultureInfo.InvariantCulture);
        using var output = new MemoryStream();
        var line8 = new byte[64];
        var probabilities = _outputs.Single(o => o.Maps is not null).Maps!;
        for (var i = 0; i < Rows; i++)
        {
            var length = 0;
            foreach (var p in probabilities.Record(i))
            {
                if (length > 0) line8[length++] = (byte)',';
                p.TryFormat(line8.AsSpan(length), out var written, "R", CultureInfo.InvariantCulture);
                length += written;
            }
            line8[length++] = (byte)'\n';
            output.Write(line8, 0, length);
        }
        return (int)output.Length + n;
    }

    [Benchmark(Description = "decode the CSV payload")]
    public int Decode() => Codecs.Decode(Codecs.Csv, _csv, _model).Count;

    [Benchmark(Description = "run the model (ZipMap replaced)")]
    public int Run() => _model.Run(_inputs).Count;

    [Benchmark(Description = "encode the answer as CSV")]
    public int Encode() => Codecs.Encode(Codecs.Csv, _outputs).Length;
}
