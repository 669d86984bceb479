using System.Globalization;
using System.Text.Json;

namespace Strata.Algorithms.Monitor;

/// <summary>One entry of constraint_violations.json.</summary>
public sealed record Violation(string FeatureName, string ConstraintCheckType, string Description);

/// <summary>What a baseline's statistics.json keeps of a feature that a monitoring execution
/// compares with: its type and its distribution (the KLL sketch of a number, the categorical
/// buckets of a string).</summary>
public sealed record BaselineFeature(string Name, InferredType Type, KllSketch? Sketch, IReadOnlyList<KeyValuePair<string, long>>? Categories);

/// <summary>A feature's constraints in constraints.json.</summary>
public sealed record FeatureConstraint(string Name, InferredType Type, double? Completeness, IReadOnlyList<string>? Domains);

/// <summary>constraints.json's monitoring_config, with the analyzer's defaults for what it leaves out.</summary>
public sealed record MonitoringConfig
{
    public bool EvaluateConstraints { get; init; } = true;
    public bool EmitMetrics { get; init; } = true;
    public double DatatypeCheckThreshold { get; init; } = 0.1;
    public double DomainContentThreshold { get; init; } = 0.1;
    public bool PerformComparison { get; init; } = true;
    public double ComparisonThreshold { get; init; } = 0.1;
    public double CategoricalComparisonThreshold { get; init; } = 0.1;
    public string CategoricalDriftMethod { get; init; } = "LInfinity";
}

/// <summary>A baseline: the features of its statistics.json and its constraints.json.</summary>
public sealed record Baseline(IReadOnlyList<FeatureConstraint> Constraints, MonitoringConfig Config, IReadOnlyDictionary<string, BaselineFeature> Statistics)
{
    /// <summary>constraints.json and (optionally) statistics.json as the analyzer writes them; a
    /// file that does not parse is a ClientError that names it and what is wrong.</summary>
    public static Baseline Parse(string constraintsJson, string? statisticsJson, string constraintsName = "constraints.json", string statisticsName = "statistics.json")
    {
        var constraints = new List<FeatureConstraint>();
        var config = new MonitoringConfig();
        try
        {
            using var doc = JsonDocument.Parse(constraintsJson);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("features", out var features) || features.ValueKind != JsonValueKind.Array)
                throw new ClientError($"the baseline constraints {constraintsName} has no features array: give the constraints.json a baselining job wrote");
            foreach (var f in features.EnumerateArray())
            {
                var name = Text(f, "name") ?? throw new ClientError($"a feature of the baseline constraints {constraintsName} has no name");
                IReadOnlyList<string>? domains = null;
                if (f.TryGetProperty("string_constraints", out var sc) && sc.ValueKind == JsonValueKind.Object
                    && sc.TryGetProperty("domains", out var d) && d.ValueKind == JsonValueKind.Array)
                    domains = [.. d.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText())];
                constraints.Add(new FeatureConstraint(name, Type(Text(f, "inferred_type"), constraintsName, name), Number(f, "completeness"), domains));
            }
            if (root.TryGetProperty("monitoring_config", out var mc) && mc.ValueKind == JsonValueKind.Object)
            {
                var dc = mc.TryGetProperty("distribution_constraints", out var x) && x.ValueKind == JsonValueKind.Object ? x : default;
                config = new MonitoringConfig
                {
                    EvaluateConstraints = Text(mc, "evaluate_constraints") != "Disabled",
                    EmitMetrics = Text(mc, "emit_metrics") != "Disabled",
                    DatatypeCheckThreshold = Number(mc, "datatype_check_threshold") ?? 0.1,
                    DomainContentThreshold = Number(mc, "domain_content_threshold") ?? 0.1,
                    PerformComparison = dc.ValueKind != JsonValueKind.Object || Text(dc, "perform_comparison") != "Disabled",
                    ComparisonThreshold = dc.ValueKind == JsonValueKind.Object ? Number(dc, "comparison_threshold") ?? 0.1 : 0.1,
                    CategoricalComparisonThreshold = dc.ValueKind == JsonValueKind.Object ? Number(dc, "categorical_comparison_threshold") ?? 0.1 : 0.1,
                    CategoricalDriftMethod = dc.ValueKind == JsonValueKind.Object ? Text(dc, "categorical_drift_method") ?? "LInfinity" : "LInfinity",
                };
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            // Not JSON, or JSON of another shape (a member of the wrong kind): the user's file, not the analyzer, is at fault.
            throw new ClientError($"the baseline constraints {constraintsName} is not as a baselining job writes it ({e.Message}): give the constraints.json a baselining job wrote");
        }
        if (config.CategoricalDriftMethod is not ("LInfinity" or "ChiSquared"))
            throw new ClientError($"categorical_drift_method {config.CategoricalDriftMethod} of {constraintsName} is not one of LInfinity, ChiSquared");

        var statistics = statisticsJson is null ? new Dictionary<string, BaselineFeature>(StringComparer.Ordinal) : ParseStatistics(statisticsJson, statisticsName);
        return new Baseline(constraints, config, statistics);
    }

    /// <summary>statistics.json as the analyzer writes it (a baseline's, or an execution's): each
    /// feature's type, KLL sketch and categories.</summary>
    public static Dictionary<string, BaselineFeature> ParseStatistics(string statisticsJson, string statisticsName = "statistics.json")
    {
        var statistics = new Dictionary<string, BaselineFeature>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(statisticsJson);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("features", out var features) || features.ValueKind != JsonValueKind.Array)
                throw new ClientError($"the baseline statistics {statisticsName} has no features array: give the statistics.json a baselining job wrote");
            foreach (var f in features.EnumerateArray())
            {
                var name = Text(f, "name") ?? throw new ClientError($"a feature of the baseline statistics {statisticsName} has no name");
                var type = Type(Text(f, "inferred_type"), statisticsName, name);
                KllSketch? sketch = null;
                List<KeyValuePair<string, long>>? categories = null;
                if (f.TryGetProperty("numerical_statistics", out var ns) && Path(ns, "distribution", "kll", "sketch") is { } s)
                {
                    var parameters = s.TryGetProperty("parameters", out var p) ? p : default;
                    var k = p.ValueKind == JsonValueKind.Object ? (int)(Number(p, "k") ?? KllSketch.DefaultK) : KllSketch.DefaultK;
                    var c = p.ValueKind == JsonValueKind.Object ? Number(p, "c") ?? KllSketch.DefaultC : KllSketch.DefaultC;
                    var data = s.TryGetProperty("data", out var dd) && dd.ValueKind == JsonValueKind.Array
                        ? dd.EnumerateArray().Select(level => (IReadOnlyList<double>)[.. level.EnumerateArray().Select(v => v.GetDouble())]).ToList()
                        : [];
                    try { sketch = KllSketch.FromData(k, c, data); }
                    catch (ArgumentOutOfRangeException e) { throw new ClientError($"the KLL sketch of {name} in {statisticsName} has parameters the sketch cannot take ({e.Message})"); }
                }
                if (f.TryGetProperty("string_statistics", out var ss) && Path(ss, "distribution", "categorical", "buckets") is { ValueKind: JsonValueKind.Array } buckets)
                    categories = [.. buckets.EnumerateArray().Select(b => new KeyValuePair<string, long>(Text(b, "value") ?? "", (long)(Number(b, "count") ?? 0)))];
                statistics[name] = new BaselineFeature(name, type, sketch, categories);
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new ClientError($"the baseline statistics {statisticsName} is not as a baselining job writes it ({e.Message}): give the statistics.json a baselining job wrote");
        }
        catch (InvalidOperationException e) { throw new ClientError($"the baseline statistics {statisticsName} has a value of the wrong kind ({e.Message})"); }
        return statistics;
    }

    static JsonElement? Path(JsonElement e, params string[] names)
    {
        foreach (var n in names)
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(n, out e)) return null;
        }
        return e;
    }

    static string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    static double? Number(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    static InferredType Type(string? text, string file, string feature) => text switch
    {
        "Integral" => InferredType.Integral,
        "Fractional" => InferredType.Fractional,
        "String" => InferredType.String,
        "Unknown" or null => InferredType.Unknown,
        _ => throw new ClientError($"the inferred_type {text} of {feature} in {file} is not one of Integral, Fractional, String, Unknown"),
    };
}

/// <summary>
/// The data-quality checks a monitoring execution makes of the statistics of its window against
/// a baseline, as the Model Monitor container names them (the developer guide's "Schema for
/// Violations"): missing_column_check and extra_column_check (a baseline feature the data lacks,
/// a feature the baseline lacks), data_type_check (fewer values of the baseline's type than
/// 1 − datatype_check_threshold), completeness_check (less present than the constraint's
/// completeness), categorical_values_check (more values outside the constraint's domains than
/// domain_content_threshold) and baseline_drift_check: the L-infinity distance between the
/// baseline's and the data's distributions — the largest difference of their normalised CDFs
/// (computed from the two KLL sketches over every item either holds) for a number, of their
/// normalised category frequencies for a string — above comparison_threshold
/// (categorical_comparison_threshold for strings). Pure: statistics in, violations out.
/// </summary>
public static class ConstraintChecks
{
    /// <summary>The distances of the features that could be compared, by name (for the metrics).</summary>
    public static List<Violation> Evaluate(Baseline baseline, DatasetStatistics current, IDictionary<string, double>? distances = null)
    {
        var violations = new List<Violation>();
        var features = current.Features.ToDictionary(f => f.Name, StringComparer.Ordinal);
        var config = baseline.Config;
        var known = baseline.Constraints.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);

        foreach (var constraint in baseline.Constraints)
        {
            var name = constraint.Name;
            if (!features.TryGetValue(name, out var feature))
            {
                if (config.EvaluateConstraints)
                    violations.Add(new Violation(name, "missing_column_check",
                        $"There are missing columns in current dataset. Number of columns in current dataset: {current.Features.Count}, Number of columns in baseline constraints: {baseline.Constraints.Count}"));
                continue;
            }
            if (config.EvaluateConstraints)
            {
                if (DataTypeMatch(constraint.Type, feature) is { } match && match < 1 - config.DatatypeCheckThreshold)
                    violations.Add(new Violation(name, "data_type_check",
                        $"Data type match requirement is not met. Expected data type: {constraint.Type}, Expected match: 100.0%. Observed: Only {Percent(match)} of data is {constraint.Type}."));
                var completeness = current.ItemCount == 0 ? 0 : (double)feature.Present / current.ItemCount;
                if (constraint.Completeness is { } expected && completeness < expected - 1e-12)
                    violations.Add(new Violation(name, "completeness_check",
                        $"Data completeness requirement is not met. Expected: {Percent(expected)}, Observed: {Percent(completeness)} of data is present."));
                if (constraint.Domains is { Count: > 0 } domains && feature.Present > 0 && feature.Categories is { } categories)
                {
                    var domain = domains.ToHashSet(StringComparer.Ordinal);
                    var outside = categories.Where(c => !domain.Contains(c.Key)).ToList();
                    var fraction = outside.Sum(c => c.Value) / (double)feature.Present;
                    if (fraction > config.DomainContentThreshold)
                        violations.Add(new Violation(name, "categorical_values_check",
                            $"Categorical values requirement is not met. {Percent(fraction)} of values are outside the baseline domain (threshold {Percent(config.DomainContentThreshold)}); values not in the baseline: {string.Join(", ", outside.Take(10).Select(c => c.Key))}{(outside.Count > 10 ? ", …" : "")}"));
                }
            }
            if (config.PerformComparison && baseline.Statistics.TryGetValue(name, out var reference) && Distance(reference, feature, config) is { } distance)
            {
                distances?.Add(name, distance);
                var threshold = reference.Type == InferredType.String ? config.CategoricalComparisonThreshold : config.ComparisonThreshold;
                if (config.EvaluateConstraints && distance > threshold)
                    violations.Add(new Violation(name, "baseline_drift_check",
                        $"Baseline drift distance: {Format(distance)} exceeds threshold: {Format(threshold)}"));
            }
        }
        if (config.EvaluateConstraints)
            foreach (var feature in current.Features.Where(f => !known.Contains(f.Name)))
                violations.Add(new Violation(feature.Name, "extra_column_check",
                    $"There are extra columns in current dataset. Number of columns in current dataset: {current.Features.Count}, Number of columns in baseline constraints: {baseline.Constraints.Count}"));
        return violations;
    }

    /// <summary>The share of present values of the baseline's type (a number is Fractional too); null when any type will do.</summary>
    static double? DataTypeMatch(InferredType expected, FeatureAccumulator feature)
    {
        if (feature.Present == 0) return null;
        return expected switch
        {
            InferredType.Integral => (double)feature.IntegralCount / feature.Present,
            InferredType.Fractional => (double)feature.NumericCount / feature.Present,
            _ => null,
        };
    }

    /// <summary>The L-infinity distance between the baseline's and the data's distributions, or null when they cannot be compared.</summary>
    public static double? Distance(BaselineFeature reference, FeatureAccumulator current, MonitoringConfig config)
    {
        if (reference.Type is InferredType.Integral or InferredType.Fractional)
        {
            if (reference.Sketch is not { Count: > 0 } baseline || current.NumericCount == 0) return null;
            return CdfDistance(baseline, current.Sketch);
        }
        if (reference.Type == InferredType.String && reference.Categories is { Count: > 0 } categories && current.Categories is { Count: > 0 } observed)
        {
            if (config.CategoricalDriftMethod != "LInfinity")
                throw new ClientError($"categorical_drift_method {config.CategoricalDriftMethod} is not supported by Strata's analyzer in monitoring executions: set it to LInfinity in the baseline constraints' monitoring_config.distribution_constraints");
            return FrequencyDistance(categories, observed);
        }
        return null;
    }

    /// <summary>sup over x of |F_a(x) − F_b(x)|, each CDF normalised by its sketch's total weight; the
    /// supremum of two step functions is reached at one of their items. One sweep over both sorted
    /// sketches (n log n), not a rank query per item (n², seconds per feature at k=2048).</summary>
    public static double CdfDistance(KllSketch a, KllSketch b)
    {
        var wa = Weighted(a);
        var wb = Weighted(b);
        double ta = wa.Sum(p => (double)p.Weight), tb = wb.Sum(p => (double)p.Weight);
        if (ta == 0 || tb == 0) return 0;
        double ca = 0, cb = 0, worst = 0;
        int i = 0, j = 0;
        while (i < wa.Count || j < wb.Count)
        {
            // The next distinct item of either sketch; both CDFs step past every item equal to it.
            var x = j >= wb.Count || (i < wa.Count && wa[i].Item <= wb[j].Item) ? wa[i].Item : wb[j].Item;
            while (i < wa.Count && wa[i].Item <= x) ca += wa[i++].Weight;
            while (j < wb.Count && wb[j].Item <= x) cb += wb[j++].Weight;
            worst = Math.Max(worst, Math.Abs(ca / ta - cb / tb));
        }
        return worst;

        static List<(double Item, long Weight)> Weighted(KllSketch sketch)
        {
            var items = new List<(double Item, long Weight)>();
            for (var h = 0; h < sketch.Levels.Count; h++)
                foreach (var item in sketch.Levels[h]) items.Add((item, 1L << Math.Min(h, 62)));
            items.Sort((p, q) => p.Item.CompareTo(q.Item));
            return items;
        }
    }

    /// <summary>max over values of |p_a(v) − p_b(v)|, each frequency over its own total.</summary>
    public static double FrequencyDistance(IReadOnlyList<KeyValuePair<string, long>> a, IReadOnlyList<KeyValuePair<string, long>> b)
    {
        double ta = a.Sum(c => c.Value), tb = b.Sum(c => c.Value);
        // A baseline of empty buckets has no distribution to drift from (a NaN distance would break the report).
        if (ta == 0 || tb == 0) return 0;
        var pa = a.GroupBy(c => c.Key).ToDictionary(g => g.Key, g => g.Sum(c => c.Value) / ta, StringComparer.Ordinal);
        var pb = b.GroupBy(c => c.Key).ToDictionary(g => g.Key, g => g.Sum(c => c.Value) / tb, StringComparer.Ordinal);
        return pa.Keys.Union(pb.Keys).Max(k => Math.Abs(pa.GetValueOrDefault(k) - pb.GetValueOrDefault(k)));
    }

    static string Percent(double fraction) => (fraction * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    static string Format(double value) => value.ToString("0.################", CultureInfo.InvariantCulture);

    /// <summary>constraint_violations.json as the container writes it, and after AWS's members
    /// Strata's own (<see cref="DriftStatistics"/>) when given.</summary>
    public static byte[] Report(IReadOnlyList<Violation> violations, IReadOnlyList<DriftStatistics.Feature>? drift = null)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("violations");
            foreach (var v in violations)
            {
                w.WriteStartObject();
                w.WriteString("feature_name", v.FeatureName);
                w.WriteString("constraint_check_type", v.ConstraintCheckType);
                w.WriteString("description", v.Description);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (drift is not null) DriftStatistics.Write(w, drift);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
