namespace Strata.Algorithms.Monitor;

/// <summary>
/// Kernel SHAP (Lundberg and Lee, 2017), as SageMaker Clarify computes a record's feature
/// attributions: the model is asked for records whose features are the record's (a coalition)
/// or the baseline's (the rest), each coalition's value is the mean prediction over the baseline
/// rows, and the SHAP values are the weighted least-squares fit of those values under the Shapley
/// kernel, constrained to add up to the record's prediction less the expected value. With every
/// coalition (2^M − 2 of them fit in num_samples) the fit is the exact Shapley value; with fewer,
/// coalitions are drawn by the kernel's weight of their size, each with its complement.
/// </summary>
public static class KernelShap
{
    /// <summary>A coalition: which features are the record's (the others the baseline's), and its
    /// weight in the fit.</summary>
    public readonly record struct Coalition(bool[] Mask, double Weight);

    /// <summary>shap's "auto" sample count: 2M + 2048.</summary>
    public static int DefaultSamples(int features) => 2 * features + 2048;

    /// <summary>The coalitions one record is explained with: all of sizes 1..M−1 weighted by the
    /// Shapley kernel when they fit in <paramref name="samples"/>, else <paramref name="samples"/>
    /// drawn (sizes by kernel weight, then uniformly among subsets of that size), each weighing one.</summary>
    public static List<Coalition> Coalitions(int features, int samples, Random random)
    {
        var m = features;
        var result = new List<Coalition>();
        if (m < 2) return result;
        if (m < 31 && (1L << m) - 2 <= samples)
        {
            for (long bits = 1; bits < (1L << m) - 1; bits++)
            {
                var mask = new bool[m];
                var size = 0;
                for (var i = 0; i < m; i++)
                    if ((bits & (1L << i)) != 0) { mask[i] = true; size++; }
                result.Add(new Coalition(mask, (m - 1) / (Binomial(m, size) * size * (m - size))));
            }
            return result;
        }
        // The kernel's total weight of the coalitions of size s is (M−1)/(s(M−s)).
        var sizeWeights = new double[m];
        for (var s = 1; s < m; s++) sizeWeights[s] = (m - 1.0) / (s * (m - s)) + sizeWeights[s - 1];
        var total = sizeWeights[m - 1];
        var order = Enumerable.Range(0, m).ToArray();
        for (var drawn = 0; drawn < Math.Max(1, samples / 2); drawn++)
        {
            var u = random.NextDouble() * total;
            var size = 1;
            while (size < m - 1 && sizeWeights[size] < u) size++;
            random.Shuffle(order);
            var mask = new bool[m];
            for (var i = 0; i < size; i++) mask[order[i]] = true;
            result.Add(new Coalition(mask, 1));
            result.Add(new Coalition([.. mask.Select(b => !b)], 1));
        }
        return result;
    }

    static double Binomial(int n, int k)
    {
        double r = 1;
        for (var i = 1; i <= k; i++) r = r * (n - k + i) / i;
        return r;
    }

    /// <summary>The SHAP values: the fit of <paramref name="values"/> (each coalition's mean
    /// prediction) with φ adding up to <paramref name="prediction"/> − <paramref name="expected"/>.
    /// The constraint eliminates the last feature's value, leaving an unconstrained fit of M−1.</summary>
    public static double[] Solve(IReadOnlyList<Coalition> coalitions, IReadOnlyList<double> values, double prediction, double expected, int features)
    {
        var m = features;
        var gap = prediction - expected;
        if (m == 1) return [gap];
        var k = m - 1;
        var a = new double[k, k];
        var b = new double[k];
        var x = new double[k];
        for (var j = 0; j < coalitions.Count; j++)
        {
            var (mask, w) = coalitions[j];
            var last = mask[k] ? 1.0 : 0.0;
            var y = values[j] - expected - last * gap;
            for (var i = 0; i < k; i++) x[i] = (mask[i] ? 1.0 : 0.0) - last;
            for (var r = 0; r < k; r++)
            {
                if (x[r] == 0) continue;
                b[r] += w * x[r] * y;
                for (var c = 0; c < k; c++) a[r, c] += w * x[r] * x[c];
            }
        }
        // Drawn coalitions may leave a feature never varied: a trace-scaled ridge keeps the system solvable.
        double trace = 0;
        for (var i = 0; i < k; i++) trace += a[i, i];
        for (var i = 0; i < k; i++) a[i, i] += 1e-12 * Math.Max(trace, 1);
        var phi = SolveLinear(a, b, k);
        var result = new double[m];
        Array.Copy(phi, result, k);
        result[k] = gap - phi.Sum();
        return result;
    }

    /// <summary>Gaussian elimination with partial pivoting (k is the number of features less one).</summary>
    static double[] SolveLinear(double[,] a, double[] b, int k)
    {
        for (var col = 0; col < k; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < k; r++)
                if (Math.Abs(a[r, col]) > Math.Abs(a[pivot, col])) pivot = r;
            if (pivot != col)
            {
                for (var c = 0; c < k; c++) (a[col, c], a[pivot, c]) = (a[pivot, c], a[col, c]);
                (b[col], b[pivot]) = (b[pivot], b[col]);
            }
            var d = a[col, col];
            if (d == 0) continue;
            for (var r = col + 1; r < k; r++)
            {
                var f = a[r, col] / d;
                if (f == 0) continue;
                for (var c = col; c < k; c++) a[r, c] -= f * a[col, c];
                b[r] -= f * b[col];
            }
        }
        var x = new double[k];
        for (var r = k - 1; r >= 0; r--)
        {
            var s = b[r];
            for (var c = r + 1; c < k; c++) s -= a[r, c] * x[c];
            x[r] = a[r, r] == 0 ? 0 : s / a[r, r];
        }
        return x;
    }

    /// <summary>Global SHAP values from the records' local ones, as Clarify's agg_method says:
    /// mean_abs (the mean of |φ|), median (of φ) or mean_sq (the mean of φ²).</summary>
    public static double Aggregate(IEnumerable<double> local, string method)
    {
        var values = local.ToArray();
        if (values.Length == 0) return 0;
        switch (method)
        {
            case "mean_sq": return values.Average(v => v * v);
            case "median":
                Array.Sort(values);
                var mid = values.Length / 2;
                return values.Length % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
            default: return values.Average(Math.Abs);
        }
    }

    /// <summary>
    /// Clarify's feature attribution drift: the nDCG of the current ranking of the features (by
    /// their global SHAP values, highest first) with the baseline's attributions as the gains,
    /// against the baseline's own ranking: Σ a(f′ᵢ)/log₂(i+1) over Σ a(fᵢ)/log₂(i+1). It is 1 when
    /// the order is kept, and falls most when the baseline's most important features drop. Features
    /// the baseline does not have gain nothing; a baseline whose attributions are all 0 is kept.
    /// </summary>
    public static double Ndcg(IReadOnlyDictionary<string, double> baseline, IReadOnlyDictionary<string, double> current)
    {
        double Gain(string feature) => baseline.TryGetValue(feature, out var v) ? v : 0;
        static double Dcg(IEnumerable<double> gains) => gains.Select((g, i) => g / Math.Log2(i + 2)).Sum();
        var ideal = Dcg(baseline.Values.OrderByDescending(v => v));
        if (ideal <= 0) return 1;
        var live = current.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => Gain(kv.Key));
        return Dcg(live) / ideal;
    }
}
