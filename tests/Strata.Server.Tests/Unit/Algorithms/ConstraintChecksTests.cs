using System.Text;
using System.Text.Json.Nodes;
using Strata.Algorithms;
using Strata.Algorithms.Monitor;

namespace Strata.Server.Tests.Unit;

/// <summary>Each check of a monitoring execution fires on data that breaks its constraint and stays
/// quiet on data drawn like the baseline; the baseline goes through the files the analyzer writes.</summary>
public sealed class ConstraintChecksTests
{
    static DatasetStatistics Rows(IEnumerable<(string Name, string? Value)[]> rows)
        => DatasetStatistics.Compute(rows.Select(r => (IReadOnlyList<Field>)[.. r.Select(f => new Field(f.Name, f.Value))]));

    /// <summary>age (integral 20..69), score (fractional), color (red/green/blue, all present).</summary>
    static IEnumerable<(string, string?)[]> Like(int n, int seed = 1, double shift = 0)
    {
        var random = new Random(seed);
        string[] colors = ["red", "green", "blue"];
        for (var i = 0; i < n; i++)
            yield return [("age", (20 + random.Next(50) + (int)shift).ToString()), ("score", (random.NextDouble() + shift).ToString("R")), ("color", colors[i % 3])];
    }

    static Baseline BaselineOf(DatasetStatistics statistics, Action<JsonNode>? edit = null)
    {
        var constraints = JsonNode.Parse(MonitorReport.Constraints(statistics))!;
        edit?.Invoke(constraints);
        return Baseline.Parse(constraints.ToJsonString(), Encoding.UTF8.GetString(MonitorReport.Statistics(statistics)));
    }

    static readonly Baseline Reference = BaselineOf(Rows(Like(2000)));

    static List<Violation> Check(IEnumerable<(string, string?)[]> rows) => ConstraintChecks.Evaluate(Reference, Rows(rows));

    [Fact]
    public void DataLikeTheBaselineHasNoViolations() => Assert.Empty(Check(Like(1000, seed: 2)));

    [Fact]
    public void DriftOfANumberIsTheLInfinityDistanceOfTheCdfs()
    {
        var violations = Check(Like(1000, seed: 2, shift: 30));
        var drift = violations.Where(v => v.ConstraintCheckType == "baseline_drift_check").Select(v => v.FeatureName).Order().ToList();
        Assert.Equal(["age", "score"], drift);
        // score moved wholly past the baseline's range: its CDFs differ by 1 everywhere between.
        var distances = new Dictionary<string, double>();
        ConstraintChecks.Evaluate(Reference, Rows(Like(1000, seed: 2, shift: 30)), distances);
        Assert.Equal(1.0, distances["score"], 6);
        Assert.Contains("exceeds threshold: 0.1", violations.First(v => v.FeatureName == "score").Description);
        // A shift smaller than the threshold allows stays quiet (0.05 of the unit range ≈ 0.05 distance).
        var small = new Dictionary<string, double>();
        Assert.DoesNotContain(ConstraintChecks.Evaluate(Reference, Rows(Like(2000, seed: 1, shift: 0.05)), small), v => v.FeatureName == "score");
        Assert.InRange(small["score"], 0.03, 0.07);
    }

    [Fact]
    public void CategoricalDriftAndUnknownValues()
    {
        // All blue: frequencies 1/3,1/3,1/3 → 0,0,1, an L-infinity distance of 2/3.
        var allBlue = Like(300, seed: 3).Select(r => new[] { r[0], r[1], ("color", (string?)"blue") });
        var violations = Check(allBlue);
        var drift = Assert.Single(violations, v => v.ConstraintCheckType == "baseline_drift_check");
        Assert.Equal("color", drift.FeatureName);
        Assert.Contains("Baseline drift distance: 0.667 exceeds threshold: 0.1", drift.Description);
        Assert.DoesNotContain(violations, v => v.ConstraintCheckType == "categorical_values_check");

        var purple = Like(300, seed: 3).Select((r, i) => new[] { r[0], r[1], ("color", (string?)(i % 2 == 0 ? "purple" : "red")) });
        var unknown = Assert.Single(Check(purple), v => v.ConstraintCheckType == "categorical_values_check");
        Assert.Contains("purple", unknown.Description);
        // A few unknown values, under domain_content_threshold (10 %), are let through.
        var rare = Like(300, seed: 3).Select((r, i) => i % 50 == 0 ? [r[0], r[1], ("color", (string?)"purple")] : r);
        Assert.DoesNotContain(Check(rare), v => v.ConstraintCheckType == "categorical_values_check");
    }

    [Fact]
    public void DataTypeCheck()
    {
        var words = Like(300, seed: 4).Select((r, i) => i % 4 == 0 ? [("age", (string?)"unknown"), r[1], r[2]] : r);
        var v = Assert.Single(Check(words), v => v.ConstraintCheckType == "data_type_check");
        Assert.Equal("age", v.FeatureName);
        Assert.Contains("Expected data type: Integral", v.Description);
        Assert.Contains("Only 75.0% of data is Integral", v.Description);
        // Fractions in an Integral column are a type mismatch too; integers in a Fractional one are not.
        Assert.Contains(Check(Like(300, seed: 4).Select(r => new[] { ("age", (string?)"20.5"), r[1], r[2] })), x => x.ConstraintCheckType == "data_type_check" && x.FeatureName == "age");
        Assert.DoesNotContain(Check(Like(300, seed: 4).Select(r => new[] { r[0], ("score", (string?)"0"), r[2] })), x => x.ConstraintCheckType == "data_type_check");
        // Under datatype_check_threshold: quiet.
        var few = Like(300, seed: 4).Select((r, i) => i % 20 == 0 ? [("age", (string?)"unknown"), r[1], r[2]] : r);
        Assert.DoesNotContain(Check(few), x => x.ConstraintCheckType == "data_type_check");
    }

    [Fact]
    public void CompletenessCheck()
    {
        var holes = Like(300, seed: 5).Select((r, i) => i % 10 == 0 ? [r[0], ("score", (string?)null), r[2]] : r);
        var v = Assert.Single(Check(holes), v => v.ConstraintCheckType == "completeness_check");
        Assert.Equal("score", v.FeatureName);
        Assert.Contains("Expected: 100.0%, Observed: 90.0%", v.Description);
        // A baseline that was itself 80 % complete accepts 90 %.
        var lenient = BaselineOf(Rows(Like(2000)), c => c["features"]![1]!["completeness"] = 0.8);
        Assert.DoesNotContain(ConstraintChecks.Evaluate(lenient, Rows(holes)), x => x.ConstraintCheckType == "completeness_check");
    }

    [Fact]
    public void MissingAndExtraColumns()
    {
        var missing = Check(Like(300, seed: 6).Select(r => new[] { r[0], r[1] }));
        var m = Assert.Single(missing);
        Assert.Equal(("color", "missing_column_check"), (m.FeatureName, m.ConstraintCheckType));
        Assert.Contains("Number of columns in current dataset: 2, Number of columns in baseline constraints: 3", m.Description);
        var extra = Assert.Single(Check(Like(300, seed: 6).Select(r => new[] { r[0], r[1], r[2], ("size", (string?)"1") })));
        Assert.Equal(("size", "extra_column_check"), (extra.FeatureName, extra.ConstraintCheckType));
    }

    [Fact]
    public void DisabledEvaluationAndComparisonReportNothing()
    {
        var off = BaselineOf(Rows(Like(2000)), c => c["monitoring_config"]!["evaluate_constraints"] = "Disabled");
        Assert.Empty(ConstraintChecks.Evaluate(off, Rows(Like(300, seed: 7, shift: 30).Select(r => new[] { r[0], r[1] }))));
        var noComparison = BaselineOf(Rows(Like(2000)), c => c["monitoring_config"]!["distribution_constraints"]!["perform_comparison"] = "Disabled");
        Assert.Empty(ConstraintChecks.Evaluate(noComparison, Rows(Like(300, seed: 7, shift: 30))));
        var threshold = BaselineOf(Rows(Like(2000)), c => c["monitoring_config"]!["distribution_constraints"]!["comparison_threshold"] = 1.5);
        Assert.Empty(ConstraintChecks.Evaluate(threshold, Rows(Like(300, seed: 7, shift: 30))));
    }

    [Fact]
    public void BaselineFilesThatDoNotParseSayWhich()
    {
        Assert.Contains("ConstraintsResource", Assert.Throws<ClientError>(() => Baseline.Parse("{", null, "ConstraintsResource constraints.json")).Message);
        Assert.Contains("no features array", Assert.Throws<ClientError>(() => Baseline.Parse("{}", null)).Message);
        Assert.Contains("statistics.json", Assert.Throws<ClientError>(() => Baseline.Parse("{\"features\":[]}", "[1,")).Message);
        Assert.Contains("inferred_type Number", Assert.Throws<ClientError>(() => Baseline.Parse("{\"features\":[{\"name\":\"a\",\"inferred_type\":\"Number\"}]}", null)).Message);
        // JSON of another shape is the file's fault too (a ClientError), not the analyzer's.
        Assert.Contains("constraints", Assert.Throws<ClientError>(() => Baseline.Parse("{\"features\":[1, \"a\"]}", null)).Message);
    }

    [Fact]
    public void TheCdfDistanceSweepAgreesWithRanks()
    {
        // Sketches big enough to have compacted (weights 1, 2, 4, …) and with ties across them.
        var random = new Random(3);
        var a = new KllSketch();
        var b = new KllSketch();
        for (var i = 0; i < 50_000; i++) a.Add(Math.Round(random.NextDouble() * 100, 1));
        for (var i = 0; i < 30_000; i++) b.Add(Math.Round(random.NextDouble() * 80 + 10, 1));
        double Total(KllSketch s) => s.Levels.Select((l, h) => (double)l.Count * (1L << h)).Sum();
        var points = a.Levels.SelectMany(l => l).Concat(b.Levels.SelectMany(l => l)).Distinct();
        var expected = points.Max(x => Math.Abs(a.Rank(x) / Total(a) - b.Rank(x) / Total(b)));
        Assert.Equal(expected, ConstraintChecks.CdfDistance(a, b), 12);
        Assert.Equal(0, ConstraintChecks.CdfDistance(a, a), 12);
        Assert.InRange(ConstraintChecks.CdfDistance(a, b), 0.09, 0.11);
    }
}

/// <summary>The metrics a data-quality execution hands over: one JSON line per metric, in the
/// format of SageMaker's monitoring containers (MetricName, Timestamp, Dimensions, Value).</summary>
public sealed class MonitoringMetricsTests
{
    [Fact]
    public void DriftNullAndNonNullPerFeature()
    {
        var statistics = DatasetStatistics.Compute([[new Field("a", "1"), new Field("b", null)], [new Field("a", "2"), new Field("b", "x")]]);
        var lines = Encoding.UTF8.GetString(Monitoring.Metrics(statistics, new Dictionary<string, double> { ["a"] = 0.25 }, "ep", "sched",
            DateTimeOffset.FromUnixTimeSeconds(7200))).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["feature_baseline_drift_a", "feature_non_null_a", "feature_null_a", "feature_non_null_b", "feature_null_b"],
            lines.Select(l => (string)l["MetricName"]!).ToList());
        Assert.Equal(0.25, (double)lines[0]["Value"]!);
        Assert.Equal(1, (double)lines[4]["Value"]!);
        Assert.Equal(7200, (long)lines[0]["Timestamp"]!);
        Assert.Equal("""[{"Name":"Endpoint","Value":"ep"},{"Name":"MonitoringSchedule","Value":"sched"}]""", lines[0]["Dimensions"]!.ToJsonString());
    }
}
