namespace Strata.Algorithms.Monitor;

/// <summary>One bias metric of a facet value: its value, or why it has none (a facet value with no
/// records, a label that never occurs in one group), as Clarify reports a metric it cannot compute.</summary>
public sealed record BiasMetric(string Name, string Description, double Value, string? Error = null);

/// <summary>
/// SageMaker Clarify's bias metrics of a binary outcome (the label, or the predicted label, in the
/// positive values or above the threshold) between the facet's sensitive group d (the records
/// whose facet is one of its values, or above its threshold) and the rest a, as the developer
/// guide's "Pre-training Bias Metrics" and "Post-training Data and Model Bias Metrics" define
/// them. A ratio whose denominator is 0 is ±∞ (0 when its numerator is 0 too), and a difference of
/// two infinite ratios is 0, as Clarify computes them; a metric that needs both groups (or, for
/// CDDL/CDDPL, both outcomes) fails with an error instead.
/// </summary>
public static class BiasMetrics
{
    public static readonly string[] PreTraining = ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"];
    public static readonly string[] PostTraining = ["DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT"];

    public static string Description(string name) => name switch
    {
        "CI" => "Class Imbalance (CI)",
        "DPL" => "Difference in Positive Proportions in Labels (DPL)",
        "KL" => "Kullback-Liebler Divergence (KL)",
        "JS" => "Jensen-Shannon Divergence (JS)",
        "LP" => "L-p Norm (LP)",
        "TVD" => "Total Variation Distance (TVD)",
        "KS" => "Kolmogorov-Smirnov Distance (KS)",
        "CDDL" => "Conditional Demographic Disparity in Labels (CDDL)",
        "DPPL" => "Difference in Positive Proportions in Predicted Labels (DPPL)",
        "DI" => "Disparate Impact (DI)",
        "DCA" => "Difference in Conditional Acceptance (DCA)",
        "DCR" => "Difference in Conditional Rejection (DCR)",
        "RD" => "Recall Difference (RD)",
        "SD" => "Specificity Difference (SD)",
        "DAR" => "Difference in Acceptance Rates (DAR)",
        "DRR" => "Difference in Rejection Rates (DRR)",
        "AD" => "Accuracy Difference (AD)",
        "CDDPL" => "Conditional Demographic Disparity in Predicted Labels (CDDPL)",
        "TE" => "Treatment Equality (TE)",
        "FT" => "Flip Test (FT)",
        _ => throw new ArgumentException($"no bias metric {name}", nameof(name)),
    };

    /// <summary>The value a metric has when the groups are treated alike: 1 for DI (a ratio), 0 for the others.</summary>
    public static double Fair(string name) => name == "DI" ? 1 : 0;

    /// <summary>a / b, with Clarify's rule for b = 0.</summary>
    static double Divide(double a, double b) => b == 0 ? a == 0 ? 0 : a < 0 ? double.NegativeInfinity : double.PositiveInfinity : a / b;

    /// <summary>x − y, 0 when both are the same infinity (Clarify's rule).</summary>
    static double Difference(double x, double y) => double.IsInfinity(x) && x == y ? 0 : x - y;

    sealed class EmptyGroup(string message) : Exception(message);

    /// <summary>The counts of one group (a or d): records, positive labels, positive predictions,
    /// and the confusion matrix of label against prediction.</summary>
    readonly record struct Counts(int N, int Positive, int PredictedPositive, int TP, int FP, int FN, int TN);

    static (Counts A, Counts D) Count(bool[] label, bool[]? predicted, bool[] facet)
    {
        int[] a = new int[7], d = new int[7];
        for (var i = 0; i < label.Length; i++)
        {
            var c = facet[i] ? d : a;
            var p = predicted?[i] ?? false;
            c[0]++;
            if (label[i]) c[1]++;
            if (p) c[2]++;
            if (label[i] && p) c[3]++;
            if (!label[i] && p) c[4]++;
            if (label[i] && !p) c[5]++;
            if (!label[i] && !p) c[6]++;
        }
        static Counts Of(int[] c) => new(c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
        return (Of(a), Of(d));
    }

    /// <summary>The pre-training metrics asked for (in <see cref="PreTraining"/>'s order): of the
    /// label against the facet; CDDL only with a group variable.</summary>
    public static List<BiasMetric> ComputePreTraining(bool[] label, bool[] facet, string?[]? group, IReadOnlyCollection<string> methods)
    {
        var (a, d) = Count(label, null, facet);
        var results = new List<BiasMetric>();
        foreach (var name in PreTraining.Where(methods.Contains))
        {
            if (name == "CDDL" && group is null) continue;
            results.Add(Compute(name, () => name switch
            {
                "CI" => Both(a, d, () => (double)(a.N - d.N) / (a.N + d.N)),
                "DPL" => Both(a, d, () => (double)a.Positive / a.N - (double)d.Positive / d.N),
                "CDDL" => ConditionalDemographicDisparity(label, facet, group!),
                _ => Distribution(name, a, d),
            }));
        }
        return results;
    }

    /// <summary>The post-training metrics asked for (in <see cref="PostTraining"/>'s order);
    /// CDDPL only with a group variable, FT only with the records' features (numbers, the facet and
    /// the label not among them).</summary>
    public static List<BiasMetric> ComputePostTraining(bool[] label, bool[] predicted, bool[] facet, string?[]? group, double[][]? features, string? featuresError,
        IReadOnlyCollection<string> methods)
    {
        var (a, d) = Count(label, predicted, facet);
        var results = new List<BiasMetric>();
        foreach (var name in PostTraining.Where(methods.Contains))
        {
            if (name == "CDDPL" && group is null) continue;
            results.Add(Compute(name, () => name switch
            {
                "DPPL" => Both(a, d, () => (double)a.PredictedPositive / a.N - (double)d.PredictedPositive / d.N),
                "DI" => Both(a, d, () => Divide((double)d.PredictedPositive / d.N, (double)a.PredictedPositive / a.N)),
                // c = n(1) / n̂(1): observed positives per predicted positive.
                "DCA" => Both(a, d, () => Difference(Divide(a.Positive, a.PredictedPositive), Divide(d.Positive, d.PredictedPositive))),
                // r = n(0) / n̂(0): observed negatives per predicted negative.
                "DCR" => Both(a, d, () => Difference(Divide(d.N - d.Positive, d.N - d.PredictedPositive), Divide(a.N - a.Positive, a.N - a.PredictedPositive))),
                "RD" => Both(a, d, () => Difference(Divide(a.TP, a.TP + a.FN), Divide(d.TP, d.TP + d.FN))),
                "SD" => Both(a, d, () => Difference(Divide(d.TN, d.TN + d.FP), Divide(a.TN, a.TN + a.FP))),
                "DAR" => Both(a, d, () => Difference(Divide(a.TP, a.PredictedPositive), Divide(d.TP, d.PredictedPositive))),
                "DRR" => Both(a, d, () => Difference(Divide(d.TN, d.N - d.PredictedPositive), Divide(a.TN, a.N - a.PredictedPositive))),
                "AD" => Both(a, d, () => Difference(Divide(a.TP + a.TN, a.N), Divide(d.TP + d.TN, d.N))),
                "TE" => Both(a, d, () => Difference(Divide(d.FN, d.FP), Divide(a.FN, a.FP))),
                "CDDPL" => ConditionalDemographicDisparity(predicted, facet, group!),
                _ => Both(a, d, () => FlipTest(predicted, facet, features ?? throw new EmptyGroup(featuresError ?? "FT needs the records' features"))),
            }));
        }
        return results;
    }

    static BiasMetric Compute(string name, Func<double> value)
    {
        try { return new BiasMetric(name, Description(name), value()); }
        catch (EmptyGroup e) { return new BiasMetric(name, Description(name), double.NaN, e.Message); }
    }

    static double Both(Counts a, Counts d, Func<double> value)
    {
        if (d.N == 0) throw new EmptyGroup("Facet set is empty: no record has the facet's value");
        if (a.N == 0) throw new EmptyGroup("Negated facet set is empty: every record has the facet's value");
        return value();
    }

    /// <summary>KL, JS, LP (p = 2), TVD and KS of the label's distribution in a against d, over the
    /// outcomes both groups have (Clarify's aligned non-zero distributions).</summary>
    static double Distribution(string name, Counts a, Counts d) => Both(a, d, () =>
    {
        var pa = new List<double>();
        var pd = new List<double>();
        foreach (var (na, nd) in new[] { (a.N - a.Positive, d.N - d.Positive), (a.Positive, d.Positive) })
            if (na > 0 && nd > 0)
            {
                pa.Add((double)na / a.N);
                pd.Add((double)nd / d.N);
            }
        if (pa.Count == 0) throw new EmptyGroup("No instance of common facet found, dataset may be too small");
        var diffs = pa.Zip(pd, (x, y) => Math.Abs(x - y)).ToList();
        return name switch
        {
            "KL" => pa.Zip(pd, (x, y) => x * Math.Log(x / y)).Sum(),
            "JS" => 0.5 * pa.Zip(pd, (x, y) => x * Math.Log(x / ((x + y) / 2)) + y * Math.Log(y / ((x + y) / 2))).Sum(),
            "LP" => Math.Sqrt(diffs.Sum(v => v * v)),
            "TVD" => 0.5 * diffs.Sum(),
            _ => diffs.Max(),
        };
    });

    /// <summary>CDD = Σᵢ nᵢ·DDᵢ / n over the groups i of the group variable, DDᵢ being the share of
    /// d among group i's negative outcomes less its share among the positive ones (0 for a group
    /// with none of them).</summary>
    static double ConditionalDemographicDisparity(bool[] outcome, bool[] facet, string?[] group)
    {
        if (!outcome.Any(o => o)) throw new EmptyGroup("No positive labels in set");
        if (outcome.All(o => o)) throw new EmptyGroup("No negative labels in set");
        double sum = 0;
        foreach (var g in Enumerable.Range(0, group.Length).GroupBy(i => group[i] ?? ""))
        {
            int accepted = 0, acceptedD = 0, rejected = 0, rejectedD = 0;
            foreach (var i in g)
            {
                if (outcome[i]) { accepted++; if (facet[i]) acceptedD++; }
                else { rejected++; if (facet[i]) rejectedD++; }
            }
            var dd = (rejected == 0 ? 0 : (double)rejectedD / rejected) - (accepted == 0 ? 0 : (double)acceptedD / accepted);
            sum += g.Count() * dd;
        }
        return sum / group.Length;
    }

    /// <summary>Clarify's flip test: each record of d is given the predicted label a k-nearest-
    /// neighbour vote (Euclidean; k = 5, or 1 when a has at most 9 records) of a's records and
    /// their predicted labels would give it; FT = (F⁺ − F⁻) / n_d, F⁺ counting the records the model
    /// predicts positive and the vote negative, F⁻ the reverse. Of equally near neighbours the
    /// earlier record is taken.</summary>
    static double FlipTest(bool[] predicted, bool[] facet, double[][] features)
    {
        var a = Enumerable.Range(0, facet.Length).Where(i => !facet[i]).ToArray();
        var d = Enumerable.Range(0, facet.Length).Where(i => facet[i]).ToArray();
        var k = a.Length > 9 ? 5 : 1;
        int flippedPositive = 0, flippedNegative = 0;
        // The k nearest so far, nearest first: a record of d costs O(|a|·k), not a sort of all of a.
        var nearest = new (double Distance, int Index)[k];
        foreach (var i in d)
        {
            var found = 0;
            var x = features[i];
            for (var j = 0; j < a.Length; j++)
            {
                double s = 0;
                var y = features[a[j]];
                for (var c = 0; c < x.Length; c++) s += (x[c] - y[c]) * (x[c] - y[c]);
                // Strictly nearer only: of equal distances the earlier record (smaller j) stays.
                if (found == k && s >= nearest[k - 1].Distance) continue;
                var at = found < k ? found++ : k - 1;
                while (at > 0 && nearest[at - 1].Distance > s)
                {
                    nearest[at] = nearest[at - 1];
                    at--;
                }
                nearest[at] = (s, j);
            }
            var votes = 0;
            for (var j = 0; j < k; j++) if (predicted[a[nearest[j].Index]]) votes++;
            var asIfA = 2 * votes > k;
            if (predicted[i] && !asIfA) flippedPositive++;
            if (!predicted[i] && asIfA) flippedNegative++;
        }
        return (double)(flippedPositive - flippedNegative) / d.Length;
    }
}
