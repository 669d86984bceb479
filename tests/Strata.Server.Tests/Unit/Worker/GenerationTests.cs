using System.Text;
using System.Text.Json;
using Strata.Worker;

namespace Strata.Server.Tests.Unit;

/// <summary>Greedy generation on models/counter_lm, whose next token is (last + 1) mod 16 with
/// log-probability log(e^8 / (e^8 + 15)).</summary>
public sealed class GenerationTests : IDisposable
{
    readonly OnnxModel _lm = new(Path.Combine(AppContext.BaseDirectory, "models", "counter_lm", "model.onnx"), 1);
    readonly OnnxModel _regression = new(Path.Combine(AppContext.BaseDirectory, "models", "regression", "model.onnx"), 1);

    public void Dispose()
    {
        _lm.Dispose();
        _regression.Dispose();
    }

    static Generation.Request Parse(string json) => Generation.Parse("application/json", Encoding.UTF8.GetBytes(json));

    [Fact]
    public void OnlyACausalLanguageModelGenerates()
    {
        Assert.True(Generation.Generates(_lm));
        Assert.False(Generation.Generates(_regression));
    }

    [Fact]
    public void EachLineIsOneTokenAndTheLastSumsUp()
    {
        var lines = Generation.Lines(_lm, Parse("""{"inputs": [14, 15], "parameters": {"max_new_tokens": 3}}""")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(4, lines.Count);
        Assert.Equal([0L, 1, 2], lines.Take(3).Select(l => l.GetProperty("token").GetProperty("id").GetInt64()));
        var expected = -Math.Log(1 + 15 * Math.Exp(-8));
        Assert.All(lines.Take(3), l => Assert.Equal(expected, l.GetProperty("token").GetProperty("logprob").GetDouble(), 5));
        Assert.Equal("""{"generated_token_ids":[0,1,2],"finish_reason":"length"}""", lines[3].GetRawText());
    }

    [Fact]
    public void GenerationStopsAtTheEndOfSequenceToken()
    {
        var last = Generation.Lines(_lm, Parse("""{"inputs": [13], "parameters": {"max_new_tokens": 50, "eos_token_id": 15}}""")).Last();
        Assert.Equal("""{"generated_token_ids":[14,15],"finish_reason":"eos_token"}""" + "\n", Encoding.UTF8.GetString(last));
    }

    [Fact]
    public void TheModelRunsOnlyAsLinesAreAskedFor()
    {
        // A token id the model has no row for fails the first run, not the parse: the worker asks for
        // the first line before it answers, so this is still a refusal, not a broken stream.
        var lines = Generation.Lines(_lm, Parse("""{"inputs": [99]}"""));
        Assert.Throws<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(() => lines.First());
    }

    [Theory]
    [InlineData("""[1, 2]""", "a text-generation model takes")]
    [InlineData("""{"inputs": []}""", "at least one token id")]
    [InlineData("""{"inputs": "hello"}""", "a text-generation model takes")]
    [InlineData("""{"inputs": [1, -2]}""", "inputs[1] must be a token id")]
    [InlineData("""{"inputs": [1.5]}""", "inputs[0] must be a token id")]
    [InlineData("""{"inputs": [1], "parameters": {"max_new_tokens": 0}}""", "max_new_tokens must be a whole number from 1 to 1024, not 0")]
    [InlineData("""{"inputs": [1], "parameters": {"max_new_tokens": 1025}}""", "not 1025")]
    [InlineData("""{"inputs": [1], "parameters": {"eos_token_id": "x"}}""", "eos_token_id must be a token id")]
    [InlineData("""{"inputs": [1], "parameters": 3}""", "parameters must be an object")]
    [InlineData("""not json""", "the payload is not JSON")]
    public void ABadRequestSaysWhatIsWrong(string json, string says)
        => Assert.Contains(says, Assert.Throws<PayloadException>(() => Parse(json)).Message);

    [Fact]
    public void OnlyJsonIsTaken()
        => Assert.Equal(415, Assert.Throws<PayloadException>(() => Generation.Parse("text/csv", "1,2"u8.ToArray())).Status);
}
