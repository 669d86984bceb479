using System.Globalization;

namespace Strata.Algorithms;

/// <summary>
/// Hyperparameters as SageMaker passes them (strings), read by name with AWS-like checks. Every
/// name an algorithm reads is remembered, so that <see cref="RejectUnknown"/> can name one it
/// does not know, as AWS's algorithms do.
/// </summary>
public sealed class Hyperparameters(IReadOnlyDictionary<string, string> values)
{
    readonly HashSet<string> _known = new(StringComparer.Ordinal);

    public bool Has(string name)
    {
        _known.Add(name);
        return values.ContainsKey(name);
    }

    public string? String(string name)
    {
        _known.Add(name);
        return values.TryGetValue(name, out var v) ? v.Trim() : null;
    }

    public string Required(string name) => String(name) ?? throw new ClientError($"Missing required hyperparameter: '{name}'");

    public string Choice(string name, string? defaultValue, params string[] allowed)
    {
        var value = (defaultValue is null ? Required(name) : String(name) ?? defaultValue).ToLowerInvariant();
        return allowed.Contains(value) ? value
            : throw new ClientError($"Hyperparameter '{name}': value '{value}' is not one of the allowed values [{string.Join(", ", allowed)}]");
    }

    public int Int(string name, int? defaultValue, int min = int.MinValue, int max = int.MaxValue)
    {
        var text = defaultValue is null ? Required(name) : String(name);
        if (text is null) return defaultValue!.Value;
        // SageMaker's SDKs pass integers as "50" and sometimes "50.0".
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || d != Math.Floor(d) || double.IsInfinity(d))
            throw new ClientError($"Hyperparameter '{name}': value '{text}' is not an integer");
        if (d < min || d > max) throw new ClientError($"Hyperparameter '{name}': value {text} is out of range [{min}, {(max == int.MaxValue ? "inf" : max)}]");
        return (int)d;
    }

    public double Double(string name, double? defaultValue, double min = double.NegativeInfinity, double max = double.PositiveInfinity,
        bool minExclusive = false)
    {
        var text = defaultValue is null ? Required(name) : String(name);
        if (text is null) return defaultValue!.Value;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || double.IsNaN(d))
            throw new ClientError($"Hyperparameter '{name}': value '{text}' is not a number");
        if (d < min || d > max || (minExclusive && d == min))
            throw new ClientError($"Hyperparameter '{name}': value {text} is out of range {(minExclusive ? "(" : "[")}{Format(min)}, {Format(max)}]");
        return d;
    }

    /// <summary>A number, or "auto" (AWS's Linear Learner default for many): null then.</summary>
    public double? DoubleOrAuto(string name, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        var text = String(name);
        return text is null || text.Equals("auto", StringComparison.OrdinalIgnoreCase) ? null : Double(name, 0, min, max);
    }

    /// <summary>An integer, or "auto" (the default of several of AWS's k-means settings): null then.</summary>
    public int? IntOrAuto(string name, int min = int.MinValue, int max = int.MaxValue)
    {
        var text = String(name);
        return text is null || text.Equals("auto", StringComparison.OrdinalIgnoreCase) ? null : Int(name, 0, min, max);
    }

    public bool Bool(string name, bool defaultValue)
    {
        var text = String(name);
        if (text is null) return defaultValue;
        return text.ToLowerInvariant() switch
        {
            "true" or "1" => true,
            "false" or "0" => false,
            _ => throw new ClientError($"Hyperparameter '{name}': value '{text}' is not a boolean (true or false)"),
        };
    }

    /// <summary>Fails naming the first hyperparameter no reader asked for. SageMaker's own
    /// (sagemaker_*, and _tuning_objective_metric from tuning jobs) are let through.</summary>
    public void RejectUnknown()
    {
        var unknown = values.Keys.Where(k => !_known.Contains(k) && !k.StartsWith("sagemaker_", StringComparison.Ordinal) && k != "_tuning_objective_metric")
            .Order(StringComparer.Ordinal).FirstOrDefault();
        if (unknown is not null) throw new ClientError($"Additional hyperparameters are not allowed ('{unknown}' was unexpected)");
    }

    static string Format(double d) => double.IsInfinity(d) ? (d > 0 ? "inf" : "-inf") : d.ToString(CultureInfo.InvariantCulture);
}
