using Microsoft.ML.OnnxRuntime;
using Strata.Worker;

namespace Strata.Server.Tests.Unit;

/// <summary>A ZipMap the worker replaces (<see cref="ZipMap"/>) answers what ONNX Runtime's own
/// ZipMap answers: the same keys in the same order, the same floats to the bit.</summary>
public sealed class ZipMapTests
{
    static string Model(string name) => Path.Combine(AppContext.BaseDirectory, "models", name, "model.onnx");

    static readonly float[] Rows =
    [
        5.1f, 3.5f, 1.4f, 0.2f,
        6.7f, 3.0f, 5.2f, 2.3f,
        5.9f, 3.0f, 4.2f, 1.5f,
        0f, 0f, 0f, 0f,
        -1e30f, 1e30f, 3.4e38f, -7.25f,
    ];

    [Theory]
    [InlineData("classifier", new[] { "probabilities" })]
    [InlineData("zipmaps", new[] { "by_id", "by_name" })]
    public void TheTensorZippedByTheWorkerIsWhatOnnxRuntimesZipMapAnswers(string name, string[] zipped)
    {
        // The rewrite happens (else this test would compare ONNX Runtime's ZipMap with itself).
        var rewrite = ZipMap.Rewrite(File.ReadAllBytes(Model(name)));
        Assert.NotNull(rewrite);
        Assert.Equal(zipped, rewrite.Value.Outputs.Keys.Order(StringComparer.Ordinal));

        using var model = new OnnxModel(Model(name), 1);
        Assert.Equal(zipped, model.ZippedOutputs.Order(StringComparer.Ordinal)); // and the worker loads it so
        var features = new TensorData(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, [Rows.Length / 4, 4], Rows);
        var ours = model.Run(new Dictionary<string, TensorData> { ["features"] = features });

        using var session = new InferenceSession(Model(name));
        using var input = features.ToOrtValue("features");
        var names = session.OutputMetadata.Keys.ToArray();
        using var theirs = session.Run(new RunOptions(), ["features"], [input], names);
        for (var i = 0; i < names.Length; i++)
        {
            var output = ours.Single(o => o.Name == names[i]);
            if (theirs[i].OnnxType == OnnxValueType.ONNX_TYPE_SEQUENCE)
            {
                var maps = MapColumns.FromSequence(names[i], theirs[i]);
                Assert.Equal(maps.Keys, output.Maps!.Keys);
                Assert.Equal(maps.Values.Select(BitConverter.SingleToInt32Bits), output.Maps.Values.Select(BitConverter.SingleToInt32Bits));
                Assert.Equal(Rows.Length / 4, output.Records);
            }
            else Assert.Equal(TensorData.FromOrtValue(names[i], theirs[i]).Values, output.Tensor!.Values);
        }
        Assert.True(model.OutputsPerRecord);
    }

    [Theory]
    [InlineData("zipmap_repeated")]
    [InlineData("zipmap_ml_only")]
    public void AZipMapLeftToOnnxRuntimeStillAnswersItsMaps(string name)
    {
        using var model = new OnnxModel(Model(name), 1);
        Assert.Empty(model.ZippedOutputs);
        var features = new TensorData(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, [2, 4], Rows[..8]);
        var maps = model.Run(new Dictionary<string, TensorData> { ["features"] = features }).Single(o => o.Name == "maps").Maps!;
        Assert.Equal(name == "zipmap_repeated" ? ["a", "b"] : ["a", "b", "c"], maps.Keys);
        Assert.Equal(2, maps.Records);
    }

    [Fact]
    public void KeysAreListedAsOnnxRuntimesMapsListThem()
    {
        var outputs = ZipMap.Rewrite(File.ReadAllBytes(Model("zipmaps")))!.Value.Outputs;
        // int64 labels [7, -3, 10] by value; string labels by their UTF-8 bytes: "b" (62),
        // U+FF21 (EF BC A1), U+1F600 (F0 9F 98 80); UTF-16's order would put U+1F600 (D83D) second.
        Assert.Equal(["-3", "7", "10"], outputs["by_id"].Keys);
        Assert.Equal([1, 0, 2], outputs["by_id"].Columns);
        Assert.Equal(["b", "\uFF21", "\U0001F600"], outputs["by_name"].Keys);
        Assert.Equal([2, 0, 1], outputs["by_name"].Columns);
    }

    [Fact]
    public void ModelsWithoutAFinalZipMapAreLeftAsTheyAre()
    {
        Assert.Null(ZipMap.Rewrite(File.ReadAllBytes(Model("regression"))));
        Assert.Null(ZipMap.Rewrite(File.ReadAllBytes(Model("typed"))));
        // A ZipMap with a repeated label, and one where Identity is not imported.
        Assert.Null(ZipMap.Rewrite(File.ReadAllBytes(Model("zipmap_repeated"))));
        Assert.Null(ZipMap.Rewrite(File.ReadAllBytes(Model("zipmap_ml_only"))));
        var classifier = File.ReadAllBytes(Model("classifier"));
        // Cut short, the model is ONNX Runtime's to refuse, not the rewrite's.
        Assert.Null(ZipMap.Rewrite(classifier.AsSpan(0, classifier.Length - 3)));
        Assert.Null(ZipMap.Rewrite([0x0a, 0xff]));
    }
}
