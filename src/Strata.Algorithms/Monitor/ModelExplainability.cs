using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Strata.Algorithms.Monitor;

/// <summary>
/// SageMaker Clarify's feature attribution monitoring: the requests the endpoint captured in the
/// window are explained with Kernel SHAP (<see cref="KernelShap"/>) against the analysis
/// configuration's baseline, the model asked through the server (<see cref="ModelChannel"/>), as
/// Clarify asks its shadow endpoint. The global SHAP value of each feature (agg_method over the
/// records) goes to analysis.json in Clarify's layout (explanations → kernel_shap → label →
/// global_shap_values, expected_value); against a baseline's analysis.json, an nDCG of the
/// ranking below 0.9 is a feature_attribution_drift_check violation.
/// </summary>
public static class ModelExplainability
{
    /// <summary>Clarify's threshold: a ranking whose nDCG against the baseline's is below it has drifted.</summary>
    public const double NdcgThreshold = 0.9;

    public sealed record Config(List<string>? Headers, string? Label, List<List<string>>? Baseline, int? NumSamples, string AggMethod,
        bool UseLogit, bool SaveLocal, int Seed, string ContentType, string Accept, string? Probability, string? LabelHeader);

    public static Config ParseConfig(string json, string what)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new ClientError($"{what} is not JSON: {e.Message}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ClientError($"{what} must be a JSON object");
            List<string>? Strings(JsonElement parent, string member)
            {
                if (!parent.TryGetProperty(member, out var e) || e.ValueKind == JsonValueKind.Null) return null;
                return e.ValueKind == JsonValueKind.Array ? [.. e.EnumerateArray().Select(v => Scalar(v, $"{what}: {member}"))]
                    : throw new ClientError($"{what}: {member} must be a list");
            }
            var headers = Strings(root, "headers");
            var label = root.TryGetProperty("label", out var l) && l.ValueKind is JsonValueKind.String or JsonValueKind.Number ? Scalar(l, what) : null;
            if (!root.TryGetProperty("methods", out var methods) || methods.ValueKind != JsonValueKind.Object
                || !methods.TryGetProperty("shap", out var shap) || shap.ValueKind != JsonValueKind.Object)
                throw new ClientError($"{what} has no methods.shap: feature attribution monitoring computes SHAP values, configured there (baseline, num_samples, agg_method)");
            List<List<string>>? baseline = null;
            if (shap.TryGetProperty("baseline", out var b) && b.ValueKind != JsonValueKind.Null)
            {
                if (b.ValueKind == JsonValueKind.String)
                    throw new ClientError($"{what}: methods.shap.baseline {b.GetString()} is an S3 URI, which Strata does not read: give the baseline rows in the configuration (a list of rows of feature values), or leave it out to use the window's mean record");
                if (b.ValueKind != JsonValueKind.Array || b.GetArrayLength() == 0)
                    throw new ClientError($"{what}: methods.shap.baseline must be a list of at least one row of feature values");
                baseline = [];
                foreach (var row in b.EnumerateArray())
                    baseline.Add(row.ValueKind == JsonValueKind.Array ? [.. row.EnumerateArray().Select(v => Scalar(v, $"{what}: methods.shap.baseline"))]
                        : throw new ClientError($"{what}: each row of methods.shap.baseline must be a list of feature values"));
                if (baseline.Any(r => r.Count != baseline[0].Count))
                    throw new ClientError($"{what}: the rows of methods.shap.baseline must have the same number of features");
            }
            int? samples = null;
            if (shap.TryGetProperty("num_samples", out var n) && n.ValueKind != JsonValueKind.Null)
                samples = n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out var given) && given is >= 1 and <= 1_000_000 ? given
                    : throw new ClientError($"{what}: methods.shap.num_samples must be a whole number from 1 to 1000000");
            var agg = shap.TryGetProperty("agg_method", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : "mean_abs";
            if (agg is not ("mean_abs" or "median" or "mean_sq"))
                throw new ClientError($"{what}: methods.shap.agg_method {agg} is not one of mean_abs, median, mean_sq");
            bool Flag(string member, bool otherwise) => shap.TryGetProperty(member, out var f) ? f.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.Null => otherwise,
                _ => throw new ClientError($"{what}: methods.shap.{member} must be true or false"),
            } : otherwise;
            var seed = shap.TryGetProperty("seed", out var s) && s.ValueKind == JsonValueKind.Number && s.TryGetInt32(out var sd) ? sd : 0;

            string contentType = "text/csv", accept = "text/csv";
            string? probability = null, labelHeader = null;
            if (root.TryGetProperty("predictor", out var p) && p.ValueKind == JsonValueKind.Object)
            {
                if (p.TryGetProperty("content_type", out var ct) && ct.ValueKind == JsonValueKind.String) contentType = ct.GetString()!;
                accept = p.TryGetProperty("accept_type", out var at) && at.ValueKind == JsonValueKind.String ? at.GetString()! : contentType;
                foreach (var member in new[] { "probability", "label" })
                    if (probability is null && p.TryGetProperty(member, out var v) && v.ValueKind is JsonValueKind.String or JsonValueKind.Number)
                        probability = Scalar(v, what);
                labelHeader = Strings(p, "label_headers")?.FirstOrDefault();
            }
            if (!contentType.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase))
                throw new ClientError($"{what}: predictor.content_type {contentType} is not supported by Strata's explainability analysis: it sends the model CSV records (text/csv)");
            return new Config(headers, label, baseline, samples, agg, Flag("use_logit", false), Flag("save_local_shap_values", true), seed,
                contentType, accept, probability, labelHeader ?? Strings(root, "label_headers")?.FirstOrDefault());
        }
    }

    static string Scalar(JsonElement value, string what) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "1",
        JsonValueKind.False => "0",
        _ => throw new ClientError($"{what} must hold numbers or strings, not a JSON {value.ValueKind.ToString().ToLowerInvariant()}"),
    };

    /// <summary>The result of one window: per feature its global SHAP value, the expected value
    /// (the mean prediction over the baseline), and each record's local values.</summary>
    public sealed record Explanation(string Label, List<string> Features, Dictionary<string, double> Global, double ExpectedValue, List<double[]> Local);

    /// <summary>Explains <paramref name="records"/> (feature values, in the order of <paramref name="features"/>),
    /// the model given as a function from CSV rows to one score each.</summary>
    public static Explanation Explain(Config config, List<string> features, List<List<string?>> records, Func<List<string>, double[]> predict, string label)
    {
        var m = features.Count;
        var baseline = config.Baseline ?? [MeanRecord(records, m)];
        if (baseline[0].Count != m)
            throw new ClientError($"methods.shap.baseline has {baseline[0].Count} feature(s) per row, but the captured requests have {m}: each baseline row holds the features only, as the requests do");
        var samples = config.NumSamples ?? KernelShap.DefaultSamples(m);
        var random = new Random(config.Seed);
        double Link(double v) => config.UseLogit ? Math.Log(Math.Clamp(v, 1e-12, 1 - 1e-12) / (1 - Math.Clamp(v, 1e-12, 1 - 1e-12))) : v;

        // As shap's KernelExplainer: the mean prediction over the baseline, then the link (log-odds).
        var expected = Link(predict([.. baseline.Select(Row)]).Average());
        var local = new List<double[]>();
        foreach (var record in records)
        {
            var coalitions = KernelShap.Coalitions(m, samples, random);
            // One request per record: the record itself, then each coalition with each baseline row.
            var rows = new List<string>(1 + coalitions.Count * baseline.Count) { Row(record) };
            var mixed = new string?[m];
            foreach (var (mask, _) in coalitions)
                foreach (var b in baseline)
                {
                    for (var i = 0; i < m; i++) mixed[i] = mask[i] ? record[i] : b[i];
                    rows.Add(Row(mixed));
                }
            var scores = predict(rows);
            var values = new double[coalitions.Count];
            for (var c = 0; c < coalitions.Count; c++)
            {
                double sum = 0;
                for (var r = 0; r < baseline.Count; r++) sum += scores[1 + c * baseline.Count + r];
                values[c] = Link(sum / baseline.Count);
            }
            local.Add(KernelShap.Solve(coalitions, values, Link(scores[0]), expected, m));
        }
        var global = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var i = 0; i < m; i++) global[features[i]] = KernelShap.Aggregate(local.Select(l => l[i]), config.AggMethod);
        return new Explanation(label, features, global, expected, local);
    }

    /// <summary>Without a baseline in the configuration: one row of the window's means (a value that
    /// is not a number: its most frequent one), as SHAP's one-cluster summary of the data.</summary>
    static List<string> MeanRecord(List<List<string?>> records, int m)
    {
        var row = new List<string>(m);
        for (var i = 0; i < m; i++)
        {
            var column = records.Select(r => r[i]).ToList();
            var numbers = column.Select(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : (double?)null).ToList();
            row.Add(numbers.All(d => d is not null)
                ? numbers.Average()!.Value.ToString("R", CultureInfo.InvariantCulture)
                : column.GroupBy(v => v ?? "").OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).First().Key);
        }
        return row;
    }

    /// <summary>A CSV record: fields with a comma, quote or line break quoted, quotes doubled.</summary>
    static string Row(IReadOnlyList<string?> fields)
    {
        var text = new StringBuilder();
        for (var i = 0; i < fields.Count; i++)
        {
            if (i > 0) text.Append(',');
            var f = fields[i] ?? "";
            if (f.AsSpan().IndexOfAny(",\"\r\n") >= 0) text.Append('"').Append(f.Replace("\"", "\"\"")).Append('"');
            else text.Append(f);
        }
        return text.ToString();
    }

    /// <summary>One score per record from the model's answer: CSV (a line each; the column at
    /// <paramref name="attribute"/>, else the first) or JSON (an array, or the <c>predictions</c>
    /// member's; each item a number, or the member at <paramref name="attribute"/>, else score).</summary>
    public static double[] Scores(byte[] answer, int expected, string? attribute)
    {
        var text = Encoding.UTF8.GetString(answer).Trim();
        var scores = new List<double>(expected);
        double Number(string value) => double.TryParse(value.Trim().Trim('"'), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d
            : throw new ClientError($"the model's prediction {value} is not a number: SHAP values explain a numeric score (set the EndpointInput's ProbabilityAttribute, or predictor.probability, to the score's column or JSON path)");
        if (text.StartsWith('[') || text.StartsWith('{'))
        {
            JsonDocument doc;
            try { doc = JsonDocument.Parse(text); }
            catch (JsonException e) { throw new ClientError($"the model's answer begins as JSON but is not JSON ({e.Message})"); }
            using var _ = doc;
            var items = doc.RootElement;
            if (items.ValueKind == JsonValueKind.Object)
                items = items.TryGetProperty("predictions", out var p) ? p : throw new ClientError("the model's JSON answer has no predictions member, nor is it an array of predictions");
            if (items.ValueKind != JsonValueKind.Array) throw new ClientError("the model's JSON predictions are not an array");
            foreach (var item in items.EnumerateArray())
            {
                var value = item.ValueKind switch
                {
                    JsonValueKind.Number or JsonValueKind.String => item,
                    JsonValueKind.Array when attribute is null && item.GetArrayLength() > 0 => item[0],
                    _ => ModelQuality.Find(item, attribute ?? "score", "the model's answer", "probability_attribute"),
                };
                scores.Add(Number(ModelQuality.Scalar(value, "the model's answer")));
            }
        }
        else
        {
            var column = 0;
            if (attribute is not null && !int.TryParse(attribute, NumberStyles.None, CultureInfo.InvariantCulture, out column))
                throw new ClientError($"probability_attribute {attribute} is not a column index, but the model answers CSV: give the index of the score's column (0 for the first)");
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var fields = line.Split(',');
                scores.Add(column < fields.Length ? Number(fields[column]) : throw new ClientError($"probability_attribute {attribute} is past the {fields.Length} column(s) of the model's answer"));
            }
        }
        return scores.Count == expected ? [.. scores]
            : throw new ClientError($"the model answered {scores.Count} prediction(s) to {expected} record(s): it must answer one per CSV line");
    }

    public static void Run(Func<string, string?> env, TextWriter log, Func<string, string> hostPath, Action<string, byte[]> write, string? modelSocket)
    {
        var output = env("output_path") is { Length: > 0 } o ? o : throw new ClientError("the environment variable output_path is missing: set it to the LocalPath of the output (usually /opt/ml/processing/output)");
        var source = env("dataset_source") is { Length: > 0 } s ? s : throw new ClientError("the environment variable dataset_source is missing: set it to the LocalPath of the endpoint input");
        var configPath = env("analysis_config") is { Length: > 0 } c ? c : throw new ClientError("the environment variable analysis_config is missing: set it to the path of the analysis_config.json (ModelExplainabilityAppSpecification.ConfigUri)");
        var configFile = hostPath(configPath);
        if (!File.Exists(configFile)) throw new ClientError($"the analysis configuration {configPath} does not exist: ModelExplainabilityAppSpecification.ConfigUri must name an analysis_config.json");
        var config = ParseConfig(File.ReadAllText(configFile), "the analysis configuration " + configPath.Split('/')[^1]);
        // The constraints before any data is read or the model asked: a file that does not parse fails at once.
        Dictionary<string, Dictionary<string, double>>? baseline = null;
        if (env("baseline_constraints") is { Length: > 0 } constraintsPath)
        {
            var constraintsFile = hostPath(constraintsPath);
            if (!File.Exists(constraintsFile)) throw new ClientError($"the baseline constraints {constraintsPath} do not exist: ModelExplainabilityBaselineConfig.ConstraintsResource.S3Uri must name a baseline's analysis.json");
            baseline = ParseConstraints(File.ReadAllText(constraintsFile), "ConstraintsResource " + constraintsPath.Split('/')[^1]);
        }
        if (modelSocket is null) throw new ClientError("no way to the model was given: a model-explainability analysis runs only as a monitoring execution, which asks the endpoint's model");
        var attribute = env("probability_attribute") is { Length: > 0 } pa ? pa : env("inference_attribute") is { Length: > 0 } ia ? ia : config.Probability;

        var sourceDir = hostPath(source).TrimEnd('/');
        if (!Directory.Exists(sourceDir)) throw new ClientError($"Job inputs had no data: {source} holds no captured data");
        var start = ModelQuality.Time(env, "start_time");
        var end = ModelQuality.Time(env, "end_time");
        var files = Directory.EnumerateFiles(sourceDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Where(f => Monitoring.InWindow(f[sourceDir.Length..], start, end)).ToList();
        var names = config.Headers?.Where(h => h != config.Label).ToList() ?? [];
        var records = new List<List<string?>>();
        List<string>? features = null;
        foreach (var record in CaptureReader.Read(files, names, start, end))
        {
            features ??= [.. record.Select(f => f.Name)];
            if (record.Count != features.Count)
                throw new ClientError($"captured request {records.Count + 1} has {record.Count} feature(s), the first had {features.Count}: every request must have the same features to be explained");
            records.Add([.. record.Select(f => f.Value)]);
        }
        if (features is null || records.Count == 0)
            throw new ClientError($"Job inputs had no data: the endpoint captured no requests between {Show(start)} and {Show(end)}");
        log.WriteLine($"Explaining {records.Count} captured request(s) of {features.Count} feature(s) with Kernel SHAP ({(config.Baseline is null ? "the window's mean record" : $"{config.Baseline.Count} baseline row(s)")}, {config.NumSamples ?? KernelShap.DefaultSamples(features.Count)} sample(s))");

        using var model = new ModelChannel.Client(modelSocket);
        var calls = 0;
        double[] Predict(List<string> rows)
        {
            var scores = new List<double>(rows.Count);
            // Within InvokeEndpoint's payload limit: batches of rows, each a request.
            var batch = new StringBuilder();
            var count = 0;
            var bytes = 0;
            void Send()
            {
                if (count == 0) return;
                calls++;
                scores.AddRange(Scores(model.Invoke(config.ContentType, config.Accept, Encoding.UTF8.GetBytes(batch.ToString())), count, attribute));
                batch.Clear();
                count = 0;
                bytes = 0;
            }
            foreach (var row in rows)
            {
                var size = Encoding.UTF8.GetByteCount(row) + 1;
                if (size > ModelChannel.MaxBody)
                    throw new ClientError($"a record of {size} bytes is longer than InvokeEndpoint's {ModelChannel.MaxBody} bytes");
                if (count > 0 && (count >= 10_000 || bytes + size > ModelChannel.MaxBody / 2)) Send();
                batch.Append(row).Append('\n');
                count++;
                bytes += size;
            }
            Send();
            return [.. scores];
        }
        var label = config.LabelHeader ?? "label0";
        var explanation = Explain(config, features, records, Predict, label);
        log.WriteLine($"Computed the SHAP values of {records.Count} record(s) in {calls} request(s) to the model; expected value {explanation.ExpectedValue.ToString("R", CultureInfo.InvariantCulture)}");

        var outputDir = hostPath(output);
        Directory.CreateDirectory(outputDir);
        write(Path.Combine(outputDir, "analysis.json"), Report(explanation));
        if (config.SaveLocal)
        {
            var dir = Path.Combine(outputDir, "explanations_shap");
            Directory.CreateDirectory(dir);
            write(Path.Combine(dir, "out.csv"), LocalValues(explanation));
        }
        Monitoring.PublishMetrics(env, hostPath, write, MetricsOf(explanation));
        foreach (var (feature, value) in explanation.Global.OrderByDescending(kv => kv.Value))
            log.WriteLine($"  {feature}: {value.ToString("G6", CultureInfo.InvariantCulture)}");
        if (baseline is null)
        {
            log.WriteLine("No baseline constraints: wrote analysis.json only");
            return;
        }
        var violations = new List<(string Label, double Ndcg)>();
        if (baseline.TryGetValue(label, out var attributions))
        {
            var ndcg = KernelShap.Ndcg(attributions, explanation.Global);
            log.WriteLine($"nDCG of {label}'s ranking against the baseline's: {ndcg.ToString("G6", CultureInfo.InvariantCulture)} (threshold {NdcgThreshold})");
            if (ndcg < NdcgThreshold) violations.Add((label, ndcg));
        }
        else log.WriteLine($"Warning: the baseline has no global SHAP values of {label} (it has {string.Join(", ", baseline.Keys)}): nothing was checked");
        write(Path.Combine(outputDir, "constraint_violations.json"), Violations(violations));
        Monitoring.WriteMessage(hostPath, violations.Count);
    }

    static string Show(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) ?? "any time";

    static readonly JsonWriterOptions Indented = new() { Indented = true };

    /// <summary>analysis.json as Clarify writes it for SHAP.</summary>
    public static byte[] Report(Explanation e)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Indented))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteStartObject("explanations");
            w.WriteStartObject("kernel_shap");
            w.WriteStartObject(e.Label);
            w.WriteStartObject("global_shap_values");
            foreach (var f in e.Features) w.WriteNumber(f, e.Global[f]);
            w.WriteEndObject();
            w.WriteNumber("expected_value", e.ExpectedValue);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>explanations_shap/out.csv: a header of the features, then each record's SHAP values.</summary>
    static byte[] LocalValues(Explanation e)
    {
        var text = new StringBuilder();
        text.Append(string.Join(',', e.Features.Select(f => Row([f])))).Append('\n');
        foreach (var row in e.Local) text.Append(string.Join(',', row.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))).Append('\n');
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>The metrics CloudWatch is given, as Clarify publishes them: feature_&lt;name&gt; (a
    /// global SHAP value) and expected_value, with the method, label and value type as dimensions.</summary>
    public static IEnumerable<(string Name, double Value, IReadOnlyList<(string Name, string Value)> Dimensions)> MetricsOf(Explanation e)
    {
        foreach (var f in e.Features)
            yield return ("feature_" + f, e.Global[f], [("ExplainabilityMethod", "KernelShap"), ("Label", e.Label), ("ValueType", "GlobalShapValues")]);
        yield return ("expected_value", e.ExpectedValue, [("ExplainabilityMethod", "KernelShap"), ("Label", e.Label), ("ValueType", "ExpectedValue")]);
    }

    /// <summary>A baseline's analysis.json: each label's global SHAP values (explanations.kernel_shap).</summary>
    public static Dictionary<string, Dictionary<string, double>> ParseConstraints(string json, string what)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new ClientError($"{what} is not JSON: {e.Message}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("explanations", out var explanations)
                || explanations.ValueKind != JsonValueKind.Object || !explanations.TryGetProperty("kernel_shap", out var shap) || shap.ValueKind != JsonValueKind.Object)
                throw new ClientError($"{what} has no explanations.kernel_shap: the constraints of feature attribution monitoring are a SHAP baselining job's analysis.json");
            var result = new Dictionary<string, Dictionary<string, double>>(StringComparer.Ordinal);
            foreach (var label in shap.EnumerateObject())
            {
                if (label.Value.ValueKind != JsonValueKind.Object || !label.Value.TryGetProperty("global_shap_values", out var values) || values.ValueKind != JsonValueKind.Object)
                    throw new ClientError($"{what}: explanations.kernel_shap.{label.Name} has no global_shap_values object");
                var attributions = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (var v in values.EnumerateObject())
                    attributions[v.Name] = v.Value.ValueKind == JsonValueKind.Number ? v.Value.GetDouble()
                        : throw new ClientError($"{what}: the global SHAP value of {v.Name} ({label.Name}) is not a number");
                result[label.Name] = attributions;
            }
            return result.Count > 0 ? result : throw new ClientError($"{what}: explanations.kernel_shap has no label");
        }
    }

    /// <summary>constraint_violations.json with Clarify's feature_attribution_drift_check.</summary>
    public static byte[] Violations(List<(string Label, double Ndcg)> violations)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Indented))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteStartArray("violations");
            foreach (var (label, ndcg) in violations)
            {
                w.WriteStartObject();
                w.WriteString("label", label);
                w.WriteString("metric_name", "shap");
                w.WriteString("constraint_check_type", "feature_attribution_drift_check");
                w.WriteString("description", $"Feature attribution drift: the nDCG {ndcg.ToString("R", CultureInfo.InvariantCulture)} of the ranking of the features against the baseline ranking is below the threshold {NdcgThreshold.ToString(CultureInfo.InvariantCulture)}");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
