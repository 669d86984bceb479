using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Strata.Algorithms.Monitor;

/// <summary>
/// The analyzer's model-quality analysis (<c>analysis_type</c> MODEL_QUALITY), configured as the
/// SageMaker Python SDK's ModelQualityMonitor configures it: <c>problem_type</c> (Regression,
/// BinaryClassification, MulticlassClassification), <c>inference_attribute</c> (the predicted
/// label or value), <c>probability_attribute</c> and <c>probability_threshold_attribute</c> (a
/// binary classifier's probability and the threshold that makes it a label, 0.5 unless given),
/// <c>ground_truth_attribute</c> (the label, in a baseline dataset).
/// <para>A baseline (<c>dataset_format</c> csv or json, as suggest_baseline sets it) reads each
/// record's prediction and label from its columns (names, or column indexes for CSV without a
/// header) and writes statistics.json and the suggested constraints.json.</para>
/// <para>A monitoring execution (<c>dataset_format</c> sagemakerCaptureJson) merges the predictions
/// the endpoint's responses captured in the window (from <c>dataset_source</c>) with the ground
/// truth under <c>ground_truth_source</c> (JSON lines of <c>groundTruthData</c> and
/// <c>eventMetadata.eventId</c>, in yyyy/mm/dd/hh folders of their upload), by the request's
/// inferenceId, else its eventId; a CSV response's column <c>inference_attribute</c> (an index), a
/// JSON response's member (a path such as predictions[0].score). It writes statistics.json and,
/// against <c>baseline_constraints</c>, constraint_violations.json, and the metrics for CloudWatch.
/// (SageMaker merges in a job of its own before the analysis; here the analysis merges.)</para>
/// </summary>
public static class ModelQuality
{
    static readonly string[] ProblemTypes = ["Regression", "BinaryClassification", "MulticlassClassification"];

    /// <summary>The settings of the analysis, checked before any data is read.</summary>
    internal sealed record Settings(string ProblemType, string? Inference, string? Probability, double? Threshold, string? GroundTruth);

    static Settings Read(Func<string, string?> env, bool baseline)
    {
        var problem = env("problem_type") is { Length: > 0 } p ? p
            : throw new ClientError("the environment variable problem_type is missing: set it to Regression, BinaryClassification or MulticlassClassification, as ModelQualityMonitor.suggest_baseline's problem_type does");
        if (!ProblemTypes.Contains(problem))
            throw new ClientError($"problem_type {problem} is not one of Regression, BinaryClassification, MulticlassClassification");
        string? Attribute(string name) => env(name) is { Length: > 0 } v ? v : null;
        var inference = Attribute("inference_attribute");
        var probability = Attribute("probability_attribute");
        double? threshold = null;
        if (Attribute("probability_threshold_attribute") is { } t)
        {
            if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var given) || !(given is >= 0 and <= 1))
                throw new ClientError($"probability_threshold_attribute {t} is not a probability (a number between 0 and 1)");
            threshold = given;
        }
        if (problem != "BinaryClassification" && inference is null)
            throw new ClientError($"inference_attribute is missing: problem_type {problem} needs it to find the prediction (a column name or index of the dataset, a column index or JSON path of the endpoint's response)");
        if (problem == "BinaryClassification" && inference is null && probability is null)
            throw new ClientError("inference_attribute and probability_attribute are both missing: problem_type BinaryClassification needs the predicted label (inference_attribute) or its probability (probability_attribute)");
        var groundTruth = Attribute("ground_truth_attribute");
        if (baseline && groundTruth is null)
            throw new ClientError("ground_truth_attribute is missing: a model-quality baseline needs the column of the dataset that holds each record's true label");
        return new Settings(problem, inference, probability, threshold, groundTruth);
    }

    /// <summary>One record's prediction (its label or value, and its probability) and true label, as
    /// text; and, when the merge is asked for them, the features of its captured request.</summary>
    internal readonly record struct Pair(string? Predicted, string? Probability, string Actual, string Where, IReadOnlyList<Field>? Features = null);

    public static void Run(Func<string, string?> env, TextWriter log, Func<string, string> hostPath, Action<string, byte[]> write, bool capture)
    {
        var settings = Read(env, baseline: !capture);
        var output = env("output_path") is { Length: > 0 } o ? o : throw new ClientError("the environment variable output_path is missing: set it to the LocalPath of the output (usually /opt/ml/processing/output)");
        var source = env("dataset_source") is { Length: > 0 } s ? s : throw new ClientError("the environment variable dataset_source is missing: set it to the LocalPath of the input that holds the data");
        var sourceDir = hostPath(source).TrimEnd('/');
        if (!Directory.Exists(sourceDir)) throw new ClientError($"dataset_source {source} is not a directory: it must be the LocalPath of the input that holds the data");

        // The constraints first: a file that does not parse fails the job before any data is read.
        var constraints = capture && env("baseline_constraints") is { Length: > 0 } constraintsPath ? Constraints(hostPath(constraintsPath), constraintsPath, settings.ProblemType) : null;

        List<Pair> pairs;
        if (capture)
        {
            var start = Time(env, "start_time");
            var end = Time(env, "end_time");
            var truthSource = env("ground_truth_source") is { Length: > 0 } g ? g
                : throw new ClientError("the environment variable ground_truth_source is missing: set it to the LocalPath of the ground truth input (GroundTruthS3Input)");
            pairs = Merge(settings, sourceDir, hostPath(truthSource).TrimEnd('/'), truthSource, start, end, log);
        }
        else
        {
            var format = DatasetFormat.Parse(env("dataset_format"));
            var files = Directory.EnumerateFiles(sourceDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
            pairs = [.. Dataset(settings, DatasetReader.Read(files, format, f => source.TrimEnd('/') + f[sourceDir.Length..]))];
            if (pairs.Count == 0) throw new ClientError($"the dataset under {source} has no records: a baseline needs at least one");
        }
        var statistics = Compute(settings, pairs);
        log.WriteLine($"Computed {settings.ProblemType} metrics of {statistics.ItemCount} record(s)");

        var outputDir = hostPath(output);
        Directory.CreateDirectory(outputDir);
        var evaluated = env("end_time") is { Length: > 0 } e ? e : null;
        write(Path.Combine(outputDir, "statistics.json"), Statistics(statistics, evaluated));
        if (!capture)
        {
            write(Path.Combine(outputDir, "constraints.json"), SuggestConstraints(statistics));
            log.WriteLine($"Wrote statistics.json and constraints.json to {output}");
            return;
        }
        Monitoring.PublishMetrics(env, hostPath, write, statistics.Metrics.Where(m => double.IsFinite(m.Metric.Value))
            .Select(m => (m.Name, m.Metric.Value, (IReadOnlyList<(string, string)>)[])));
        if (constraints is null)
        {
            log.WriteLine("No baseline constraints: wrote statistics.json only");
            return;
        }
        var violations = Evaluate(constraints, statistics);
        write(Path.Combine(outputDir, "constraint_violations.json"), Violations(violations));
        foreach (var v in violations) log.WriteLine($"  {v.Description}");
        Monitoring.WriteMessage(hostPath, violations.Count);
    }

    internal static DateTimeOffset? Time(Func<string, string?> env, string name)
    {
        if (env(name) is not { Length: > 0 } text) return null;
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t
            : throw new ClientError($"the environment variable {name} is not an ISO 8601 time ({text})");
    }

    // ---- reading ----

    /// <summary>A baseline dataset's records: each one's prediction and label by column name (or index).</summary>
    static IEnumerable<Pair> Dataset(Settings settings, IEnumerable<IReadOnlyList<Field>> records)
    {
        var number = 0;
        foreach (var record in records)
        {
            number++;
            string? Column(string? attribute, string setting)
            {
                if (attribute is null) return null;
                foreach (var f in record) if (f.Name == attribute) return f.Value;
                if (int.TryParse(attribute, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < record.Count) return record[index].Value;
                throw new ClientError($"{setting} {attribute} names no column of the dataset (record {number} has {string.Join(", ", record.Select(f => f.Name))}): give a column name, or a column index for CSV without a header");
            }
            var actual = Column(settings.GroundTruth, "ground_truth_attribute")
                ?? throw new ClientError($"record {number} of the dataset has no label (ground_truth_attribute {settings.GroundTruth} is empty)");
            yield return new Pair(Column(settings.Inference, "inference_attribute"), Column(settings.Probability, "probability_attribute"), actual, $"record {number} of the dataset");
        }
    }

    /// <summary>The captured predictions of the window merged with their ground truth; with
    /// <paramref name="features"/> (a model-bias analysis), each with the features of its request.</summary>
    internal static List<Pair> Merge(Settings settings, string captureDir, string truthDir, string truthSource, DateTimeOffset? start, DateTimeOffset? end, TextWriter log,
        FeatureReader? features = null)
    {
        if (!Directory.Exists(truthDir)) throw new ClientError($"Job inputs had no data: {truthSource} holds no ground truth (GroundTruthS3Input)");
        // Labels come after their predictions: the hour folders from the window's start on.
        var labels = new Dictionary<string, (List<string> Labels, string Where)>(StringComparer.Ordinal);
        var truthFiles = Directory.EnumerateFiles(truthDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Where(f => Monitoring.InWindow(f[truthDir.Length..], start, null)).ToList();
        foreach (var file in truthFiles) ReadGroundTruth(file, settings, labels);

        var pairs = new List<Pair>();
        int captured = 0, unlabelled = 0;
        var files = Directory.EnumerateFiles(captureDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Where(f => Monitoring.InWindow(f[captureDir.Length..], start, end)).ToList();
        foreach (var file in files)
        {
            var number = 0;
            foreach (var line in File.ReadLines(file))
            {
                number++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                var where = $"line {number} of the captured file {Path.GetFileName(file)}";
                string id;
                List<(string? Predicted, string? Probability)> predictions;
                List<IReadOnlyList<Field>>? inputs = null;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    var root = doc.RootElement;
                    if (!root.TryGetProperty("eventMetadata", out var meta)) continue;
                    if (meta.TryGetProperty("inferenceTime", out var t) && t.ValueKind == JsonValueKind.String
                        && DateTimeOffset.TryParse(t.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
                        && ((start is { } s && at < s) || (end is { } e && at >= e)))
                        continue;
                    if (!root.TryGetProperty("captureData", out var data) || !data.TryGetProperty("endpointOutput", out var endpointOutput)) continue;
                    id = (meta.TryGetProperty("inferenceId", out var i) ? i.GetString() : null)
                        ?? (meta.TryGetProperty("eventId", out var ev) ? ev.GetString() : null)
                        ?? throw new ClientError($"{where} has neither eventMetadata.inferenceId nor eventMetadata.eventId to merge its ground truth by");
                    captured++;
                    predictions = Predictions(settings, endpointOutput, where);
                    if (features is not null)
                    {
                        if (!data.TryGetProperty("endpointInput", out var endpointInput))
                            throw new ClientError($"{where} has no endpointInput: a model-bias analysis reads the facet from the captured requests (enable CaptureMode Input)");
                        inputs = features.Read(endpointInput, where);
                        if (inputs.Count != predictions.Count)
                            throw new ClientError($"{where} has {inputs.Count} request record(s) but {predictions.Count} prediction(s): each captured request record needs its prediction");
                    }
                }
                catch (Exception e) when (e is JsonException or InvalidOperationException)
                {
                    throw new ClientError($"{where} is not a capture record ({e.Message})");
                }
                if (!labels.TryGetValue(id, out var truth)) { unlabelled++; continue; }
                if (truth.Labels.Count != predictions.Count)
                    throw new ClientError($"the ground truth of {id} ({truth.Where}) has {truth.Labels.Count} label(s) but its captured response has {predictions.Count} prediction(s): give one label per predicted record");
                for (var k = 0; k < predictions.Count; k++) pairs.Add(new Pair(predictions[k].Predicted, predictions[k].Probability, truth.Labels[k], $"the prediction of {id}", inputs?[k]));
            }
        }
        log.WriteLine($"Merged {pairs.Count} prediction(s) of {captured} captured response(s) with {labels.Count} ground truth record(s) of {truthFiles.Count} file(s); {unlabelled} response(s) had no ground truth");
        if (captured == 0)
            throw new ClientError($"Job inputs had no data: the endpoint captured no responses between {Show(start)} and {Show(end)} (the data capture must include CaptureMode Output)");
        if (pairs.Count == 0)
            throw new ClientError($"Job inputs had no data: none of the {captured} response(s) captured between {Show(start)} and {Show(end)} has a ground truth record under {truthSource}: upload labels to GroundTruthS3Input.S3Uri/yyyy/mm/dd/hh/*.jsonl with eventMetadata.eventId set to the request's InferenceId (or the capture's eventId)");
        return pairs;
    }

    static string Show(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) ?? "any time";

    const string GroundTruthExample = "each line must be a ground truth record such as {\"groundTruthData\": {\"data\": \"1\", \"encoding\": \"CSV\"}, \"eventMetadata\": {\"eventId\": \"the request's InferenceId\"}, \"eventVersion\": \"0\"}";

    static void ReadGroundTruth(string file, Settings settings, Dictionary<string, (List<string>, string)> labels)
    {
        var number = 0;
        foreach (var line in File.ReadLines(file))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var where = $"line {number} of the ground truth file {Path.GetFileName(file)}";
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException) { throw new ClientError($"{where} is not JSON: {GroundTruthExample}"); }
            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object
                    || !root.TryGetProperty("groundTruthData", out var truth) || truth.ValueKind != JsonValueKind.Object
                    || !truth.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.String
                    || !root.TryGetProperty("eventMetadata", out var meta) || meta.ValueKind != JsonValueKind.Object
                    || !meta.TryGetProperty("eventId", out var id) || id.ValueKind != JsonValueKind.String)
                    throw new ClientError($"{where} has no groundTruthData.data or eventMetadata.eventId (strings): {GroundTruthExample}");
                var encoding = truth.TryGetProperty("encoding", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : "CSV";
                var text = data.GetString()!;
                if (encoding == "BASE64")
                {
                    try { text = Encoding.UTF8.GetString(Convert.FromBase64String(text)); }
                    catch (FormatException) { throw new ClientError($"{where} says BASE64 but its groundTruthData.data is not base64"); }
                }
                List<string> values;
                if (encoding == "JSON")
                {
                    try
                    {
                        using var value = JsonDocument.Parse(text);
                        values = [.. (value.RootElement.ValueKind == JsonValueKind.Array ? [.. value.RootElement.EnumerateArray()] : new List<JsonElement> { value.RootElement })
                            .Select(v => Scalar(settings.GroundTruth is { } path && v.ValueKind == JsonValueKind.Object ? Find(v, path, where) : v, where))];
                    }
                    catch (JsonException) { throw new ClientError($"{where} says JSON but its groundTruthData.data is not JSON"); }
                }
                else if (encoding is "CSV" or "BASE64")
                    values = [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(l => l.Split(',')[0].Trim())];
                else throw new ClientError($"{where} has groundTruthData.encoding {encoding}: it must be CSV, JSON or BASE64");
                if (values.Count == 0 || values.Any(v => v.Length == 0)) throw new ClientError($"{where} has an empty label: {GroundTruthExample}");
                labels[id.GetString()!] = (values, where);
            }
        }
    }

    /// <summary>The predictions of one captured response: its CSV lines' column (an index), or its JSON's member.</summary>
    static List<(string?, string?)> Predictions(Settings settings, JsonElement endpointOutput, string where)
    {
        var data = endpointOutput.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : throw new ClientError($"{where} has no endpointOutput.data");
        var encoding = endpointOutput.TryGetProperty("encoding", out var e) ? e.GetString() : "CSV";
        var contentType = endpointOutput.TryGetProperty("observedContentType", out var c) ? c.GetString() : null;
        if (encoding == "BASE64")
        {
            try { data = Encoding.UTF8.GetString(Convert.FromBase64String(data)); }
            catch (FormatException) { throw new ClientError($"{where} has an endpointOutput that is not base64"); }
            encoding = contentType is { } ct && ct.Contains("json", StringComparison.OrdinalIgnoreCase) ? "JSON" : "CSV";
        }
        if (encoding == "JSON")
        {
            JsonDocument doc;
            try { doc = JsonDocument.Parse(data); }
            catch (JsonException) { throw new ClientError($"{where} says its response is JSON but it is not"); }
            using (doc)
            {
                string? Member(string? path, string setting) => path is null ? null : Scalar(Find(doc.RootElement, path, where, setting), where);
                return [(Member(settings.Inference, "inference_attribute"), Member(settings.Probability, "probability_attribute"))];
            }
        }
        var rows = new List<(string?, string?)>();
        foreach (var line in data.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split(',');
            string? Column(string? attribute, string setting)
            {
                if (attribute is null) return null;
                if (!int.TryParse(attribute, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                    throw new ClientError($"{setting} {attribute} is not a column index, but the endpoint's response is CSV ({where}): give the index of the column that holds it (0 for the first)");
                return index < fields.Length ? fields[index].Trim() : throw new ClientError($"{setting} {attribute} is past the {fields.Length} column(s) of the endpoint's response ({where})");
            }
            rows.Add((Column(settings.Inference, "inference_attribute"), Column(settings.Probability, "probability_attribute")));
        }
        return rows;
    }

    /// <summary>A member of a JSON value by a path of names and [index]es (predictions[0].score; a
    /// leading $. is allowed, a bare index indexes an array).</summary>
    internal static JsonElement Find(JsonElement root, string path, string where, string setting = "ground_truth_attribute")
    {
        var current = root;
        var rest = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path == "$" ? "" : path;
        foreach (var part in rest.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = part;
            var indexes = new List<int>();
            while (name.EndsWith(']') && name.LastIndexOf('[') is var open and >= 0
                && int.TryParse(name[(open + 1)..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                indexes.Insert(0, index);
                name = name[..open];
            }
            if (name.Length > 0)
            {
                if (current.ValueKind == JsonValueKind.Array && int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < current.GetArrayLength())
                    current = current[i];
                else if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
                    throw new ClientError($"{setting} {path} finds nothing in the JSON of {where}: no member {name}");
            }
            foreach (var i in indexes)
                current = current.ValueKind == JsonValueKind.Array && i < current.GetArrayLength() ? current[i]
                    : throw new ClientError($"{setting} {path} finds nothing in the JSON of {where}: no item {i}");
        }
        return current;
    }

    internal static string Scalar(JsonElement value, string where) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "1",
        JsonValueKind.False => "0",
        _ => throw new ClientError($"{where}: a prediction or label must be a number, a string or a boolean, not a JSON {value.ValueKind.ToString().ToLowerInvariant()}"),
    };

    // ---- metrics ----

    static double Number(string? text, string what, Pair pair)
        => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v
            : throw new ClientError($"{what} '{text}' of {pair.Where} is not a number");

    static int Binary(string? text, string what, Pair pair)
    {
        var t = text?.Trim().ToLowerInvariant();
        if (t is "true") return 1;
        if (t is "false") return 0;
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v is 0 or 1) return (int)v;
        throw new ClientError($"{what} '{text}' of {pair.Where} is not a binary label: BinaryClassification wants 0 or 1 (or true/false), 1 being the positive label");
    }

    /// <summary>A label as a class name: numbers in one spelling (1 and 1.0 are one class).</summary>
    internal static string Label(string text)
    {
        var t = text.Trim();
        return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : t;
    }

    static QualityStatistics Compute(Settings settings, List<Pair> pairs)
    {
        switch (settings.ProblemType)
        {
            case "Regression":
                return ModelQualityMetrics.Regression([.. pairs.Select(p => Number(p.Actual, "the label", p))], [.. pairs.Select(p => Number(p.Predicted, "the prediction", p))]);
            case "BinaryClassification":
                var actual = pairs.Select(p => Binary(p.Actual, "the label", p)).ToArray();
                var scores = new double[pairs.Count];
                var predicted = new int[pairs.Count];
                for (var i = 0; i < pairs.Count; i++)
                {
                    var p = pairs[i];
                    if (settings.Probability is not null)
                    {
                        var probability = Number(p.Probability, "the probability", p);
                        if (!(probability is >= 0 and <= 1)) throw new ClientError($"the probability {p.Probability} of {p.Where} is not between 0 and 1");
                        scores[i] = probability;
                        // A label given beside the probability is the model's own decision, unless a
                        // threshold is asked for; a probability alone is a label at 0.5.
                        predicted[i] = settings.Threshold is null && settings.Inference is not null && p.Predicted is not null
                            ? Binary(p.Predicted, "the prediction", p)
                            : probability >= (settings.Threshold ?? 0.5) ? 1 : 0;
                    }
                    else scores[i] = predicted[i] = Binary(p.Predicted, "the prediction", p);
                }
                return ModelQualityMetrics.Binary(actual, predicted, scores);
            default:
                return ModelQualityMetrics.Multiclass([.. pairs.Select(p => Label(p.Actual))],
                    [.. pairs.Select(p => Label(p.Predicted ?? throw new ClientError($"{p.Where} has no prediction (inference_attribute {settings.Inference})")))]);
        }
    }

    // ---- files ----

    static string MetricsMember(string problemType) => problemType switch
    {
        "Regression" => "regression_metrics",
        "BinaryClassification" => "binary_classification_metrics",
        _ => "multiclass_classification_metrics",
    };

    static string ConstraintsMember(string problemType) => problemType switch
    {
        "Regression" => "regression_constraints",
        "BinaryClassification" => "binary_classification_constraints",
        _ => "multiclass_classification_constraints",
    };

    static readonly JsonWriterOptions Indented = new() { Indented = true };

    /// <summary>A number as the analyzer writes it (1.0, not 1); NaN as the string "NaN", as SageMaker writes an undefined deviation.</summary>
    static void Number(Utf8JsonWriter w, string? name, double value)
    {
        if (name is not null) w.WritePropertyName(name);
        if (!double.IsFinite(value)) { w.WriteStringValue("NaN"); return; }
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        if (!text.Contains('.') && !text.Contains('E')) text += ".0";
        w.WriteRawValue(text, skipInputValidation: true);
    }

    /// <summary>statistics.json of a model-quality analysis: version, dataset (item_count,
    /// evaluation_time), and the problem type's metrics, each a value and a standard_deviation.</summary>
    public static byte[] Statistics(QualityStatistics statistics, string? evaluationTime = null)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Indented))
        {
            w.WriteStartObject();
            Number(w, "version", 0.0);
            w.WriteStartObject("dataset");
            w.WriteNumber("item_count", statistics.ItemCount);
            if (evaluationTime is not null) w.WriteString("evaluation_time", evaluationTime);
            w.WriteEndObject();
            w.WriteStartObject(MetricsMember(statistics.ProblemType));
            if (statistics.ConfusionMatrix is { } matrix)
            {
                w.WriteStartObject("confusion_matrix");
                foreach (var (actual, row) in matrix)
                {
                    w.WriteStartObject(actual);
                    foreach (var (predicted, count) in row) w.WriteNumber(predicted, count);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            foreach (var (name, metric) in statistics.Metrics)
            {
                w.WriteStartObject(name);
                Number(w, "value", metric.Value);
                Number(w, "standard_deviation", metric.StandardDeviation);
                w.WriteEndObject();
            }
            void Curve(string name, string first, List<double> xs, string second, List<double> ys)
            {
                w.WriteStartObject(name);
                w.WriteStartArray(first);
                foreach (var x in xs) Number(w, null, x);
                w.WriteEndArray();
                w.WriteStartArray(second);
                foreach (var y in ys) Number(w, null, y);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            if (statistics.RocCurve is { } roc) Curve("receiver_operating_characteristic_curve", "false_positive_rates", roc.FalsePositiveRates, "true_positive_rates", roc.TruePositiveRates);
            if (statistics.PrecisionRecallCurve is { } pr) Curve("precision_recall_curve", "precisions", pr.Precisions, "recalls", pr.Recalls);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Whether a lower value is worse (then a constraint fires below its threshold).</summary>
    static bool HigherIsBetter(string metric) => metric is not ("mae" or "mse" or "rmse" or "false_positive_rate" or "false_negative_rate");

    /// <summary>The constraints a baseline suggests: each metric no worse than the baseline's value
    /// (LessThanThreshold for a score, GreaterThanThreshold for an error), as suggest_baseline
    /// writes them; the best constant classifier's scores are not constrained.</summary>
    public static byte[] SuggestConstraints(QualityStatistics statistics)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Indented))
        {
            w.WriteStartObject();
            Number(w, "version", 0.0);
            w.WriteStartObject(ConstraintsMember(statistics.ProblemType));
            foreach (var (name, metric) in statistics.Metrics)
            {
                if (name.EndsWith("_best_constant_classifier", StringComparison.Ordinal) || !double.IsFinite(metric.Value)) continue;
                w.WriteStartObject(name);
                Number(w, "threshold", metric.Value);
                w.WriteString("comparison_operator", HigherIsBetter(name) ? "LessThanThreshold" : "GreaterThanThreshold");
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>One metric's constraint from constraints.json.</summary>
    public sealed record QualityConstraint(string Metric, double Threshold, string ComparisonOperator);

    public sealed record QualityViolation(string MetricName, string ConstraintCheckType, string Description);

    static readonly string[] Operators = ["LessThanThreshold", "LessThanOrEqualToThreshold", "GreaterThanThreshold", "GreaterThanOrEqualToThreshold"];

    static List<QualityConstraint> Constraints(string file, string display, string problemType)
    {
        var name = display.Split('/')[^1];
        if (!File.Exists(file)) throw new ClientError($"the baseline constraints {display} do not exist: ModelQualityBaselineConfig.ConstraintsResource.S3Uri must name a constraints.json");
        return ParseConstraints(File.ReadAllText(file), problemType, "ConstraintsResource " + name);
    }

    /// <summary>A model-quality constraints.json: the problem type's member (regression_constraints,
    /// binary_classification_constraints, multiclass_classification_constraints), each metric a
    /// threshold and a comparison_operator.</summary>
    public static List<QualityConstraint> ParseConstraints(string json, string problemType, string what)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new ClientError($"{what} is not JSON ({e.Message}): it must be a model-quality constraints.json, as suggest_baseline writes it"); }
        using (doc)
        {
            var member = ConstraintsMember(problemType);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty(member, out var metrics) || metrics.ValueKind != JsonValueKind.Object)
            {
                var found = doc.RootElement.ValueKind == JsonValueKind.Object ? string.Join(", ", doc.RootElement.EnumerateObject().Select(p => p.Name)) : "no object";
                throw new ClientError($"{what} has no {member} (it has {found}): the constraints must be of problem_type {problemType}, as a baseline of that type suggests them");
            }
            var constraints = new List<QualityConstraint>();
            foreach (var m in metrics.EnumerateObject())
            {
                if (m.Value.ValueKind != JsonValueKind.Object || !m.Value.TryGetProperty("threshold", out var t) || t.ValueKind != JsonValueKind.Number
                    || !m.Value.TryGetProperty("comparison_operator", out var op) || op.ValueKind != JsonValueKind.String)
                    throw new ClientError($"{what}: {member}.{m.Name} must have a number threshold and a comparison_operator");
                if (!Operators.Contains(op.GetString()))
                    throw new ClientError($"{what}: {member}.{m.Name}.comparison_operator {op.GetString()} is not one of {string.Join(", ", Operators)}");
                constraints.Add(new QualityConstraint(m.Name, t.GetDouble(), op.GetString()!));
            }
            return constraints;
        }
    }

    /// <summary>The constraints the statistics break: a metric "was" below a LessThanThreshold
    /// constraint's threshold, above a GreaterThanThreshold one's. A constraint on a metric the
    /// problem type does not compute fails the analysis, saying so.</summary>
    public static List<QualityViolation> Evaluate(List<QualityConstraint> constraints, QualityStatistics statistics)
    {
        var violations = new List<QualityViolation>();
        foreach (var c in constraints)
        {
            var value = statistics.Value(c.Metric)
                ?? throw new ClientError($"the baseline constraints name the metric {c.Metric}, which {statistics.ProblemType} does not compute (it computes {string.Join(", ", statistics.Metrics.Select(m => m.Name))})");
            if (!double.IsFinite(value)) continue;
            var broken = c.ComparisonOperator switch
            {
                "LessThanThreshold" => value < c.Threshold,
                "LessThanOrEqualToThreshold" => value <= c.Threshold,
                "GreaterThanThreshold" => value > c.Threshold,
                _ => value >= c.Threshold,
            };
            if (broken)
                violations.Add(new QualityViolation(c.Metric, c.ComparisonOperator,
                    $"Metric {c.Metric} with {value.ToString("R", CultureInfo.InvariantCulture)} was {c.ComparisonOperator} {c.Threshold.ToString("R", CultureInfo.InvariantCulture)}"));
        }
        return violations;
    }

    public static byte[] Violations(List<QualityViolation> violations)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Indented))
        {
            w.WriteStartObject();
            w.WriteStartArray("violations");
            foreach (var v in violations)
            {
                w.WriteStartObject();
                w.WriteString("constraint_check_type", v.ConstraintCheckType);
                w.WriteString("description", v.Description);
                w.WriteString("metric_name", v.MetricName);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
