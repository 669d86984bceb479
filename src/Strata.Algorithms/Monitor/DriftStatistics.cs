using System.Text.Json;

namespace Strata.Algorithms.Monitor;

/// <summary>
/// The drift statistics AWS's analyzer does not give beside its L-infinity distance, per feature of
/// a data-quality execution (the <c>strata</c> member of constraint_violations.json): the
/// population stability index and the Jensen–Shannon distance over ten bins (the baseline's
/// deciles for a number, the categories for a string), and for numbers the two-sample
/// Kolmogorov–Smirnov statistic with its asymptotic p-value and the Wasserstein (earth mover's)
/// distance, all from the two KLL sketches (exact while a sketch holds every value).
/// </summary>
public static class DriftStatistics
{
    /// <summary>A window's feature as statistics.json gives it.</summary>
    public static BaselineFeature Observed(FeatureAccumulator f) => new(f.Name, f.Type, f.NumericCount > 0 ? f.Sketch : null, f.Categories);

    /// <summary>A bin's share below this is taken as this (PSI's logarithm of an empty bin).</summary>
    const double Floor = 1e-4;

    public sealed record Feature(string Name, double Psi, double JensenShannon, double? KsStatistic, double? KsPValue, double? Wasserstein);

    /// <summary>The statistics of one feature: the baseline's distribution against the window's
    /// (each as statistics.json gives it); null when they cannot be compared.</summary>
    public static Feature? Of(string name, BaselineFeature reference, BaselineFeature current)
    {
        if (reference.Type is InferredType.Integral or InferredType.Fractional)
        {
            if (reference.Sketch is not { Count: > 0 } baseline || current.Sketch is not { Count: > 0 } window) return null;
            var a = Weighted(baseline);
            var b = Weighted(window);
            double ta = a.Sum(p => p.Weight), tb = b.Sum(p => p.Weight);
            // Ten bins at the baseline's deciles (fewer when values repeat), each (lower, upper].
            var edges = Enumerable.Range(1, 9).Select(i => Quantile(a, ta, i / 10.0)).Distinct().ToList();
            var pa = Shares(a, ta, edges);
            var pb = Shares(b, tb, edges);
            var d = ConstraintChecks.CdfDistance(baseline, window);
            return new Feature(name, Psi(pa, pb), JensenShannon(pa, pb), d, KsPValue(d, ta, tb), Wasserstein(a, ta, b, tb));
        }
        if (reference.Categories is { Count: > 0 } categories && current.Categories is { Count: > 0 } observed)
        {
            var keys = categories.Select(c => c.Key).Union(observed.Select(c => c.Key), StringComparer.Ordinal).ToList();
            double[] Frequencies(IReadOnlyList<KeyValuePair<string, long>> counts)
            {
                var total = (double)counts.Sum(c => c.Value);
                var byKey = counts.GroupBy(c => c.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(c => c.Value), StringComparer.Ordinal);
                return [.. keys.Select(k => total == 0 ? 0 : byKey.GetValueOrDefault(k) / total)];
            }
            var pa = Frequencies(categories);
            var pb = Frequencies(observed);
            return new Feature(name, Psi(pa, pb), JensenShannon(pa, pb), null, null, null);
        }
        return null;
    }

    static List<(double Item, double Weight)> Weighted(KllSketch sketch)
    {
        var items = new List<(double Item, double Weight)>();
        for (var h = 0; h < sketch.Levels.Count; h++)
            foreach (var item in sketch.Levels[h]) items.Add((item, Math.Pow(2, h)));
        items.Sort((p, q) => p.Item.CompareTo(q.Item));
        return items;
    }

    static double Quantile(List<(double Item, double Weight)> items, double total, double q)
    {
        double seen = 0;
        foreach (var (item, weight) in items)
        {
            seen += weight;
            if (seen >= q * total) return item;
        }
        return items[^1].Item;
    }

    /// <summary>The share of the weight in each bin: (−∞, e₀], (e₀, e₁], …, (eₙ, ∞).</summary>
    static double[] Shares(List<(double Item, double Weight)> items, double total, List<double> edges)
    {
        var shares = new double[edges.Count + 1];
        foreach (var (item, weight) in items)
        {
            var bin = edges.BinarySearch(item);
            shares[bin >= 0 ? bin : ~bin] += weight / total;
        }
        return shares;
    }

    /// <summary>Σ (current − baseline) · ln(current / baseline), shares floored at 1e-4.</summary>
    public static double Psi(double[] baseline, double[] current)
    {
        double psi = 0;
        for (var i = 0; i < baseline.Length; i++)
        {
            double a = Math.Max(baseline[i], Floor), b = Math.Max(current[i], Floor);
            psi += (b - a) * Math.Log(b / a);
        }
        return psi;
    }

    /// <summary>The square root of the Jensen–Shannon divergence in bits: 0 for the same
    /// distribution, 1 for ones with nothing in common.</summary>
    public static double JensenShannon(double[] p, double[] q)
    {
        double divergence = 0;
        for (var i = 0; i < p.Length; i++)
        {
            var m = (p[i] + q[i]) / 2;
            if (p[i] > 0) divergence += p[i] / 2 * Math.Log2(p[i] / m);
            if (q[i] > 0) divergence += q[i] / 2 * Math.Log2(q[i] / m);
        }
        return Math.Sqrt(Math.Max(0, divergence));
    }

    /// <summary>The asymptotic p-value of the two-sample Kolmogorov–Smirnov statistic
    /// <paramref name="d"/> for samples of <paramref name="n"/> and <paramref name="m"/> values:
    /// Q_KS((√nₑ + 0.12 + 0.11/√nₑ)·d), nₑ = nm/(n+m), Q_KS(λ) = 2 Σ (−1)^(j−1) e^(−2j²λ²).</summary>
    public static double KsPValue(double d, double n, double m)
    {
        var en = Math.Sqrt(n * m / (n + m));
        var lambda = (en + 0.12 + 0.11 / en) * d;
        if (lambda < 1e-3) return 1;
        double sum = 0, sign = 1;
        for (var j = 1; j <= 100; j++)
        {
            var term = sign * Math.Exp(-2 * j * j * lambda * lambda);
            sum += term;
            if (Math.Abs(term) < 1e-12 * Math.Abs(sum)) return Math.Clamp(2 * sum, 0, 1);
            sign = -sign;
        }
        // The alternating series has not converged: λ is so small that the p-value is 1, as
        // Numerical Recipes' probks answers.
        return 1;
    }

    /// <summary>∫ |F_a(x) − F_b(x)| dx over the two step CDFs, swept once over both sorted item lists.</summary>
    static double Wasserstein(List<(double Item, double Weight)> a, double ta, List<(double Item, double Weight)> b, double tb)
    {
        double ca = 0, cb = 0, area = 0;
        int i = 0, j = 0;
        double? previous = null;
        while (i < a.Count || j < b.Count)
        {
            var x = j >= b.Count || (i < a.Count && a[i].Item <= b[j].Item) ? a[i].Item : b[j].Item;
            if (previous is { } p) area += Math.Abs(ca / ta - cb / tb) * (x - p);
            while (i < a.Count && a[i].Item <= x) ca += a[i++].Weight;
            while (j < b.Count && b[j].Item <= x) cb += b[j++].Weight;
            previous = x;
        }
        return area;
    }

    /// <summary>The <c>strata</c> member of constraint_violations.json: per feature its statistics
    /// (null where one does not apply).</summary>
    public static void Write(Utf8JsonWriter w, IReadOnlyList<Feature> features)
    {
        w.WriteStartObject("strata");
        w.WriteStartObject("drift_statistics");
        foreach (var f in features)
        {
            w.WriteStartObject(f.Name);
            w.WriteNumber("population_stability_index", f.Psi);
            w.WriteNumber("jensen_shannon_distance", f.JensenShannon);
            if (f.KsStatistic is { } ks)
            {
                w.WriteStartObject("kolmogorov_smirnov");
                w.WriteNumber("statistic", ks);
                w.WriteNumber("p_value", f.KsPValue!.Value);
                w.WriteEndObject();
            }
            if (f.Wasserstein is { } wd) w.WriteNumber("wasserstein_distance", wd);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
