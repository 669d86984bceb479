using System.Text.Json;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Strata.Worker;

/// <summary>
/// Text generation for models exported as causal language models (one int64 input
/// <c>input_ids</c> [batch, sequence], an output <c>logits</c> [batch, sequence, vocabulary]):
/// greedy decoding, one run of the model per new token, each token written as soon as it is
/// chosen, so InvokeEndpointWithResponseStream relays it as a part of its own.
/// <para>The request is JSON, as a text-generation container takes it, with token ids (the
/// built-in worker has no tokenizer): <c>{"inputs": [ids…], "parameters": {"max_new_tokens": N,
/// "eos_token_id": E}}</c>. The answer is JSON Lines: one <c>{"token": {"id": …, "logprob": …}}</c>
/// per token, then <c>{"generated_token_ids": […], "finish_reason": "length" | "eos_token"}</c>.</para>
/// </summary>
public static class Generation
{
    public const int DefaultMaxNewTokens = 16;
    public const int MaxNewTokensLimit = 1024;

    public sealed record Request(long[] Prompt, int MaxNewTokens, long? EosTokenId);

    /// <summary>Whether the model is one this class runs (see the class).</summary>
    public static bool Generates(OnnxModel model)
        => model.Inputs is [{ Name: "input_ids", Type: TensorElementType.Int64, Dimensions.Length: 2 }] && model.Outputs.Contains("logits");

    /// <summary>The request, or a <see cref="PayloadException"/> saying what is wrong with it.</summary>
    public static Request Parse(string? contentType, ReadOnlyMemory<byte> body)
    {
        var type = Codecs.MediaType(contentType);
        if (type is not (Codecs.Json or ""))
            throw new PayloadException($"content type '{type}' is not supported by a text-generation model; use {Codecs.Json}", 415);
        JsonElement root;
        try { root = JsonSerializer.Deserialize<JsonElement>(body.Span); }
        catch (JsonException e) { throw new PayloadException($"the payload is not JSON: {e.Message}"); }
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array || inputs.GetArrayLength() == 0)
            throw new PayloadException("a text-generation model takes {\"inputs\": [token ids…], \"parameters\": {\"max_new_tokens\": N, \"eos_token_id\": E}}, with at least one token id");
        var prompt = new long[inputs.GetArrayLength()];
        var i = 0;
        foreach (var id in inputs.EnumerateArray())
        {
            if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt64(out prompt[i]) || prompt[i] < 0)
                throw new PayloadException($"inputs[{i}] must be a token id (a whole number of at least 0), not {id.GetRawText()}");
            i++;
        }
        var max = DefaultMaxNewTokens;
        long? eos = null;
        if (root.TryGetProperty("parameters", out var parameters))
        {
            if (parameters.ValueKind != JsonValueKind.Object) throw new PayloadException("parameters must be an object");
            if (parameters.TryGetProperty("max_new_tokens", out var m) && (m.ValueKind != JsonValueKind.Number || !m.TryGetInt32(out max) || max is < 1 or > MaxNewTokensLimit))
                throw new PayloadException($"max_new_tokens must be a whole number from 1 to {MaxNewTokensLimit}, not {m.GetRawText()}");
            if (parameters.TryGetProperty("eos_token_id", out var e) && e.ValueKind != JsonValueKind.Null)
                eos = e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var value) && value >= 0 ? value
                    : throw new PayloadException($"eos_token_id must be a token id, not {e.GetRawText()}");
        }
        return new Request(prompt, max, eos);
    }

    /// <summary>The answer's lines (UTF-8, each ending in a newline), each computed when it is
    /// asked for: the model runs once per token. A token id the model has no row for is refused by
    /// ONNX Runtime on the first run (an <see cref="Microsoft.ML.OnnxRuntime.OnnxRuntimeException"/>).</summary>
    public static IEnumerable<byte[]> Lines(OnnxModel model, Request request)
    {
        var ids = new List<long>(request.Prompt.Length + request.MaxNewTokens);
        ids.AddRange(request.Prompt);
        var generated = new List<long>(request.MaxNewTokens);
        var finish = "length";
        while (generated.Count < request.MaxNewTokens)
        {
            var input = new TensorData(TensorElementType.Int64, [1, ids.Count], ids.ToArray());
            var logits = model.Run(new Dictionary<string, TensorData> { ["input_ids"] = input }).First(o => o.Name == "logits").Tensor
                ?? throw new PayloadException("the model's logits are not a tensor", 500);
            if (logits.Shape is not [1, var sequence, var vocabulary] || sequence != ids.Count || logits.Values is not float[] values)
                throw new PayloadException($"the model's logits have shape [{string.Join(",", logits.Shape)}]; a text-generation model gives [1, {ids.Count}, vocabulary] floats", 500);
            var (token, logprob) = Choose(values.AsSpan((sequence - 1) * vocabulary, vocabulary));
            ids.Add(token);
            generated.Add(token);
            yield return Line(json =>
            {
                json.WriteStartObject("token");
                json.WriteNumber("id", token);
                json.WriteNumber("logprob", Math.Round(logprob, 6));
                json.WriteEndObject();
            });
            if (token == request.EosTokenId)
            {
                finish = "eos_token";
                break;
            }
        }
        yield return Line(json =>
        {
            json.WriteStartArray("generated_token_ids");
            foreach (var t in generated) json.WriteNumberValue(t);
            json.WriteEndArray();
            json.WriteString("finish_reason", finish);
        });
    }

    /// <summary>The most likely token (the first of equals) and its log-probability (log-softmax).</summary>
    static (long Token, double LogProb) Choose(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        double sum = 0;
        foreach (var l in logits) sum += Math.Exp(l - logits[best]);
        return (best, -Math.Log(sum));
    }

    static byte[] Line(Action<Utf8JsonWriter> members)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            members(json);
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }
}
