using System.Text.Json.Nodes;
using Strata.Algorithms.Monitor;

namespace Strata.Server.Tests.Unit;

/// <summary>Clarify's bias metrics against an independent computation on the same data: values
/// worked by hand from the developer guide's definitions on a ten-record table, and a
/// straightforward per-metric implementation in this test (record filters, a brute-force nearest-
/// neighbour vote for FT) on 600 random records; tolerance 1e-12 (both sides are ratios of counts
/// and a few logarithms). Then the analyzer as a model-bias monitoring execution runs it: captured
/// requests and predictions merged with ground truth, analysis.json in Clarify's layout, a
/// bias_drift_check against a baseline's analysis.json, the CloudWatch lines with the bias
/// dimensions, and a facet or label the data lacks failing saying what to fix.</summary>
public sealed class ModelBiasTests
{
    const double Tolerance = 1e-12;

    static double V(List<BiasMetric> metrics, string name) => metrics.Single(m => m.Name == name).Value;

    [Fact]
    public void MetricsOfASmallTableMatchTheDefinitionsWorkedByHand()
    {
        // a: six records, labels 1 1 1 1 0 0, predictions 1 1 1 0 1 0 (TP 3, FN 1, FP 1, TN 1);
        // d: four records, labels 1 0 0 0, predictions 1 1 0 0 (TP 1, FP 1, FN 0, TN 2).
        bool[] facet = [false, false, false, false, false, false, true, true, true, true];
        bool[] label = [true, true, true, true, false, false, true, false, false, false];
        bool[] predicted = [true, true, true, false, true, false, true, true, false, false];
        var pre = BiasMetrics.ComputePreTraining(label, facet, null, BiasMetrics.PreTraining);
        Assert.Equal(0.2, V(pre, "CI"), Tolerance);                        // (6 − 4) / 10
        Assert.Equal(4.0 / 6 - 1.0 / 4, V(pre, "DPL"), Tolerance);          // q_a − q_d
        // Pa = (1/3, 2/3), Pd = (3/4, 1/4) over (negative, positive)
        Assert.Equal(1.0 / 3 * Math.Log(4.0 / 9) + 2.0 / 3 * Math.Log(8.0 / 3), V(pre, "KL"), Tolerance);
        double[] m = [(1.0 / 3 + 3.0 / 4) / 2, (2.0 / 3 + 1.0 / 4) / 2];
        Assert.Equal(0.5 * (1.0 / 3 * Math.Log(1.0 / 3 / m[0]) + 2.0 / 3 * Math.Log(2.0 / 3 / m[1]) + 3.0 / 4 * Math.Log(3.0 / 4 / m[0]) + 1.0 / 4 * Math.Log(1.0 / 4 / m[1])),
            V(pre, "JS"), Tolerance);
        Assert.Equal(Math.Sqrt(2) * 5 / 12, V(pre, "LP"), Tolerance);
        Assert.Equal(5.0 / 12, V(pre, "TVD"), Tolerance);
        Assert.Equal(5.0 / 12, V(pre, "KS"), Tolerance);
        Assert.DoesNotContain(pre, x => x.Name == "CDDL");               // no group variable

        var post = BiasMetrics.ComputePostTraining(label, predicted, facet, null, null, "no features", BiasMetrics.PostTraining);
        Assert.Equal(4.0 / 6 - 2.0 / 4, V(post, "DPPL"), Tolerance);
        Assert.Equal(2.0 / 4 / (4.0 / 6), V(post, "DI"), Tolerance);
        Assert.Equal(4.0 / 4 - 1.0 / 2, V(post, "DCA"), Tolerance);      // c_a − c_d, c = n(1)/n̂(1)
        Assert.Equal(3.0 / 2 - 2.0 / 2, V(post, "DCR"), Tolerance);      // r_d − r_a, r = n(0)/n̂(0)
        Assert.Equal(3.0 / 4 - 1.0, V(post, "RD"), Tolerance);
        Assert.Equal(2.0 / 3 - 1.0 / 2, V(post, "SD"), Tolerance);
        Assert.Equal(3.0 / 4 - 1.0 / 2, V(post, "DAR"), Tolerance);
        Assert.Equal(2.0 / 2 - 1.0 / 2, V(post, "DRR"), Tolerance);
        Assert.Equal(4.0 / 6 - 3.0 / 4, V(post, "AD"), Tolerance);
        Assert.Equal(0.0 / 1 - 1.0 / 1, V(post, "TE"), Tolerance);
        var ft = post.Single(x => x.Name == "FT");
        Assert.Equal("no features", ft.Error);

        // A facet value no record has: the metrics that need both groups say so instead of a value.
        var empty = BiasMetrics.ComputePreTraining(label, new bool[10], null, ["CI"]).Single();
        Assert.NotNull(empty.Error);
        Assert.Contains("Facet set is empty", empty.Error);
    }

    /// <summary>The definitions again, record by record, for the random comparison.</summary>
    static Dictionary<string, double> Independent(bool[] y, bool[] yhat, bool[] d, string[] g, double[][] x)
    {
        int N(Func<int, bool> p) => Enumerable.Range(0, y.Length).Count(p);
        static double Div(double p, double q) => q == 0 ? (p == 0 ? 0 : double.PositiveInfinity) : p / q;
        double na = N(i => !d[i]), nd = N(i => d[i]);
        double na1 = N(i => !d[i] && y[i]), nd1 = N(i => d[i] && y[i]);
        double na1h = N(i => !d[i] && yhat[i]), nd1h = N(i => d[i] && yhat[i]);
        double tpa = N(i => !d[i] && y[i] && yhat[i]), tpd = N(i => d[i] && y[i] && yhat[i]);
        double fpa = N(i => !d[i] && !y[i] && yhat[i]), fpd = N(i => d[i] && !y[i] && yhat[i]);
        double fna = N(i => !d[i] && y[i] && !yhat[i]), fnd = N(i => d[i] && y[i] && !yhat[i]);
        double tna = N(i => !d[i] && !y[i] && !yhat[i]), tnd = N(i => d[i] && !y[i] && !yhat[i]);
        double[] pa = [(na - na1) / na, na1 / na], pd = [(nd - nd1) / nd, nd1 / nd];
        double kl = 0, js = 0, lp = 0, tvd = 0, ks = 0;
        for (var k = 0; k < 2; k++)
        {
            var mid = (pa[k] + pd[k]) / 2;
            kl += pa[k] * Math.Log(pa[k] / pd[k]);
            js += 0.5 * (pa[k] * Math.Log(pa[k] / mid) + pd[k] * Math.Log(pd[k] / mid));
            lp += (pa[k] - pd[k]) * (pa[k] - pd[k]);
            tvd += Math.Abs(pa[k] - pd[k]) / 2;
            ks = Math.Max(ks, Math.Abs(pa[k] - pd[k]));
        }
        double Cdd(bool[] outcome) => g.Distinct().Sum(group =>
        {
            var members = Enumerable.Range(0, y.Length).Where(i => g[i] == group).ToList();
            double rejected = members.Count(i => !outcome[i]), accepted = members.Count(i => outcome[i]);
            var dd = (rejected == 0 ? 0 : members.Count(i => !outcome[i] && d[i]) / rejected) - (accepted == 0 ? 0 : members.Count(i => outcome[i] && d[i]) / accepted);
            return members.Count * dd;
        }) / y.Length;
        // FT: each d record's five nearest a records (ties: the earlier one) vote its label as if it were in a.
        var aIndexes = Enumerable.Range(0, y.Length).Where(i => !d[i]).ToList();
        double flipPlus = 0, flipMinus = 0;
        foreach (var i in Enumerable.Range(0, y.Length).Where(i => d[i]))
        {
            var nearest = aIndexes.Select((j, order) => (Distance: x[i].Zip(x[j], (p, q) => (p - q) * (p - q)).Sum(), Order: order, j))
                .OrderBy(t => t.Distance).ThenBy(t => t.Order).Take(5).ToList();
            var asIfA = nearest.Count(t => yhat[t.j]) >= 3;
            if (yhat[i] && !asIfA) flipPlus++;
            if (!yhat[i] && asIfA) flipMinus++;
        }
        return new()
        {
            ["CI"] = (na - nd) / (na + nd),
            ["DPL"] = na1 / na - nd1 / nd,
            ["KL"] = kl,
            ["JS"] = js,
            ["LP"] = Math.Sqrt(lp),
            ["TVD"] = tvd,
            ["KS"] = ks,
            ["CDDL"] = Cdd(y),
            ["DPPL"] = na1h / na - nd1h / nd,
            ["DI"] = nd1h / nd / (na1h / na),
            ["DCA"] = Div(na1, na1h) - Div(nd1, nd1h),
            ["DCR"] = Div(nd - nd1, nd - nd1h) - Div(na - na1, na - na1h),
            ["RD"] = Div(tpa, tpa + fna) - Div(tpd, tpd + fnd),
            ["SD"] = Div(tnd, tnd + fpd) - Div(tna, tna + fpa),
            ["DAR"] = Div(tpa, na1h) - Div(tpd, nd1h),
            ["DRR"] = Div(tnd, nd - nd1h) - Div(tna, na - na1h),
            ["AD"] = (tpa + tna) / na - (tpd + tnd) / nd,
            ["CDDPL"] = Cdd(yhat),
            ["TE"] = Div(fnd, fpd) - Div(fna, fpa),
            ["FT"] = (flipPlus - flipMinus) / nd,
        };
    }

    [Fact]
    public void MetricsOfRandomRecordsAgreeWithAStraightforwardImplementation()
    {
        var random = new Random(11);
        const int n = 600;
        var d = new bool[n];
        var y = new bool[n];
        var yhat = new bool[n];
        var g = new string[n];
        var x = new double[n][];
        for (var i = 0; i < n; i++)
        {
            d[i] = random.NextDouble() < 0.35;
            x[i] = [Math.Round(random.NextDouble() * 10, 1), Math.Round(random.NextDouble() * 5, 1)];
            y[i] = random.NextDouble() < (d[i] ? 0.3 : 0.6);
            yhat[i] = random.NextDouble() < (y[i] ? 0.8 : 0.25) + (d[i] ? -0.1 : 0);
            g[i] = "g" + random.Next(4);
        }
        var expected = Independent(y, yhat, d, g, x);
        var all = BiasMetrics.ComputePreTraining(y, d, g, BiasMetrics.PreTraining)
            .Concat(BiasMetrics.ComputePostTraining(y, yhat, d, g, x, null, BiasMetrics.PostTraining)).ToList();
        Assert.Equal(expected.Keys.Order(), all.Select(m => m.Name).Order());
        foreach (var metric in all)
        {
            Assert.Null(metric.Error);
            Assert.True(Math.Abs(expected[metric.Name] - metric.Value) <= Tolerance, $"{metric.Name}: {metric.Value} vs {expected[metric.Name]}");
        }
    }

    /// <summary>A model-bias execution's directories, as the processing job lays them out.</summary>
    sealed class Execution : IDisposable
    {
        public readonly string OptMl = Directory.CreateTempSubdirectory("strata-mb-").FullName;
        public readonly Dictionary<string, string> Env = new()
        {
            ["analysis_type"] = "MODEL_BIAS",
            ["analysis_config"] = "/opt/ml/processing/input/config/analysis_config.json",
            ["dataset_source"] = "/opt/ml/processing/input/endpoint",
            ["ground_truth_source"] = "/opt/ml/processing/groundtruth",
            ["output_path"] = "/opt/ml/processing/output",
            ["start_time"] = "2026-01-01T10:00:00Z",
            ["end_time"] = "2026-01-01T11:00:00Z",
            ["probability_attribute"] = "0",
            ["sagemaker_endpoint_name"] = "ep",
            ["sagemaker_monitoring_schedule_name"] = "schedule",
        };

        public void Write(string path, string text)
        {
            var full = OptMl + path;
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, text);
        }

        public (int Exit, string Failure) Run()
        {
            var exit = Strata.Algorithms.Monitor.Analyzer.Run(OptMl, k => Env.GetValueOrDefault(k), TextWriter.Null);
            var failure = OptMl + "/output/failure";
            return (exit, File.Exists(failure) ? File.ReadAllText(failure) : "");
        }

        public string Read(string path) => File.ReadAllText(OptMl + path);

        public void Dispose() => Directory.Delete(OptMl, true);
    }

    const string Config = "{\"label\": \"approved\", \"label_values_or_threshold\": [1], \"headers\": [\"age\", \"gender\", \"approved\"],"
        + " \"facet\": [{\"name_or_index\": \"gender\", \"value_or_threshold\": [\"F\"]}], \"methods\": {\"pre_training_bias\": {\"methods\": [\"CI\", \"DPL\"]}, \"post_training_bias\": {\"methods\": \"all\"}}}";

    static string Captured(string id, string input, string score)
        => new JsonObject
        {
            ["captureData"] = new JsonObject
            {
                ["endpointInput"] = new JsonObject { ["observedContentType"] = "text/csv", ["mode"] = "INPUT", ["data"] = input, ["encoding"] = "CSV" },
                ["endpointOutput"] = new JsonObject { ["observedContentType"] = "text/csv", ["mode"] = "OUTPUT", ["data"] = score, ["encoding"] = "CSV" },
            },
            ["eventMetadata"] = new JsonObject { ["eventId"] = "e-" + id, ["inferenceId"] = id, ["inferenceTime"] = "2026-01-01T10:30:00Z" },
            ["eventVersion"] = "0",
        }.ToJsonString();

    static string Truth(string id, string label) => $"{{\"groundTruthData\":{{\"data\":\"{label}\",\"encoding\":\"CSV\"}},\"eventMetadata\":{{\"eventId\":\"{id}\"}},\"eventVersion\":\"0\"}}";

    /// <summary>The hand-worked table as captured traffic: gender F is d; scores above 0.5 predict approval.</summary>
    static void Traffic(Execution run, (string Gender, int Label, double Score)[]? given = null)
    {
        var rows = given ??
            [("M", 1, 0.9), ("M", 1, 0.8), ("M", 1, 0.7), ("M", 1, 0.2), ("M", 0, 0.6), ("M", 0, 0.1), ("F", 1, 0.9), ("F", 0, 0.6), ("F", 0, 0.3), ("F", 0, 0.2)];
        run.Write("/processing/input/endpoint/ep/main/2026/01/01/10/a.jsonl", string.Join('\n',
            rows.Select((r, i) => Captured("r" + i, $"{30 + i},{r.Gender}", r.Score.ToString(System.Globalization.CultureInfo.InvariantCulture)))));
        run.Write("/processing/groundtruth/2026/01/01/11/labels.jsonl", string.Join('\n', rows.Select((r, i) => Truth("r" + i, r.Label.ToString(System.Globalization.CultureInfo.InvariantCulture)))));
    }

    [Fact]
    public void AnExecutionWritesClarifysAnalysisViolationsAndMetrics()
    {
        using var run = new Execution();
        Traffic(run);
        run.Write("/processing/input/config/analysis_config.json", Config);
        // The baseline's DPPL 0.1 is nearer 0 than this window's 1/6; its DI 0.5 further from 1 than 0.75.
        run.Write("/processing/baseline/constraints/analysis.json",
            "{\"version\": \"1.0\", \"post_training_bias_metrics\": {\"label\": \"approved\", \"facets\": {\"gender\": [{\"value_or_threshold\": \"F\", \"metrics\": ["
            + "{\"name\": \"DPPL\", \"description\": \"\", \"value\": 0.1}, {\"name\": \"DI\", \"description\": \"\", \"value\": 0.5}, {\"name\": \"FT\", \"description\": \"\", \"value\": null}]}]}, \"label_value_or_threshold\": \"1\"}}");
        run.Env["baseline_constraints"] = "/opt/ml/processing/baseline/constraints/analysis.json";
        var (exit, failure) = run.Run();
        Assert.True(exit == 0, failure);

        var analysis = JsonNode.Parse(run.Read("/processing/output/analysis.json"))!;
        var post = analysis["post_training_bias_metrics"]!;
        Assert.Equal("approved", (string)post["label"]!);
        Assert.Equal("1", (string)post["label_value_or_threshold"]!);
        var facet = post["facets"]!["gender"]!.AsArray().Single()!;
        Assert.Equal("F", (string)facet["value_or_threshold"]!);
        var metrics = facet["metrics"]!.AsArray().ToDictionary(x => (string)x!["name"]!, x => x!);
        Assert.Equal(1.0 / 6, (double)metrics["DPPL"]["value"]!, Tolerance);
        Assert.Equal(0.75, (double)metrics["DI"]["value"]!, Tolerance);
        Assert.Equal("Disparate Impact (DI)", (string)metrics["DI"]["description"]!);
        Assert.Equal(-1.0, (double)metrics["TE"]["value"]!, Tolerance);
        // FT over the one other feature (age, 30 + i): a has six records, so k = 1, and the a record
        // nearest each F (ages 36-39) is age 35, predicted 0.1 (negative): the two F records
        // predicted positive (0.9, 0.6) flip, none the other way: (2 − 0) / 4.
        Assert.Equal(0.5, (double)metrics["FT"]["value"]!, Tolerance);
        var pre = analysis["pre_training_bias_metrics"]!["facets"]!["gender"]![0]!["metrics"]!.AsArray();
        Assert.Equal(["CI", "DPL"], pre.Select(x => (string)x!["name"]!));
        Assert.Equal(0.2, (double)pre[0]!["value"]!, Tolerance);

        var violation = JsonNode.Parse(run.Read("/processing/output/constraint_violations.json"))!["violations"]!.AsArray().Single()!;
        Assert.Equal("gender", (string)violation["facet"]!);
        Assert.Equal("F", (string)violation["facet_value"]!);
        Assert.Equal("DPPL", (string)violation["metric_name"]!);
        Assert.Equal("bias_drift_check", (string)violation["constraint_check_type"]!);
        Assert.StartsWith("Value 0.1666", (string)violation["description"]!);
        Assert.StartsWith("CompletedWithViolations", run.Read("/output/message"));

        var lines = run.Read("/output/metrics/cloudwatch/cloudwatch_metrics.jsonl").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        var di = lines.Single(l => (string)l["MetricName"]! == "bias_metric_DI");
        Assert.Equal(0.75, (double)di["Value"]!, Tolerance);
        Assert.Equal(["Endpoint=ep", "MonitoringSchedule=schedule", "BiasStage=Post-Training", "Label=approved", "LabelValue=1", "Facet=gender", "FacetValue=F"],
            di["Dimensions"]!.AsArray().Select(x => $"{x!["Name"]}={x["Value"]}"));
        Assert.Contains(lines, l => (string)l["MetricName"]! == "bias_metric_CI" && l["Dimensions"]!.AsArray().Any(x => (string)x!["Value"]! == "Pre-training"));
    }

    [Fact]
    public void AMissingFacetALabelNotInTheDataOrABadConfigFailsSayingWhatToFix()
    {
        foreach (var (config, expected) in new[]
        {
            (Config.Replace("\"name_or_index\": \"gender\"", "\"name_or_index\": \"sex\""), "facet name_or_index sex is not a column of the captured requests (their columns are age, gender)"),
            (Config.Replace("[1]", "[\"yes\"]"), "label_values_or_threshold yes never occurs in the ground truth labels (they are 0, 1)"),
            (Config.Replace("\"all\"", "[\"XYZ\"]"), "methods.post_training_bias.methods names XYZ, which is not one of"),
            ("{\"label\": \"approved\"}", "has no label_values_or_threshold"),
            ("not json", "is not JSON"),
            (Config.Replace("\"methods\": {", "\"probability_threshold\": 1e400, \"methods\": {"), "probability_threshold must be a number between 0 and 1"),
        })
        {
            using var run = new Execution();
            Traffic(run);
            run.Write("/processing/input/config/analysis_config.json", config);
            var (exit, failure) = run.Run();
            Assert.Equal(1, exit);
            Assert.StartsWith("ClientError: ", failure);
            Assert.Contains(expected, failure);
        }
        using (var run = new Execution())
        {
            Traffic(run);
            var (exit, failure) = run.Run();
            Assert.Equal(1, exit);
            Assert.Contains("analysis configuration /opt/ml/processing/input/config/analysis_config.json does not exist", failure);
        }
        using (var run = new Execution())
        {
            // A baseline value past a double's range: a ClientError, not an escaped FormatException.
            Traffic(run);
            run.Write("/processing/input/config/analysis_config.json", Config);
            run.Write("/processing/baseline/constraints/analysis.json", "{\"post_training_bias_metrics\": {\"label\": \"approved\", \"facets\": {\"gender\": [{\"value_or_threshold\": \"F\", \"metrics\": [{\"name\": \"DI\", \"value\": 1e400}]}]}}}");
            run.Env["baseline_constraints"] = "/opt/ml/processing/baseline/constraints/analysis.json";
            var (exit, failure) = run.Run();
            Assert.Equal(1, exit);
            Assert.StartsWith("ClientError: ", failure);
            Assert.Contains("the value 1e400 of DI (gender=F) is not a number a double holds", failure);
        }
    }

    [Fact]
    public void AnInfiniteRatioIsInfinityInAnalysisJsonAndClarifysNumberInCloudWatchAndMatchesItsBaseline()
    {
        // Facet age (30 + i, ten distinct integers: continuous) above the threshold 34.5: a is ages
        // 30-34, none predicted positive, so DI = (3/5) / (0/5) = ∞, and DCA (c_a = 3/0) too.
        (string, int, double)[] rows =
            [("M", 1, 0.1), ("M", 0, 0.2), ("M", 1, 0.3), ("M", 0, 0.4), ("M", 1, 0.45), ("M", 1, 0.9), ("M", 0, 0.8), ("M", 1, 0.2), ("M", 0, 0.6), ("M", 0, 0.1)];
        // DCAcc, the name Strata once gave DCA, is still taken in a methods list.
        var config = "{\"label\": \"approved\", \"label_values_or_threshold\": [1], \"headers\": [\"age\", \"gender\", \"approved\"],"
            + " \"facet\": [{\"name_or_index\": \"age\", \"value_or_threshold\": [34.5]}], \"methods\": {\"post_training_bias\": {\"methods\": [\"DPPL\", \"DI\", \"DCAcc\"]}}}";
        string baseline;
        using (var run = new Execution())
        {
            Traffic(run, rows);
            run.Write("/processing/input/config/analysis_config.json", config);
            var (exit, failure) = run.Run();
            Assert.True(exit == 0, failure);
            baseline = run.Read("/processing/output/analysis.json");
            var facet = JsonNode.Parse(baseline)!["post_training_bias_metrics"]!["facets"]!["age"]!.AsArray().Single()!;
            Assert.Equal("34.5", (string)facet["value_or_threshold"]!);
            var metrics = facet["metrics"]!.AsArray().ToDictionary(x => (string)x!["name"]!, x => x!);
            Assert.Equal(["DPPL", "DI", "DCA"], metrics.Keys);
            Assert.Equal("Infinity", (string)metrics["DI"]["value"]!);
            Assert.Equal("Infinity", (string)metrics["DCA"]["value"]!);
            Assert.Equal(-0.6, (double)metrics["DPPL"]["value"]!, Tolerance);
            var lines = run.Read("/output/metrics/cloudwatch/cloudwatch_metrics.jsonl").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
            Assert.Equal(2.348543e108, (double)lines.Single(l => (string)l["MetricName"]! == "bias_metric_DI")["Value"]!);
        }
        using (var run = new Execution())
        {
            // The same window against that analysis as its baseline, its threshold written "34.50" and
            // its DPPL 0: the threshold matches as a number, ∞ is no worse than ∞, DPPL -0.6 is worse than 0.
            var node = JsonNode.Parse(baseline)!;
            var entry = node["post_training_bias_metrics"]!["facets"]!["age"]![0]!;
            entry["value_or_threshold"] = "34.50";
            entry["metrics"]!.AsArray().Single(x => (string)x!["name"]! == "DPPL")!["value"] = 0.0;
            Traffic(run, rows);
            run.Write("/processing/input/config/analysis_config.json", config);
            run.Write("/processing/baseline/constraints/analysis.json", node.ToJsonString());
            run.Env["baseline_constraints"] = "/opt/ml/processing/baseline/constraints/analysis.json";
            var (exit, failure) = run.Run();
            Assert.True(exit == 0, failure);
            var violation = JsonNode.Parse(run.Read("/processing/output/constraint_violations.json"))!["violations"]!.AsArray().Single()!;
            Assert.Equal(("age", "34.5", "DPPL"), ((string)violation["facet"]!, (string)violation["facet_value"]!, (string)violation["metric_name"]!));
        }
    }

    [Fact]
    public void AFlipTestWithTheFacetAsTheOnlyColumnSaysSoInsteadOfVoting()
    {
        var config = ModelBias.ParseConfig("{\"label\": \"y\", \"label_values_or_threshold\": [1], \"facet\": [{\"name_or_index\": \"g\", \"value_or_threshold\": [\"F\"]}],"
            + " \"methods\": {\"post_training_bias\": {\"methods\": [\"FT\"]}}}", "the configuration");
        ModelBias.BiasRecord Record(string label, string gender) => new(label, label, null, [new Field("g", gender)], "a record");
        var analysis = ModelBias.Analyze(config, [Record("1", "F"), Record("0", "M"), Record("1", "M")], null);
        var ft = analysis.PostTraining!.Single().Metrics.Single();
        Assert.Equal("FT", ft.Name);
        Assert.Contains("FlipTest needs at least one feature besides the facet: g is the captured requests' only column", ft.Error);
    }
}
