using System.Globalization;
using System.Text.RegularExpressions;
using Strata.Server.Storage;

namespace Strata.Server.Services.CloudWatch;

/// <summary>
/// A CloudWatch statistic: the five standard ones (SampleCount, Average, Sum, Minimum, Maximum) or
/// an extended one — percentile <c>p99</c>/<c>p99.9</c>, trimmed mean <c>tm90</c>/<c>TM(10%:90%)</c>/
/// <c>TM(150:1000)</c>, winsorized mean <c>wm</c>, trimmed count <c>tc</c> and sum <c>ts</c>,
/// percentile rank <c>PR(:300)</c>, interquartile mean <c>IQM</c>. Extended statistics read the
/// bucket's distribution; a bucket fed by statistic sets has none and yields no value.
/// </summary>
public sealed partial record Statistic(string Name, Statistic.Kind What, double Low = 0, double High = 100, bool ByValue = false)
{
    public enum Kind { SampleCount, Average, Sum, Minimum, Maximum, Percentile, TrimmedMean, WinsorizedMean, TrimmedCount, TrimmedSum, PercentileRank }

    public static readonly string[] Standard = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

    public bool IsExtended => What > Kind.Maximum;

    /// <summary>The statistic a name denotes, or null when CloudWatch would refuse it.</summary>
    public static Statistic? Parse(string name)
    {
        switch (name)
        {
            case "SampleCount": return new(name, Kind.SampleCount);
            case "Average": return new(name, Kind.Average);
            case "Sum": return new(name, Kind.Sum);
            case "Minimum": return new(name, Kind.Minimum);
            case "Maximum": return new(name, Kind.Maximum);
            case "IQM": return new(name, Kind.TrimmedMean, 25, 75);
        }
        if (Short().Match(name) is { Success: true } s)
        {
            var n = double.Parse(s.Groups[2].Value, CultureInfo.InvariantCulture);
            if (n is < 0 or > 100) return null;
            return s.Groups[1].Value switch
            {
                "p" => new(name, Kind.Percentile, n, n),
                "tm" => new(name, Kind.TrimmedMean, 0, n),
                "wm" => new(name, Kind.WinsorizedMean, 0, n),
                "tc" => new(name, Kind.TrimmedCount, 0, n),
                "ts" => new(name, Kind.TrimmedSum, 0, n),
                _ => null,
            };
        }
        if (Ranged().Match(name) is { Success: true } r)
        {
            var lowText = r.Groups[2].Value;
            var highText = r.Groups[4].Value;
            var percent = r.Groups[3].Value == "%" || r.Groups[5].Value == "%";
            if (percent && ((lowText.Length > 0 && r.Groups[3].Value != "%") || (highText.Length > 0 && r.Groups[5].Value != "%"))) return null;
            var kind = r.Groups[1].Value switch
            {
                "TM" => Kind.TrimmedMean,
                "WM" => Kind.WinsorizedMean,
                "TC" => Kind.TrimmedCount,
                "TS" => Kind.TrimmedSum,
                "PR" => Kind.PercentileRank,
                _ => (Kind?)null,
            };
            if (kind is null || (kind == Kind.PercentileRank && percent) || (kind == Kind.WinsorizedMean && !percent)) return null;
            var low = lowText.Length == 0 ? (percent ? 0 : double.NegativeInfinity) : double.Parse(lowText, CultureInfo.InvariantCulture);
            var high = highText.Length == 0 ? (percent ? 100 : double.PositiveInfinity) : double.Parse(highText, CultureInfo.InvariantCulture);
            if (low > high || (percent && (low < 0 || high > 100))) return null;
            return new(name, kind.Value, low, high, ByValue: !percent);
        }
        return null;
    }

    [GeneratedRegex(@"\A(p|tm|wm|tc|ts)(\d{1,2}(?:\.\d{1,10})?|100)\z")]
    private static partial Regex Short();

    [GeneratedRegex(@"\A(TM|WM|TC|TS|PR)\((-?\d+(?:\.\d+)?|)(%?):(-?\d+(?:\.\d+)?|)(%?)\)\z")]
    private static partial Regex Ranged();

    /// <summary>The statistic of one bucket; null when it cannot be known (no distribution, or no
    /// value within a trimmed range).</summary>
    public double? Of(MetricBucket b)
    {
        if (b.SampleCount <= 0) return null;
        switch (What)
        {
            case Kind.SampleCount: return b.SampleCount;
            case Kind.Average: return b.Sum / b.SampleCount;
            case Kind.Sum: return b.Sum;
            case Kind.Minimum: return b.Minimum;
            case Kind.Maximum: return b.Maximum;
        }
        if (b.NoPercentiles) return null;
        var bins = b.Sketch is { } sketch ? sketch.Ascending().ToList() : [(b.Minimum, b.SampleCount)];
        var n = b.SampleCount;
        if (What == Kind.Percentile)
            return b.Sketch is { } s ? s.Quantile(Low / 100, b.Minimum, b.Maximum) : b.Minimum;

        // The values in (low, high]: bounds given as values, or as percentiles (0 % is below everything).
        double Percentile(double p) => b.Sketch?.Quantile(p / 100, b.Minimum, b.Maximum) ?? b.Minimum;
        var low = ByValue ? Low : Low <= 0 ? double.NegativeInfinity : Percentile(Low);
        var high = ByValue ? High : Percentile(High);
        double count = 0, sum = 0, below = 0, above = 0;
        foreach (var (v, c) in bins)
        {
            var value = Math.Clamp(v, b.Minimum, b.Maximum);
            if (value <= low) below += c;
            else if (value > high) above += c;
            else
            {
                count += c;
                sum += value * c;
            }
        }
        // Winsorized: values below the low percentile count as it, values above the high one as it.
        if (What == Kind.WinsorizedMean) return (sum + below * Percentile(Low) + above * high) / n;
        return What switch
        {
            Kind.TrimmedCount => count,
            Kind.TrimmedSum => sum,
            Kind.PercentileRank => 100 * count / n,
            _ => count > 0 ? sum / count : null,
        };
    }
}
