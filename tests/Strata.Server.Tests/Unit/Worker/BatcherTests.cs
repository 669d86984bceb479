using System.Globalization;
using System.Text;
using Strata.Worker;

namespace Strata.Server.Tests.Unit;

/// <summary>Dynamic batching in the built-in worker: concurrent requests share one run of the model
/// and each gets exactly the records it would have got alone.</summary>
public sealed class BatcherTests : IDisposable
{
    readonly OnnxModel _regression = new(Path.Combine(AppContext.BaseDirectory, "models", "regression", "model.onnx"), 1);

    public void Dispose() => _regression.Dispose();

    IReadOnlyDictionary<string, TensorData> Rows(params int[] firsts)
        => Codecs.Decode("text/csv", Encoding.UTF8.GetBytes(string.Join('\n', firsts.Select(f => string.Create(CultureInfo.InvariantCulture, $"{f},{f + 1},{f * 0.5},{-f}")))), _regression);

    static float[] Values(List<OutputValue> outputs) => [.. outputs.SelectMany(o => (float[])o.Tensor!.Values)];

    [Fact]
    public async Task RequestsThatArriveTogetherShareOneRunAndGetTheirOwnRecords()
    {
        // A long delay: the run begins when the batch is full, so how many runs there are does not depend on timing.
        await using var batcher = new Batcher(_regression, maxRecords: 8, TimeSpan.FromSeconds(30));
        Assert.True(batcher.Batchable);
        var requests = new[] { Rows(1), Rows(2, 3), Rows(4), Rows(5, 6, 7), Rows(8) };
        var answers = await Task.WhenAll(requests.Select(r => Task.Run(() => batcher.RunAsync(r))));
        Assert.Equal(1, batcher.Runs);
        for (var i = 0; i < requests.Length; i++)
        {
            var alone = _regression.Run(requests[i]);
            Assert.Equal(alone.Select(o => (o.Name, o.Records)), answers[i].Select(o => (o.Name, o.Records)));
            Assert.Equal(Values(alone), Values(answers[i]));
        }
    }

    [Fact]
    public async Task ABadRequestIsRefusedAloneAndABigOneRunsAlone()
    {
        await using var batcher = new Batcher(_regression, maxRecords: 4, TimeSpan.FromSeconds(30));
        var bad = new Dictionary<string, TensorData> { ["features"] = new(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, [1, 3], new float[3]) };
        // Refused at once, before it waits: it never fails a batch.
        Assert.IsType<PayloadException>(Record.Exception(() => { _ = batcher.RunAsync(bad); }));
        var big = Rows(1, 2, 3, 4, 5);
        Assert.Equal(Values(_regression.Run(big)), Values(await batcher.RunAsync(big)));
        Assert.Equal(1, batcher.Runs);
    }

    [Fact]
    public async Task TheDelayEndsAWaitForOthers()
    {
        await using var batcher = new Batcher(_regression, maxRecords: 64, TimeSpan.FromMilliseconds(1));
        var one = Rows(3);
        Assert.Equal(Values(_regression.Run(one)), Values(await batcher.RunAsync(one)));
    }
}
