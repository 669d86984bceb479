using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Strata.Algorithms.Monitor;

/// <summary>
/// A model-bias monitoring execution (<c>analysis_type</c> MODEL_BIAS), as SageMaker Clarify's
/// container runs it for a ModelBias schedule: the analysis configuration
/// (<c>analysis_config</c>, Clarify's analysis_config.json: <c>label</c>,
/// <c>label_values_or_threshold</c>, <c>facet</c> [{<c>name_or_index</c>,
/// <c>value_or_threshold</c>}], <c>group_variable</c>, <c>headers</c>, <c>methods</c>
/// (<c>pre_training_bias</c>/<c>post_training_bias</c>, each "all" or a list),
/// <c>probability_threshold</c>, <c>predictor</c>'s <c>label</c>/<c>probability</c>); the captured
/// predictions of the window merged with their ground truth by the model-quality merge, each with
/// its captured request's features (named by <c>headers</c> less the label, or by the JSON's
/// members). It writes analysis.json (Clarify's layout), and against <c>baseline_constraints</c>
/// (a baseline's analysis.json, whose values are the constraints) constraint_violations.json
/// (<c>bias_drift_check</c>: a metric further from its fair value than the baseline's), and the
/// metrics for CloudWatch (bias_metric_&lt;name&gt; with BiasStage, Label, LabelValue, Facet and
/// FacetValue).
/// </summary>
public static class ModelBias
{
    /// <summary>What CloudWatch is given for ±∞ (the developer guide's "CloudWatch Metrics for Bias
    /// Drift Analysis"); analysis.json writes "Infinity" or "-Infinity" instead, as Clarify does.</summary>
    public const double Infinity = 2.348543e108;

    public sealed record FacetConfig(string Name, List<string>? Values);

    /// <summary>An analysis configuration, its columns resolved to names.</summary>
    public sealed record Config(string Label, List<string> LabelValues, List<FacetConfig> Facets, string? GroupVariable, List<string>? FeatureNames,
        IReadOnlyCollection<string>? PreTraining, IReadOnlyCollection<string>? PostTraining, double? ProbabilityThreshold, string? PredictorLabel, string? PredictorProbability);

    const string ConfigExample = "an analysis_config.json such as {\"label\": \"approved\", \"label_values_or_threshold\": [1], \"facet\": [{\"name_or_index\": \"gender\", \"value_or_threshold\": [\"F\"]}], \"headers\": [\"age\", \"gender\", \"approved\"], \"methods\": {\"post_training_bias\": {\"methods\": \"all\"}}}";

    /// <summary>Clarify's analysis_config.json; a file that is not one is a ClientError saying what to fix.</summary>
    public static Config ParseConfig(string json, string what)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new ClientError($"{what} is not JSON ({e.Message}): give {ConfigExample}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new ClientError($"{what} is not a JSON object: give {ConfigExample}");
            List<string>? headers = null;
            if (root.TryGetProperty("headers", out var h))
            {
                if (h.ValueKind != JsonValueKind.Array || h.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
                    throw new ClientError($"{what}: headers must be an array of column names");
                headers = [.. h.EnumerateArray().Select(x => x.GetString()!)];
            }
            string Column(JsonElement e, string member)
            {
                if (e.ValueKind == JsonValueKind.String && e.GetString() is { Length: > 0 } name) return name;
                if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var index) && index >= 0)
                {
                    if (headers is null) return "_c" + index.ToString(CultureInfo.InvariantCulture);
                    return index < headers.Count ? headers[index] : throw new ClientError($"{what}: {member} {index} is past the {headers.Count} headers");
                }
                throw new ClientError($"{what}: {member} must be a column name or a column index (0 for the first)");
            }
            if (!root.TryGetProperty("label", out var l)) throw new ClientError($"{what} has no label: a bias analysis needs the label column, {ConfigExample}");
            var label = Column(l, "label");
            if (!root.TryGetProperty("label_values_or_threshold", out var lv) || Values(lv) is not { Count: > 0 } labelValues)
                throw new ClientError($"{what} has no label_values_or_threshold: give the label values that are the positive outcome (such as [1]), or a threshold above which a label is positive");
            if (!root.TryGetProperty("facet", out var f) || f.ValueKind != JsonValueKind.Array || f.GetArrayLength() == 0)
                throw new ClientError($"{what} has no facet: give the sensitive column as facet [{{\"name_or_index\": ..., \"value_or_threshold\": [...]}}]");
            var facets = new List<FacetConfig>();
            foreach (var item in f.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("name_or_index", out var n))
                    throw new ClientError($"{what}: each facet needs a name_or_index");
                List<string>? values = null;
                if (item.TryGetProperty("value_or_threshold", out var v))
                    values = Values(v) ?? throw new ClientError($"{what}: facet value_or_threshold must be an array of values (or of one threshold)");
                facets.Add(new FacetConfig(Column(n, "facet name_or_index"), values is { Count: > 0 } ? values : null));
            }
            var group = root.TryGetProperty("group_variable", out var g) && g.ValueKind != JsonValueKind.Null ? Column(g, "group_variable") : null;

            IReadOnlyCollection<string>? pre = BiasMetrics.PreTraining, post = BiasMetrics.PostTraining;
            if (root.TryGetProperty("methods", out var methods))
            {
                if (methods.ValueKind != JsonValueKind.Object) throw new ClientError($"{what}: methods must be an object");
                pre = Methods(methods, "pre_training_bias", BiasMetrics.PreTraining, what);
                post = Methods(methods, "post_training_bias", BiasMetrics.PostTraining, what);
                if (pre is null && post is null)
                    throw new ClientError($"{what}: methods asks for no bias metrics: give methods.pre_training_bias or methods.post_training_bias (\"methods\": \"all\")");
            }
            double? threshold = null;
            if (root.TryGetProperty("probability_threshold", out var pt))
                // TryGetDouble: a number past a double's range (1e400) is refused as any other bad value.
                threshold = pt.ValueKind == JsonValueKind.Number && pt.TryGetDouble(out var t) && t is >= 0 and <= 1 ? t
                    : throw new ClientError($"{what}: probability_threshold must be a number between 0 and 1");
            string? predictorLabel = null, predictorProbability = null;
            if (root.TryGetProperty("predictor", out var p) && p.ValueKind == JsonValueKind.Object)
            {
                string? Attribute(string name) => p.TryGetProperty(name, out var x) ? x.ValueKind switch
                {
                    JsonValueKind.String => x.GetString(),
                    JsonValueKind.Number => x.GetRawText(),
                    _ => null,
                } : null;
                predictorLabel = Attribute("label");
                predictorProbability = Attribute("probability");
            }
            // The captured requests hold the features only: the dataset's headers less the label.
            var featureNames = headers?.Where(x => x != label).ToList();
            return new Config(label, labelValues, facets, group, featureNames, pre, post, threshold, predictorLabel, predictorProbability);
        }
    }

    static List<string>? Values(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Array) return null;
        var values = new List<string>();
        foreach (var v in e.EnumerateArray())
        {
            if (v.ValueKind is not (JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False)) return null;
            values.Add(ModelQuality.Label(ModelQuality.Scalar(v, "")));
        }
        return values;
    }

    static IReadOnlyCollection<string>? Methods(JsonElement methods, string member, string[] known, string what)
    {
        if (!methods.TryGetProperty(member, out var stage) || stage.ValueKind == JsonValueKind.Null) return null;
        if (stage.ValueKind != JsonValueKind.Object || !stage.TryGetProperty("methods", out var m))
            throw new ClientError($"{what}: methods.{member} must be {{\"methods\": \"all\"}} or {{\"methods\": [...]}}");
        if (m.ValueKind == JsonValueKind.String && m.GetString() == "all") return known;
        if (m.ValueKind != JsonValueKind.Array || m.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
            throw new ClientError($"{what}: methods.{member}.methods must be \"all\" or a list of metric names");
        // DCAcc: the name Strata once gave DCA (Clarify's), still accepted in a configuration.
        var names = m.EnumerateArray().Select(x => x.GetString() == "DCAcc" ? "DCA" : x.GetString()!).Distinct().ToList();
        foreach (var name in names)
            if (!known.Contains(name))
                throw new ClientError($"{what}: methods.{member}.methods names {name}, which is not one of {string.Join(", ", known)}");
        return names;
    }

    /// <summary>The metrics of one facet value at one stage.</summary>
    public sealed record FacetResult(string Facet, string ValueOrThreshold, List<BiasMetric> Metrics);

    /// <summary>An analysis: each stage's facet results (null for a stage not asked for).</summary>
    public sealed record Analysis(string Label, string LabelValueOrThreshold, List<FacetResult>? PreTraining, List<FacetResult>? PostTraining);

    /// <summary>One merged record: its true label, prediction (a label or a probability) and features.</summary>
    public readonly record struct BiasRecord(string Actual, string? Predicted, string? Probability, IReadOnlyList<Field> Features, string Where);

    /// <summary>Whether values given as one number are a threshold (the column continuous) or a
    /// value (categorical), by Clarify's rule (smclarify's common.series_datatype): more than one
    /// value given, or a column not all numbers, is categorical; a column with a fraction in it (a
    /// float column) is continuous; an integer column is continuous only when more than 5% of its
    /// values are distinct (so a 0/1 facet over 40 records, 2/40, stays categorical; over 39 it is
    /// a threshold). The label's integer column is never continuous here: a window's few records
    /// would otherwise make a 0/1 label's [1] a threshold that no label is above.</summary>
    static double? Threshold(List<string> given, IEnumerable<string?> column, bool integerByUniqueness = true)
    {
        if (given.Count != 1 || !double.TryParse(given[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var t)) return null;
        var distinct = new HashSet<double>();
        var count = 0;
        foreach (var v in column)
        {
            if (v is null) continue;
            if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x)) return null;
            distinct.Add(x);
            count++;
        }
        if (distinct.Any(x => x != Math.Floor(x))) return t;
        // distinct / count > 0.05, in integers (2/40 is exactly 0.05: categorical).
        return integerByUniqueness && (long)distinct.Count * 20 > count ? t : null;
    }

    static bool Positive(string? value, List<string> values, double? threshold)
    {
        if (value is null) return false;
        if (threshold is { } t) return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x > t;
        return values.Contains(ModelQuality.Label(value));
    }

    /// <summary>The metrics of the records, as the configuration asks for them.</summary>
    public static Analysis Analyze(Config config, IReadOnlyList<BiasRecord> records, double? probabilityThreshold)
    {
        if (records.Count == 0) throw new ClientError("there are no records to analyse");
        var labelThreshold = Threshold(config.LabelValues, records.Select(r => r.Actual), integerByUniqueness: false);
        var label = records.Select(r => Positive(r.Actual, config.LabelValues, labelThreshold)).ToArray();
        if (!label.Any(x => x) && labelThreshold is null && !records.Any(r => config.LabelValues.Contains(ModelQuality.Label(r.Actual))))
        {
            var seen = records.Select(r => ModelQuality.Label(r.Actual)).Distinct().Order(StringComparer.Ordinal).Take(10);
            throw new ClientError($"label_values_or_threshold {string.Join(",", config.LabelValues)} never occurs in the ground truth labels (they are {string.Join(", ", seen)}): give the label values that are the positive outcome");
        }
        var threshold = probabilityThreshold ?? config.ProbabilityThreshold ?? 0.5;
        var predicted = new bool[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            if (r.Probability is { } p)
            {
                if (!double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var probability))
                    throw new ClientError($"the probability '{p}' of {r.Where} is not a number");
                predicted[i] = probability > threshold;
            }
            else if (r.Predicted is not null) predicted[i] = Positive(r.Predicted, config.LabelValues, labelThreshold);
            else throw new ClientError($"{r.Where} has no prediction: set EndpointInput.InferenceAttribute (or ProbabilityAttribute) to find it in the endpoint's response");
        }

        var columns = records[0].Features.Select(f => f.Name).ToList();
        string? Value(BiasRecord r, string column)
        {
            foreach (var f in r.Features) if (f.Name == column) return f.Value;
            return null;
        }
        void RequireColumn(string column, string setting)
        {
            if (!records.Any(r => r.Features.Any(f => f.Name == column)))
                throw new ClientError($"{setting} {column} is not a column of the captured requests (their columns are {string.Join(", ", columns)}): name one of them, or give headers that name the request's CSV columns in order (the label's column left out)");
        }
        string?[]? group = null;
        if (config.GroupVariable is { } g)
        {
            RequireColumn(g, "group_variable");
            group = [.. records.Select(r => Value(r, g))];
        }

        var pre = config.PreTraining is null ? null : new List<FacetResult>();
        var post = config.PostTraining is null ? null : new List<FacetResult>();
        foreach (var facet in config.Facets)
        {
            RequireColumn(facet.Name, "facet name_or_index");
            var column = records.Select(r => Value(r, facet.Name)).ToArray();
            // The features of the flip test: every column but the facet (the label is not among them), as numbers.
            double[][]? features = null;
            string? featuresError = null;
            if (post is not null && config.PostTraining!.Contains("FT"))
            {
                var others = columns.Where(c => c != facet.Name).ToList();
                // Clarify refuses a flip test with no feature to find neighbours by.
                if (others.Count == 0) featuresError = $"FlipTest needs at least one feature besides the facet: {facet.Name} is the captured requests' only column";
                features = new double[records.Count][];
                for (var i = 0; i < records.Count && featuresError is null; i++)
                {
                    features[i] = new double[others.Count];
                    for (var c = 0; c < others.Count; c++)
                        if (!double.TryParse(Value(records[i], others[c]), NumberStyles.Float, CultureInfo.InvariantCulture, out features[i][c]) || !double.IsFinite(features[i][c]))
                        {
                            featuresError = $"FlipTest does not support non-numeric columns: {others[c]} of {records[i].Where} is not a number";
                            break;
                        }
                }
                if (featuresError is not null) features = null;
            }
            var groups = new List<(string Shown, bool[] Sensitive)>();
            if (facet.Values is { } values)
            {
                var t = Threshold(values, column);
                groups.Add((string.Join(",", values), [.. column.Select(v => Positive(v, values, t))]));
            }
            else
                foreach (var value in column.Where(v => v is not null).Select(v => ModelQuality.Label(v!)).Distinct().Order(StringComparer.Ordinal))
                    groups.Add((value, [.. column.Select(v => v is not null && ModelQuality.Label(v) == value)]));
            foreach (var (shown, sensitive) in groups)
            {
                if (pre is not null) pre.Add(new FacetResult(facet.Name, shown, BiasMetrics.ComputePreTraining(label, sensitive, group, config.PreTraining!)));
                if (post is not null) post.Add(new FacetResult(facet.Name, shown, BiasMetrics.ComputePostTraining(label, predicted, sensitive, group, features, featuresError, config.PostTraining!)));
            }
        }
        return new Analysis(config.Label, string.Join(",", config.LabelValues), pre, post);
    }

    // ---- the execution ----

    public static void Run(Func<string, string?> env, TextWriter log, Func<string, string> hostPath, Action<string, byte[]> write)
    {
        var output = env("output_path") is { Length: > 0 } o ? o : throw new ClientError("the environment variable output_path is missing: set it to the LocalPath of the output (usually /opt/ml/processing/output)");
        var source = env("dataset_source") is { Length: > 0 } s ? s : throw new ClientError("the environment variable dataset_source is missing: set it to the LocalPath of the endpoint input");
        var configPath = env("analysis_config") is { Length: > 0 } c ? c : throw new ClientError("the environment variable analysis_config is missing: set it to the path of the analysis_config.json (ModelBiasAppSpecification.ConfigUri)");
        var configFile = hostPath(configPath);
        if (!File.Exists(configFile)) throw new ClientError($"the analysis configuration {configPath} does not exist: ModelBiasAppSpecification.ConfigUri must name an analysis_config.json");
        var config = ParseConfig(File.ReadAllText(configFile), "the analysis configuration " + configPath.Split('/')[^1]);
        // The constraints before any data is read: a file that does not parse fails the job at once.
        Dictionary<(string, string, string, string), double>? baseline = null;
        if (env("baseline_constraints") is { Length: > 0 } constraintsPath)
        {
            var constraintsFile = hostPath(constraintsPath);
            if (!File.Exists(constraintsFile)) throw new ClientError($"the baseline constraints {constraintsPath} do not exist: ModelBiasBaselineConfig.ConstraintsResource.S3Uri must name a baseline's analysis.json");
            baseline = ParseConstraints(File.ReadAllText(constraintsFile), "ConstraintsResource " + constraintsPath.Split('/')[^1]);
        }
        double? threshold = null;
        if (env("probability_threshold_attribute") is { Length: > 0 } pt)
            threshold = double.TryParse(pt, NumberStyles.Float, CultureInfo.InvariantCulture, out var t) && t is >= 0 and <= 1 ? t
                : throw new ClientError($"probability_threshold_attribute {pt} is not a probability (a number between 0 and 1)");
        string? Attribute(string name) => env(name) is { Length: > 0 } v ? v : null;
        var probability = Attribute("probability_attribute") ?? config.PredictorProbability;
        var inference = Attribute("inference_attribute") ?? config.PredictorLabel ?? (probability is null ? "0" : null);
        var settings = new ModelQuality.Settings("BinaryClassification", inference, probability, threshold, config.Label);

        var sourceDir = hostPath(source).TrimEnd('/');
        if (!Directory.Exists(sourceDir)) throw new ClientError($"Job inputs had no data: {source} holds no captured data");
        var truthSource = env("ground_truth_source") is { Length: > 0 } g ? g
            : throw new ClientError("the environment variable ground_truth_source is missing: set it to the LocalPath of the ground truth input (GroundTruthS3Input)");
        var start = ModelQuality.Time(env, "start_time");
        var end = ModelQuality.Time(env, "end_time");
        var pairs = ModelQuality.Merge(settings, sourceDir, hostPath(truthSource).TrimEnd('/'), truthSource, start, end, log,
            new FeatureReader(config.FeatureNames, Attribute("features_attribute")));
        var records = pairs.Select(p => new BiasRecord(p.Actual, p.Probability is null ? p.Predicted : null, p.Probability, p.Features ?? [], p.Where)).ToList();
        var analysis = Analyze(config, records, threshold);
        log.WriteLine($"Computed the bias metrics of {records.Count} record(s) for {config.Facets.Count} facet(s)");

        var outputDir = hostPath(output);
        Directory.CreateDirectory(outputDir);
        write(Path.Combine(outputDir, "analysis.json"), Report(analysis));
        Monitoring.PublishMetrics(env, hostPath, write, MetricsOf(analysis));
        if (baseline is null)
        {
            log.WriteLine("No baseline constraints: wrote analysis.json only");
            return;
        }
        var violations = Evaluate(baseline, analysis, out var matched);
        // A baseline of another label, facet or stage checks nothing: say so rather than pass quietly.
        log.WriteLine(matched == 0
            ? $"Warning: none of the baseline's {baseline.Count} constraint(s) matches a metric of this analysis (their stage, facet, value_or_threshold and name must match): nothing was checked"
            : $"Checked {matched} metric(s) against the baseline's {baseline.Count} constraint(s)");
        write(Path.Combine(outputDir, "constraint_violations.json"), Violations(violations));
        foreach (var v in violations) log.WriteLine($"  {v.MetricName} of {v.Facet}={v.FacetValue}: {v.Description}");
        Monitoring.WriteMessage(hostPath, violations.Count);
    }

    /// <summary>The metrics CloudWatch is given: bias_metric_&lt;name&gt; of each facet value, with
    /// the stage, label and facet as dimensions; a metric Clarify could not compute is not published.</summary>
    public static IEnumerable<(string Name, double Value, IReadOnlyList<(string Name, string Value)> Dimensions)> MetricsOf(Analysis analysis)
    {
        foreach (var (stage, results) in new[] { ("Pre-training", analysis.PreTraining), ("Post-Training", analysis.PostTraining) })
            foreach (var r in results ?? [])
                foreach (var m in r.Metrics.Where(m => m.Error is null))
                    yield return ("bias_metric_" + m.Name, Published(m.Value),
                        [("BiasStage", stage), ("Label", analysis.Label), ("LabelValue", analysis.LabelValueOrThreshold), ("Facet", r.Facet), ("FacetValue", r.ValueOrThreshold)]);
    }

    static double Published(double value) => double.IsPositiveInfinity(value) ? Infinity : double.IsNegativeInfinity(value) ? -Infinity : value;

    static readonly JsonWriterOptions Indented = new() { Indented = true };

    /// <summary>A number as Clarify (Python) writes a float: 1.0, not 1.</summary>
    static string Text(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.') || text.Contains('E') ? text : text + ".0";
    }

    /// <summary>analysis.json in Clarify's layout: per stage the label, its positive values, and per
    /// facet the list of its values' metrics, each a name, a description and a value (null, with an
    /// error, when it cannot be computed).</summary>
    public static byte[] Report(Analysis analysis)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Indented))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            foreach (var (member, results) in new[] { ("pre_training_bias_metrics", analysis.PreTraining), ("post_training_bias_metrics", analysis.PostTraining) })
            {
                if (results is null) continue;
                w.WriteStartObject(member);
                w.WriteString("label", analysis.Label);
                w.WriteStartObject("facets");
                foreach (var facet in results.GroupBy(r => r.Facet))
                {
                    w.WriteStartArray(facet.Key);
                    foreach (var r in facet)
                    {
                        w.WriteStartObject();
                        w.WriteString("value_or_threshold", r.ValueOrThreshold);
                        w.WriteStartArray("metrics");
                        foreach (var m in r.Metrics)
                        {
                            w.WriteStartObject();
                            w.WriteString("name", m.Name);
                            w.WriteString("description", m.Description);
                            w.WritePropertyName("value");
                            if (m.Error is not null) w.WriteNullValue();
                            // JSON has no infinity: Clarify writes it as a string (CloudWatch alone gets 2.348543e108).
                            else if (double.IsPositiveInfinity(m.Value)) w.WriteStringValue("Infinity");
                            else if (double.IsNegativeInfinity(m.Value)) w.WriteStringValue("-Infinity");
                            else w.WriteRawValue(Text(m.Value), skipInputValidation: true);
                            if (m.Error is not null) w.WriteString("error", m.Error);
                            w.WriteEndObject();
                        }
                        w.WriteEndArray();
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                w.WriteEndObject();
                w.WriteString("label_value_or_threshold", analysis.LabelValueOrThreshold);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>A baseline's analysis.json as constraints: each (stage, facet, value, metric)'s
    /// value; a metric with no value constrains nothing.</summary>
    public static Dictionary<(string Stage, string Facet, string Value, string Metric), double> ParseConstraints(string json, string what)
    {
        var constraints = new Dictionary<(string, string, string, string), double>();
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            var any = false;
            foreach (var stage in new[] { "pre_training_bias_metrics", "post_training_bias_metrics" })
            {
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(stage, out var s)) continue;
                any = true;
                foreach (var facet in s.GetProperty("facets").EnumerateObject())
                    foreach (var entry in facet.Value.EnumerateArray())
                    {
                        var value = entry.GetProperty("value_or_threshold");
                        var shown = Shown(value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText());
                        foreach (var m in entry.GetProperty("metrics").EnumerateArray())
                        {
                            if (!m.TryGetProperty("value", out var v)) continue;
                            var name = m.GetProperty("name").GetString()!;
                            double limit;
                            if (v.ValueKind == JsonValueKind.Number)
                            {
                                // 1e400 reads as ∞ (or not at all): only "Infinity" says ∞.
                                if (!v.TryGetDouble(out limit) || !double.IsFinite(limit))
                                    throw new ClientError($"{what}: the value {v.GetRawText()} of {name} ({facet.Name}={shown}) is not a number a double holds: give a value between ±1.7976931348623157e308");
                            }
                            // Clarify's analysis.json writes ±∞ as strings.
                            else if (v.ValueKind == JsonValueKind.String && v.GetString() is "Infinity" or "-Infinity")
                                limit = v.GetString() == "Infinity" ? double.PositiveInfinity : double.NegativeInfinity;
                            else continue;
                            constraints[(stage, facet.Name, shown, name == "DCAcc" ? "DCA" : name)] = limit;
                        }
                    }
            }
            if (!any) throw new ClientError($"{what} has neither pre_training_bias_metrics nor post_training_bias_metrics: give the analysis.json of a bias baselining job (its values are the constraints)");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new ClientError($"{what} is not a bias analysis.json ({e.Message}): give the analysis.json of a bias baselining job (its values are the constraints)");
        }
        return constraints;
    }

    /// <summary>A value_or_threshold as the baseline and this window are matched by: each value's
    /// number written one way ("1.0" and "1" alike), as the analysis writes the values it is given.</summary>
    static string Shown(string valueOrThreshold) => string.Join(",", valueOrThreshold.Split(',').Select(ModelQuality.Label));

    public sealed record BiasViolation(string Facet, string FacetValue, string MetricName, string Description);

    /// <summary>The metrics worse than the baseline's: further from their fair value (0, or 1 for
    /// DI), as the developer guide's "Bias Drift Violations" says (a baseline DPPL of 0.2 takes 0.1
    /// and -0.2, not -0.3).</summary>
    public static List<BiasViolation> Evaluate(IReadOnlyDictionary<(string Stage, string Facet, string Value, string Metric), double> baseline, Analysis analysis,
        out int matched)
    {
        var violations = new List<BiasViolation>();
        matched = 0;
        foreach (var (stage, results) in new[] { ("pre_training_bias_metrics", analysis.PreTraining), ("post_training_bias_metrics", analysis.PostTraining) })
            foreach (var r in results ?? [])
                foreach (var m in r.Metrics.Where(m => m.Error is null))
                {
                    if (!baseline.TryGetValue((stage, r.Facet, Shown(r.ValueOrThreshold), m.Name), out var limit)) continue;
                    matched++;
                    var fair = BiasMetrics.Fair(m.Name);
                    // Both sides as CloudWatch has them: ±∞ as ±2.348543e108, so that ∞ is no worse than ∞.
                    var value = Published(m.Value);
                    limit = Published(limit);
                    if (Math.Abs(value - fair) > Math.Abs(limit - fair))
                        violations.Add(new BiasViolation(r.Facet, r.ValueOrThreshold, m.Name,
                            $"Value {Text(value)} does not meet the constraint requirement"));
                }
        return violations;
    }

    /// <summary>constraint_violations.json as a bias drift job writes it.</summary>
    public static byte[] Violations(List<BiasViolation> violations)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Indented))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteStartArray("violations");
            foreach (var v in violations)
            {
                w.WriteStartObject();
                w.WriteString("facet", v.Facet);
                w.WriteString("facet_value", v.FacetValue);
                w.WriteString("metric_name", v.MetricName);
                w.WriteString("constraint_check_type", "bias_drift_check");
                w.WriteString("description", v.Description);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }
}

/// <summary>The features of a captured request (<c>captureData.endpointInput</c>): CSV lines, a
/// record each, their columns named by the analysis configuration's headers (less the label) or
/// _c0, _c1, …; JSON objects (one, or an array of them) flattened by member name; or, with
/// <c>features_attribute</c> (EndpointInput.FeaturesAttribute), the JSON's array of values (or of
/// records) at that path, named as CSV columns are.</summary>
internal sealed class FeatureReader(IReadOnlyList<string>? names, string? featuresAttribute)
{
    string Name(int i) => names is not null && i < names.Count ? names[i] : "_c" + i.ToString(CultureInfo.InvariantCulture);

    List<Field> Positional(IEnumerable<string?> values) => [.. values.Select((v, i) => new Field(Name(i), v))];

    public List<IReadOnlyList<Field>> Read(JsonElement endpointInput, string where)
    {
        var data = endpointInput.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : throw new ClientError($"{where} has no endpointInput.data");
        var encoding = endpointInput.TryGetProperty("encoding", out var e) ? e.GetString() : "CSV";
        var contentType = endpointInput.TryGetProperty("observedContentType", out var c) ? c.GetString() : null;
        if (encoding == "BASE64")
        {
            try { data = Encoding.UTF8.GetString(Convert.FromBase64String(data)); }
            catch (FormatException) { throw new ClientError($"{where} has an endpointInput that is not base64"); }
            encoding = contentType is { } ct && ct.Contains("json", StringComparison.OrdinalIgnoreCase) ? "JSON" : "CSV";
        }
        var records = new List<IReadOnlyList<Field>>();
        if (encoding == "JSON")
        {
            JsonDocument doc;
            try { doc = JsonDocument.Parse(data); }
            catch (JsonException) { throw new ClientError($"{where} says its request is JSON but it is not"); }
            using (doc)
            {
                var root = featuresAttribute is null ? doc.RootElement : ModelQuality.Find(doc.RootElement, featuresAttribute, where, "features_attribute");
                var items = root.ValueKind == JsonValueKind.Array ? [.. root.EnumerateArray()] : new List<JsonElement> { root };
                if (items.Count > 0 && items.All(i => i.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array)))
                    return [Positional(items.Select(i => (string?)ModelQuality.Scalar(i, where)))];
                foreach (var item in items)
                {
                    if (item.ValueKind == JsonValueKind.Object)
                    {
                        var record = new List<Field>();
                        DatasetReader.Flatten(item, null, record);
                        records.Add(record);
                    }
                    else if (item.ValueKind == JsonValueKind.Array) records.Add(Positional(item.EnumerateArray().Select(v => (string?)ModelQuality.Scalar(v, where))));
                    else throw new ClientError($"{where}: the request's JSON must be an object, an array of values, or an array of records");
                }
            }
            return records;
        }
        var parser = new CsvParser(new StringReader(data), where);
        var fields = new List<string?>();
        while (parser.Next(fields)) records.Add(Positional(fields.ToList()));
        return records;
    }
}
