using System.Globalization;
using System.Text.Json;

namespace Strata.Algorithms.Monitor;

/// <summary>
/// statistics.json and constraints.json as SageMaker's model monitor analyzer writes them (the
/// schemas of the developer guide's "Schema for Statistics" and "Schema for Constraints"): numbers
/// as the analyzer's JSON has them (version 0.0, bounds and moments as doubles), 10 KLL buckets
/// from min to max with the sketch's parameters and levels, categorical buckets most frequent
/// first, and the constraints a baseline suggests with the default monitoring_config.
/// </summary>
public static class MonitorReport
{
    /// <summary>The distribution's buckets: 10, not configurable in SageMaker either.</summary>
    public const int NumericBuckets = 10;

    /// <summary>string_constraints.domains is suggested for a String feature of at most this many
    /// distinct values, of which at most a tenth occur once (Deequ's categorical range rule).</summary>
    public const int DomainLimit = 120;

    static readonly JsonWriterOptions Indented = new() { Indented = true };

    public static byte[] Statistics(DatasetStatistics statistics)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Indented))
        {
            w.WriteStartObject();
            Number(w, "version", 0.0);
            w.WriteStartObject("dataset");
            w.WriteNumber("item_count", statistics.ItemCount);
            w.WriteEndObject();
            w.WriteStartArray("features");
            foreach (var f in statistics.Features) Feature(w, f, statistics.ItemCount);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    static void Feature(Utf8JsonWriter w, FeatureAccumulator f, long items)
    {
        w.WriteStartObject();
        w.WriteString("name", f.Name);
        w.WriteString("inferred_type", f.Type.ToString());
        switch (f.Type)
        {
            case InferredType.Integral or InferredType.Fractional:
                w.WriteStartObject("numerical_statistics");
                Common(w, f, items);
                Number(w, "mean", f.Mean);
                Number(w, "sum", f.Sum);
                Number(w, "std_dev", f.StdDev);
                Number(w, "min", f.Min);
                Number(w, "max", f.Max);
                w.WriteStartObject("distribution");
                w.WriteStartObject("kll");
                w.WriteStartArray("buckets");
                foreach (var (lower, upper, count) in f.Sketch.Buckets(f.Min, f.Max, NumericBuckets))
                {
                    w.WriteStartObject();
                    Number(w, "lower_bound", lower);
                    Number(w, "upper_bound", upper);
                    w.WriteNumber("count", count);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartObject("sketch");
                w.WriteStartObject("parameters");
                Number(w, "c", f.Sketch.C);
                Number(w, "k", f.Sketch.K);
                w.WriteEndObject();
                w.WriteStartArray("data");
                foreach (var level in f.Sketch.Levels)
                {
                    w.WriteStartArray();
                    foreach (var item in level) Number(w, null, item);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
                break;
            case InferredType.String:
                w.WriteStartObject("string_statistics");
                Common(w, f, items);
                Number(w, "distinct_count", f.DistinctCount);
                if (f.Categories is { } categories)
                {
                    w.WriteStartObject("distribution");
                    w.WriteStartObject("categorical");
                    w.WriteStartArray("buckets");
                    foreach (var (value, count) in categories)
                    {
                        w.WriteStartObject();
                        w.WriteString("value", value);
                        w.WriteNumber("count", count);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                break;
        }
        w.WriteEndObject();
    }

    static void Common(Utf8JsonWriter w, FeatureAccumulator f, long items)
    {
        w.WriteStartObject("common");
        w.WriteNumber("num_present", f.Present);
        w.WriteNumber("num_missing", items - f.Present);
        w.WriteEndObject();
    }

    /// <param name="categoricalDriftMethod">LInfinity (the default) or ChiSquared, as the
    /// categorical_drift_method environment variable asks.</param>
    public static byte[] Constraints(DatasetStatistics statistics, string categoricalDriftMethod = "LInfinity")
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Indented))
        {
            w.WriteStartObject();
            Number(w, "version", 0.0);
            w.WriteStartArray("features");
            foreach (var f in statistics.Features)
            {
                w.WriteStartObject();
                w.WriteString("name", f.Name);
                w.WriteString("inferred_type", f.Type.ToString());
                Number(w, "completeness", statistics.ItemCount == 0 ? 0 : (double)f.Present / statistics.ItemCount);
                if (f.Type is InferredType.Integral or InferredType.Fractional)
                {
                    w.WriteStartObject("num_constraints");
                    w.WriteBoolean("is_non_negative", f.Min >= 0);
                    w.WriteEndObject();
                }
                else if (f.Type == InferredType.String && Domain(f) is { } domain)
                {
                    w.WriteStartObject("string_constraints");
                    w.WriteStartArray("domains");
                    foreach (var value in domain) w.WriteStringValue(value);
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("monitoring_config");
            w.WriteString("evaluate_constraints", "Enabled");
            w.WriteString("emit_metrics", "Enabled");
            Number(w, "datatype_check_threshold", 0.1);
            Number(w, "domain_content_threshold", 0.1);
            w.WriteStartObject("distribution_constraints");
            w.WriteString("perform_comparison", "Enabled");
            Number(w, "comparison_threshold", 0.1);
            w.WriteString("comparison_method", "Robust");
            Number(w, "categorical_comparison_threshold", 0.1);
            w.WriteString("categorical_drift_method", categoricalDriftMethod);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>The observed values, sorted, when the feature looks categorical: few distinct
    /// values, nearly all of which occur more than once.</summary>
    static List<string>? Domain(FeatureAccumulator f)
    {
        if (f.Categories is not { Count: > 0 and <= DomainLimit } categories) return null;
        var unique = categories.Count(c => c.Value == 1);
        return unique <= 0.1 * categories.Count ? [.. categories.Select(c => c.Key).Order(StringComparer.Ordinal)] : null;
    }

    /// <summary>A double as the analyzer's JSON writes it: always with a fraction or an exponent (1.0, not 1).</summary>
    static void Number(Utf8JsonWriter w, string? name, double value)
    {
        if (!double.IsFinite(value)) throw new ClientError($"a statistic is not a finite number ({value}): a feature's values are too large to add up");
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        if (!text.Contains('.') && !text.Contains('E')) text += ".0";
        if (name is not null) w.WritePropertyName(name);
        w.WriteRawValue(text, skipInputValidation: true);
    }
}
