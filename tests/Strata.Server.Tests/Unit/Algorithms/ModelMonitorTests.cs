using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Strata.Algorithms.Monitor;

namespace Strata.Server.Tests.Unit;

/// <summary>The KLL sketch against exact ranks: every item kept while they fit, the total weight
/// always n, and quantile ranks within the sketch's error bound once it compacts.</summary>
public sealed class KllSketchTests
{
    static double[] Values(int n, int seed, Func<Random, double> draw)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => draw(random))];
    }

    /// <summary>The largest rank error / n over the 1 %…99 % quantiles: |estimated − exact rank| of
    /// the exact quantile, and how far p·n is from the exact ranks (exclusive…inclusive, which ties
    /// widen) of the sketch's own p-quantile.</summary>
    static double MaxRankError(KllSketch sketch, double[] values)
    {
        var sorted = values.Order().ToArray();
        long Below(double x) => LowerBound(sorted, x, inclusive: false);
        long AtMost(double x) => LowerBound(sorted, x, inclusive: true);
        var worst = 0.0;
        for (var p = 1; p <= 99; p++)
        {
            var q = sorted[(int)Math.Ceiling(p / 100.0 * sorted.Length) - 1];
            worst = Math.Max(worst, Math.Abs(sketch.Rank(q) - AtMost(q)) / (double)sorted.Length);
            var estimated = sketch.Quantile(p / 100.0);
            var target = p / 100.0 * sorted.Length;
            var distance = target < Below(estimated) ? Below(estimated) - target : target > AtMost(estimated) ? target - AtMost(estimated) : 0;
            worst = Math.Max(worst, distance / sorted.Length);
        }
        return worst;
    }

    /// <summary>How many sorted values are &lt; x (or ≤ x).</summary>
    static long LowerBound(double[] sorted, double x, bool inclusive)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (sorted[mid] < x || (inclusive && sorted[mid] == x)) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    [Fact]
    public void KeepsEveryItemWhileTheyFitAndIsThenExact()
    {
        var values = Values(1500, 1, r => r.NextDouble() * 100);
        var sketch = new KllSketch();
        foreach (var v in values) sketch.Add(v);
        Assert.Single(sketch.Levels);
        Assert.Equal(1500, sketch.Levels[0].Count);
        Assert.Equal(0, MaxRankError(sketch, values), 9);
        Assert.Equal(values.Min(), sketch.Quantile(0));
        Assert.Equal(values.Max(), sketch.Quantile(1));
    }

    [Theory]
    [InlineData(2048, 0.64, 1_000_000, 0.005)]
    [InlineData(256, 0.64, 300_000, 0.03)]
    [InlineData(64, 0.7, 200_000, 0.1)]
    public void QuantileRanksAreWithinTheBound(int k, double c, int n, double bound)
    {
        // Bounds ~2–3× DataSketches' 99 % normalized rank error for k (1.7/k^0.94 … : 0.0013 at
        // 2048, 0.010 at 256, 0.037 at 64); a sketch that lost weight or ordered wrongly is far off.
        foreach (var (name, draw) in new (string, Func<Random, double>)[]
        {
            ("uniform", r => r.NextDouble()),
            ("lognormal", r => Math.Exp(Normal(r) * 2)),
            ("few values", r => r.Next(7)),
        })
        {
            var values = Values(n, k, draw);
            var sketch = new KllSketch(k, c);
            foreach (var v in values) sketch.Add(v);
            Assert.Equal(n, sketch.Count);
            Assert.Equal(n, sketch.Levels.Select((level, h) => (long)level.Count << h).Sum());
            Assert.True(sketch.Levels.Sum(l => l.Count) < 3.5 * k + 2 * sketch.Levels.Count, $"{name}: {sketch.Levels.Sum(l => l.Count)} items kept");
            var error = MaxRankError(sketch, values);
            Assert.True(error <= bound, $"{name}: max normalized rank error {error:0.#####} > {bound}");
        }
    }

    [Fact]
    public void SortedAndReversedInputsAreSketchedAsWell()
    {
        foreach (var values in new[] { Enumerable.Range(0, 200_000).Select(i => (double)i).ToArray(), Enumerable.Range(0, 200_000).Select(i => (double)-i).ToArray() })
        {
            var sketch = new KllSketch(256);
            foreach (var v in values) sketch.Add(v);
            Assert.True(MaxRankError(sketch, values) <= 0.03);
        }
    }

    [Fact]
    public void ABuiltSketchIsTheOneItsDataDescribes()
    {
        var sketch = new KllSketch(64);
        foreach (var v in Values(10_000, 3, r => r.NextDouble())) sketch.Add(v);
        var rebuilt = KllSketch.FromData(sketch.K, sketch.C, sketch.Levels);
        Assert.Equal(sketch.Count, rebuilt.Count);
        foreach (var x in new[] { 0.1, 0.5, 0.9 }) Assert.Equal(sketch.Rank(x), rebuilt.Rank(x));
    }

    [Fact]
    public void BucketsSpanMinToMaxAndCountEveryItemOnce()
    {
        var sketch = new KllSketch();
        foreach (var v in new double[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10 }) sketch.Add(v);
        var buckets = sketch.Buckets(0, 10);
        Assert.Equal(10, buckets.Count);
        Assert.Equal((0.0, 1.0, 1L), buckets[0]);
        Assert.Equal((9.0, 10.0, 3L), buckets[9]);
        Assert.Equal(12, buckets.Sum(b => b.Count));
        for (var i = 1; i < 10; i++) Assert.Equal(buckets[i - 1].Upper, buckets[i].Lower);

        var constant = new KllSketch();
        for (var i = 0; i < 5; i++) constant.Add(4);
        Assert.Equal(5, constant.Buckets(4, 4).Sum(b => b.Count));
    }

    static double Normal(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
}

/// <summary>Statistics and constraints of a dataset against the same numbers computed another way
/// (sorting, LINQ sums over decimals), and the readers and the analyzer's failures.</summary>
public sealed class DatasetStatisticsTests
{
    static IReadOnlyList<Field> Row(params (string Name, string? Value)[] fields) => [.. fields.Select(f => new Field(f.Name, f.Value))];

    [Fact]
    public void InfersTypesAndCountsMissingValues()
    {
        var statistics = DatasetStatistics.Compute([
            Row(("a", "1"), ("b", "1.5"), ("c", "x"), ("d", null), ("e", "2")),
            Row(("a", "-3"), ("b", "2"), ("c", "7"), ("d", null), ("e", "NaN")),
            Row(("a", " +4 "), ("b", "-1e2"), ("c", "x"), ("d", null)),
        ]);
        Assert.Equal(3, statistics.ItemCount);
        var byName = statistics.Features.ToDictionary(f => f.Name);
        Assert.Equal(["a", "b", "c", "d", "e"], statistics.Features.Select(f => f.Name));
        Assert.Equal(InferredType.Integral, byName["a"].Type);
        Assert.Equal(InferredType.Fractional, byName["b"].Type);
        Assert.Equal(InferredType.String, byName["c"].Type);
        Assert.Equal(InferredType.Unknown, byName["d"].Type);
        Assert.Equal(InferredType.String, byName["e"].Type);
        Assert.Equal(2, byName["e"].Present);
        Assert.Equal(2.0, byName["a"].Sum);
        Assert.Equal(-3, byName["a"].Min);
        Assert.Equal(4, byName["a"].Max);
        Assert.Equal(2.0, byName["c"].DistinctCount);
    }

    [Fact]
    public void MomentsAgreeWithAnExactComputation()
    {
        var random = new Random(7);
        var values = Enumerable.Range(0, 50_000).Select(_ => Math.Round(random.NextDouble() * 1000 - 300, 4)).ToArray();
        var statistics = DatasetStatistics.Compute(values.Select(v => Row(("x", v.ToString("R", CultureInfo.InvariantCulture)))));
        var x = statistics.Features.Single();
        // Another way: decimal arithmetic (exact for 4-decimal values) and the two-pass variance.
        var sum = values.Sum(v => (decimal)v);
        var mean = sum / values.Length;
        var variance = values.Sum(v => ((decimal)v - mean) * ((decimal)v - mean)) / values.Length;
        Assert.Equal((double)sum, x.Sum, 1e-9 * Math.Abs((double)sum));
        Assert.Equal((double)mean, x.Mean, 1e-9);
        Assert.Equal(Math.Sqrt((double)variance), x.StdDev, 1e-9);
        Assert.Equal(values.Min(), x.Min);
        Assert.Equal(values.Max(), x.Max);
        Assert.Equal(InferredType.Fractional, x.Type);
    }

    [Fact]
    public void StatisticsJsonHasAwsShape()
    {
        var rows = new List<IReadOnlyList<Field>>();
        for (var i = 0; i < 100; i++) rows.Add(Row(("age", (20 + i % 50).ToString(CultureInfo.InvariantCulture)), ("state", i % 3 == 0 ? "CA" : "WA"), ("score", i == 5 ? null : (i / 10.0).ToString("R", CultureInfo.InvariantCulture))));
        var statistics = DatasetStatistics.Compute(rows);
        var json = JsonNode.Parse(MonitorReport.Statistics(statistics))!;
        Assert.Equal("0.0", json["version"]!.ToJsonString());
        Assert.Equal(100, json["dataset"]!["item_count"]!.GetValue<long>());
        var age = json["features"]![0]!;
        Assert.Equal("age", age["name"]!.GetValue<string>());
        Assert.Equal("Integral", age["inferred_type"]!.GetValue<string>());
        var numbers = age["numerical_statistics"]!;
        Assert.Equal(100, numbers["common"]!["num_present"]!.GetValue<long>());
        Assert.Equal(0, numbers["common"]!["num_missing"]!.GetValue<long>());
        Assert.Equal(20.0, numbers["min"]!.GetValue<double>());
        Assert.Equal(69.0, numbers["max"]!.GetValue<double>());
        var kll = numbers["distribution"]!["kll"]!;
        var buckets = kll["buckets"]!.AsArray();
        Assert.Equal(10, buckets.Count);
        Assert.Equal(20.0, buckets[0]!["lower_bound"]!.GetValue<double>());
        Assert.Equal(69.0, buckets[9]!["upper_bound"]!.GetValue<double>());
        Assert.Equal(100, buckets.Sum(b => b!["count"]!.GetValue<long>()));
        Assert.Equal(0.64, kll["sketch"]!["parameters"]!["c"]!.GetValue<double>());
        Assert.Equal(2048.0, kll["sketch"]!["parameters"]!["k"]!.GetValue<double>());
        Assert.Equal(100, kll["sketch"]!["data"]![0]!.AsArray().Count);
        var score = json["features"]![2]!["numerical_statistics"]!;
        Assert.Equal(1, score["common"]!["num_missing"]!.GetValue<long>());
        var state = json["features"]![1]!;
        Assert.Equal("String", state["inferred_type"]!.GetValue<string>());
        Assert.Equal(2.0, state["string_statistics"]!["distinct_count"]!.GetValue<double>());
        var categories = state["string_statistics"]!["distribution"]!["categorical"]!["buckets"]!.AsArray();
        Assert.Equal(("WA", 66L), (categories[0]!["value"]!.GetValue<string>(), categories[0]!["count"]!.GetValue<long>()));
        Assert.Equal(("CA", 34L), (categories[1]!["value"]!.GetValue<string>(), categories[1]!["count"]!.GetValue<long>()));

        var constraints = JsonNode.Parse(MonitorReport.Constraints(statistics))!;
        var features = constraints["features"]!.AsArray();
        Assert.True(features[0]!["num_constraints"]!["is_non_negative"]!.GetValue<bool>());
        Assert.Equal(["CA", "WA"], features[1]!["string_constraints"]!["domains"]!.AsArray().Select(d => d!.GetValue<string>()));
        Assert.Equal(0.99, features[2]!["completeness"]!.GetValue<double>());
        var config = constraints["monitoring_config"]!;
        Assert.Equal("Enabled", config["evaluate_constraints"]!.GetValue<string>());
        Assert.Equal("Robust", config["distribution_constraints"]!["comparison_method"]!.GetValue<string>());
        Assert.Equal("LInfinity", config["distribution_constraints"]!["categorical_drift_method"]!.GetValue<string>());
    }

    [Fact]
    public void ManyDistinctValuesAreCountedApproximatelyWithoutBuckets()
    {
        var statistics = DatasetStatistics.Compute(Enumerable.Range(0, 20_000).Select(i => Row(("id", "user-" + i))));
        var id = statistics.Features.Single();
        Assert.Null(id.Categories);
        Assert.InRange(id.DistinctCount, 20_000 * 0.97, 20_000 * 1.03);
        var constraints = JsonNode.Parse(MonitorReport.Constraints(statistics))!;
        Assert.Null(constraints["features"]![0]!["string_constraints"]);
    }

    [Fact]
    public void ReadsCsvWithAndWithoutHeaderAndJsonLines()
    {
        var dir = Directory.CreateTempSubdirectory("strata-monitor-").FullName;
        try
        {
            var csv = Path.Combine(dir, "a.csv");
            File.WriteAllText(csv, "x,name,note\n1,\"Smith, J\",\"say \"\"hi\"\"\nthere\"\n\n2,,z\n");
            var withHeader = Collect(DatasetReader.Read([csv], new DatasetFormat(true, true, false), f => f));
            Assert.Equal([["x=1", "name=Smith, J", "note=say \"hi\"\nthere"], ["x=2", "name=", "note=z"]], withHeader);
            var noHeader = Collect(DatasetReader.Read([csv], new DatasetFormat(true, false, false), f => f));
            Assert.Equal(["_c0=x", "_c1=name", "_c2=note"], noHeader[0]);
            Assert.Equal(3, noHeader.Count);

            var jsonl = Path.Combine(dir, "b.jsonl");
            File.WriteAllText(jsonl, "{\"a\": 1, \"b\": {\"c\": \"x\"}, \"d\": null, \"e\": true}\n\n{\"a\": 2.5}\n");
            var json = Collect(DatasetReader.Read([jsonl], new DatasetFormat(false, false, true), f => f));
            Assert.Equal([["a=1", "b.c=x", "d=", "e=true"], ["a=2.5"]], json);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    static List<List<string>> Collect(IEnumerable<IReadOnlyList<Field>> records)
        => [.. records.Select(r => r.Select(f => $"{f.Name}={f.Value}").ToList())];

    [Theory]
    [InlineData(null, "dataset_format is missing")]
    [InlineData("{csv}", "dataset_format is not JSON")]
    [InlineData("{\"parquet\": {}}", "parquet is not supported")]
    [InlineData("{\"csv\": {\"header\": 3}}", "csv.header must be true or false")]
    [InlineData("{\"sagemakerCaptureJson\": {}}", "monitoring executions")]
    public void ABadDatasetFormatSaysWhatToSet(string? format, string reason)
        => Assert.Contains(reason, Assert.Throws<Strata.Algorithms.ClientError>(() => DatasetFormat.Parse(format)).Message);

    [Fact]
    public async Task TheAnalyzerWritesBothFilesOrSaysWhatToFix()
    {
        var root = Directory.CreateTempSubdirectory("strata-analyzer-").FullName;
        try
        {
            var input = Path.Combine(root, "processing", "input", "baseline_dataset_input");
            Directory.CreateDirectory(input);
            File.WriteAllText(Path.Combine(input, "train.csv"), "label,f1\n1,0.5\n0,1.5\n");
            Dictionary<string, string> env = new()
            {
                ["dataset_format"] = "{\"csv\": {\"header\": true, \"output_columns_position\": \"START\"}}",
                ["dataset_source"] = "/opt/ml/processing/input/baseline_dataset_input",
                ["output_path"] = "/opt/ml/processing/output",
                ["publish_cloudwatch_metrics"] = "Disabled",
            };
            var (code, _, failure) = await AnalyzeAsync(root, env);
            Assert.Equal(0, code);
            Assert.Null(failure);
            var statistics = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "processing", "output", "statistics.json")))!;
            Assert.Equal(2, statistics["dataset"]!["item_count"]!.GetValue<long>());
            Assert.True(File.Exists(Path.Combine(root, "processing", "output", "constraints.json")));

            File.WriteAllText(Path.Combine(input, "train.csv"), "label,f1\n1,\"0.5\n");
            (code, _, failure) = await AnalyzeAsync(root, env);
            Assert.Equal(1, code);
            Assert.StartsWith("ClientError: /opt/ml/processing/input/baseline_dataset_input/train.csv: the quoted field that starts on line 2 is not closed", failure);

            File.WriteAllText(Path.Combine(input, "train.csv"), "label,f1\n");
            (code, _, failure) = await AnalyzeAsync(root, env);
            Assert.Equal(1, code);
            Assert.Contains("has no records", failure);

            File.WriteAllText(Path.Combine(input, "train.csv"), "label,f1\n1,2\n");
            env.Remove("dataset_format");
            (code, _, failure) = await AnalyzeAsync(root, env);
            Assert.Equal(1, code);
            Assert.StartsWith("ClientError: the environment variable dataset_format is missing", failure);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    static async Task<(int Code, string Log, string? Failure)> AnalyzeAsync(string root, Dictionary<string, string> env)
    {
        var failurePath = Path.Combine(root, "output", "failure");
        if (File.Exists(failurePath)) File.Delete(failurePath);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "strata-algorithms.dll"));
        psi.ArgumentList.Add("analyze");
        psi.Environment["STRATA_OPT_ML"] = root;
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr, File.Exists(failurePath) ? File.ReadAllText(failurePath) : null);
    }
}
