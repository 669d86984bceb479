using Strata.Algorithms.Monitor;

namespace Strata.Server.Tests.Unit;

/// <summary>The drift statistics beside AWS's distance, against values worked another way: PSI and
/// Jensen–Shannon by their formulas on shares given by hand; the KS p-value at the classic 5%
/// critical value (λ = 1.3581), at 0.5 (0.9639), and at 0 and near it (1); the Wasserstein distance of a sample and itself shifted by
/// one (exactly 1); and a feature shifted by half its range (KS statistic 0.5, Wasserstein 500,
/// p-value ≈ 0), all from the sketches, which hold every value here (tolerance 1e-9 unless said).</summary>
public sealed class DriftStatisticsTests
{
    static BaselineFeature Feature(IEnumerable<double> values)
    {
        var f = new FeatureAccumulator("x");
        foreach (var v in values) f.Add(v.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return DriftStatistics.Observed(f);
    }

    static BaselineFeature Reference(IEnumerable<double> values) => Feature(values);

    [Fact]
    public void PsiAndJensenShannonFollowTheirFormulas()
    {
        double[] a = [0.5, 0.5, 0], b = [0.25, 0.5, 0.25];
        var expectedPsi = (0.25 - 0.5) * Math.Log(0.25 / 0.5) + (0.25 - 1e-4) * Math.Log(0.25 / 1e-4);
        Assert.Equal(expectedPsi, DriftStatistics.Psi(a, b), 1e-9);
        double[] m = [0.375, 0.5, 0.125];
        var js = 0.5 * (0.5 * Math.Log2(0.5 / 0.375) + 0.5 * Math.Log2(0.5 / 0.5)) + 0.5 * (0.25 * Math.Log2(0.25 / 0.375) + 0.5 * Math.Log2(1) + 0.25 * Math.Log2(0.25 / 0.125));
        Assert.Equal(Math.Sqrt(js), DriftStatistics.JensenShannon(a, b), 1e-9);
        Assert.Equal(0, DriftStatistics.JensenShannon(a, a), 1e-9);
        Assert.Equal(1, DriftStatistics.JensenShannon([1, 0], [0, 1]), 1e-9);
    }

    [Fact]
    public void TheKsPValueIsKolmogorovsDistribution()
    {
        const double n = 1e6;
        var en = Math.Sqrt(n * n / (2 * n));
        Assert.Equal(0.05, DriftStatistics.KsPValue(1.3581 / (en + 0.12 + 0.11 / en), n, n), 1e-3);
        Assert.Equal(1, DriftStatistics.KsPValue(0, 100, 100));
        // A window nearly the baseline (λ ≈ 0.014): the series does not converge, and the p-value is 1.
        Assert.Equal(1, DriftStatistics.KsPValue(0.002, 100, 100));
        // Q_KS(0.5) = 0.9639 (Kolmogorov's distribution, tabulated).
        var en100 = Math.Sqrt(50.0);
        Assert.Equal(0.9639, DriftStatistics.KsPValue(0.5 / (en100 + 0.12 + 0.11 / en100), 100, 100), 1e-4);
        Assert.True(DriftStatistics.KsPValue(0.5, 1000, 1000) < 1e-12);
    }

    [Fact]
    public void AShiftedSampleDriftsByItsShift()
    {
        var same = DriftStatistics.Of("x", Reference([0, 1, 2, 3]), Feature([1, 2, 3, 4]))!;
        Assert.Equal(1, same.Wasserstein!.Value, 1e-9);
        Assert.Equal(0.25, same.KsStatistic!.Value, 1e-9);

        var baseline = Enumerable.Range(1, 1000).Select(i => (double)i).ToList();
        var shifted = DriftStatistics.Of("x", Reference(baseline), Feature(baseline.Select(v => v + 500)))!;
        Assert.Equal(0.5, shifted.KsStatistic!.Value, 1e-9);
        Assert.Equal(500, shifted.Wasserstein!.Value, 1e-9);
        Assert.True(shifted.KsPValue < 1e-12);
        // Half the current values lie past the baseline's last decile: PSI far above 0.25, the usual "major shift".
        Assert.True(shifted.Psi > 1, $"{shifted.Psi}");
        var unchanged = DriftStatistics.Of("x", Reference(baseline), Feature(baseline))!;
        Assert.Equal((0.0, 0.0, 0.0, 1.0), (unchanged.Psi, unchanged.JensenShannon, unchanged.Wasserstein!.Value, unchanged.KsPValue!.Value));
    }

    [Fact]
    public void CategoriesHavePsiAndJensenShannonOnly()
    {
        var reference = new BaselineFeature("c", InferredType.String, null, [new("a", 50), new("b", 50)]);
        var current = new FeatureAccumulator("c");
        foreach (var v in Enumerable.Repeat("a", 75).Concat(Enumerable.Repeat("b", 25))) current.Add(v);
        var drift = DriftStatistics.Of("c", reference, DriftStatistics.Observed(current))!;
        Assert.Equal((0.75 - 0.5) * Math.Log(0.75 / 0.5) + (0.25 - 0.5) * Math.Log(0.25 / 0.5), drift.Psi, 1e-9);
        Assert.Null(drift.KsStatistic);
        Assert.Null(drift.Wasserstein);
    }
}
