using System.Text.Json;

namespace Strata.Algorithms;

/// <summary>
/// What the training job hands the algorithm, as SageMaker's training-container contract puts it
/// in the environment: <c>STRATA_ALGORITHM</c>, <c>SM_HPS</c> (hyperparameters, every value a string),
/// <c>SM_CHANNELS</c> with one <c>SM_CHANNEL_&lt;NAME&gt;</c> directory each, <c>SM_INPUT_DATA_CONFIG</c>
/// (a channel's ContentType), <c>SM_MODEL_DIR</c>, <c>SM_OUTPUT_DATA_DIR</c> and <c>SM_OUTPUT_DIR</c>.
/// </summary>
public sealed record TrainingEnvironment(
    string Algorithm,
    Hyperparameters Hyperparameters,
    IReadOnlyDictionary<string, Channel> Channels,
    string ModelDir,
    string? OutputDataDir)
{
    /// <summary>Where the failure reason goes; read on its own so a failure to read the rest can still be reported.</summary>
    public static string? OutputDir(Func<string, string?> env) => env("SM_OUTPUT_DIR") is { Length: > 0 } dir ? dir : null;

    public static TrainingEnvironment Read(Func<string, string?> env)
    {
        var algorithm = env("STRATA_ALGORITHM") is { Length: > 0 } a ? a.Trim().ToLowerInvariant()
            : throw new InvalidOperationException("STRATA_ALGORITHM is not set");
        var modelDir = env("SM_MODEL_DIR") is { Length: > 0 } m ? m : throw new InvalidOperationException("SM_MODEL_DIR is not set");

        var hps = new Dictionary<string, string>(StringComparer.Ordinal);
        if (env("SM_HPS") is { Length: > 0 } hpsJson)
        {
            using var doc = ParseJson(hpsJson, "SM_HPS");
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ClientError("hyperparameters must be a JSON object of strings");
            foreach (var p in doc.RootElement.EnumerateObject())
                hps[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
        }

        var contentTypes = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (env("SM_INPUT_DATA_CONFIG") is { Length: > 0 } configJson)
        {
            using var doc = ParseJson(configJson, "SM_INPUT_DATA_CONFIG");
            foreach (var p in doc.RootElement.EnumerateObject())
                contentTypes[p.Name] = p.Value.ValueKind == JsonValueKind.Object && p.Value.TryGetProperty("ContentType", out var ct) && ct.ValueKind == JsonValueKind.String
                    ? ct.GetString() : null;
        }

        var names = new List<string>();
        if (env("SM_CHANNELS") is { Length: > 0 } channelsJson)
        {
            using var doc = ParseJson(channelsJson, "SM_CHANNELS");
            names.AddRange(doc.RootElement.EnumerateArray().Select(e => e.GetString()!));
        }
        var channels = new Dictionary<string, Channel>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var dir = env("SM_CHANNEL_" + name.ToUpperInvariant())
                ?? throw new InvalidOperationException($"SM_CHANNEL_{name.ToUpperInvariant()} is not set for channel '{name}'");
            channels[name] = new Channel(name, dir, contentTypes.GetValueOrDefault(name));
        }
        return new TrainingEnvironment(algorithm, new Hyperparameters(hps), channels, modelDir,
            env("SM_OUTPUT_DATA_DIR") is { Length: > 0 } o ? o : null);
    }

    static JsonDocument ParseJson(string json, string variable)
    {
        try { return JsonDocument.Parse(json); }
        catch (JsonException e) { throw new InvalidOperationException($"{variable} is not valid JSON: {e.Message}"); }
    }
}

/// <summary>A data channel: its name, the directory holding its files, and the content type the
/// job declared for it (null when absent).</summary>
public sealed record Channel(string Name, string Directory, string? ContentType);
