using System.Text;
using System.Text.Json.Nodes;
using Strata.Algorithms.Monitor;

namespace Strata.Server.Tests.Unit;

/// <summary>Model-quality metrics against an independent computation on the same data: scikit-learn's
/// documented answers for small examples, the area under the ROC curve by the Mann–Whitney pair
/// count (vs. the analyzer's sweep), F-scores from the confusion counts; tolerance 1e-12 (both sides
/// are double sums of at most a few thousand terms). Then the analyzer as a monitoring execution
/// runs it: captured predictions merged with ground truth by inferenceId or eventId, the violations
/// of a baseline's suggested constraints, and bad ground truth failing saying what to fix.</summary>
public sealed class ModelQualityTests
{
    const double Tolerance = 1e-12;

    static double V(QualityStatistics s, string name) => s.Value(name)!.Value;

    [Fact]
    public void RegressionMatchesScikitLearnsExample()
    {
        // sklearn.metrics: mean_absolute_error 0.5, mean_squared_error 0.375, r2_score 0.948608137…
        var s = ModelQualityMetrics.Regression([3, -0.5, 2, 7], [2.5, 0.0, 2, 8]);
        Assert.Equal(0.5, V(s, "mae"), Tolerance);
        Assert.Equal(0.375, V(s, "mse"), Tolerance);
        Assert.Equal(Math.Sqrt(0.375), V(s, "rmse"), Tolerance);
        Assert.Equal(0.9486081370449679, V(s, "r2"), Tolerance);
        Assert.True(double.IsNaN(s.Metrics[0].Metric.StandardDeviation), "no deviation under 200 records");
    }

    [Fact]
    public void RegressionOfManyRowsAgreesWithATwoPassComputation()
    {
        var random = new Random(7);
        var actual = Enumerable.Range(0, 1000).Select(_ => random.NextDouble() * 10).ToArray();
        var predicted = actual.Select(a => a + random.NextDouble() - 0.5).ToArray();
        var s = ModelQualityMetrics.Regression(actual, predicted);
        var mean = actual.Average();
        var residuals = actual.Zip(predicted, (a, p) => (a - p) * (a - p)).Sum();
        var total = actual.Sum(a => (a - mean) * (a - mean));
        Assert.Equal(actual.Zip(predicted, (a, p) => Math.Abs(a - p)).Average(), V(s, "mae"), 1e-9);
        Assert.Equal(residuals / 1000, V(s, "mse"), 1e-9);
        Assert.Equal(1 - residuals / total, V(s, "r2"), 1e-9);
        // 1000 records: a deviation over five 80 % samples, small against the value.
        var deviation = s.Metrics.Single(m => m.Name == "mae").Metric.StandardDeviation;
        Assert.InRange(deviation, 1e-6, 0.05);
    }

    [Fact]
    public void BinaryMatchesScikitLearnsExample()
    {
        // roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.75; average_precision_score = 0.8333…
        var s = ModelQualityMetrics.Binary([0, 0, 1, 1], [0, 0, 0, 1], [0.1, 0.4, 0.35, 0.8]);
        Assert.Equal(0.75, V(s, "auc"), Tolerance);
        Assert.Equal(0.8333333333333333, V(s, "au_prc"), Tolerance);
        // threshold 0.5: TP 1, FN 1, TN 2, FP 0.
        Assert.Equal(1.0, V(s, "precision"), Tolerance);
        Assert.Equal(0.5, V(s, "recall"), Tolerance);
        Assert.Equal(0.75, V(s, "accuracy"), Tolerance);
        Assert.Equal(0.0, V(s, "false_positive_rate"), Tolerance);
        Assert.Equal(0.5, V(s, "false_negative_rate"), Tolerance);
        Assert.Equal(2.0 / 3, V(s, "f1"), Tolerance);
        Assert.Equal(1L, s.ConfusionMatrix!["1"]["1"]);
        Assert.Equal(1L, s.ConfusionMatrix["1"]["0"]);
        Assert.Equal(2L, s.ConfusionMatrix["0"]["0"]);
        // The best constant classifier: always 1 (precision 0.5, recall 1), accuracy of the majority.
        Assert.Equal(0.5, V(s, "precision_best_constant_classifier"), Tolerance);
        Assert.Equal(1.0, V(s, "recall_best_constant_classifier"), Tolerance);
        Assert.Equal(2.0 / 3, V(s, "f1_best_constant_classifier"), Tolerance);
    }

    [Fact]
    public void AucIsTheMannWhitneyPairCountAndFScoresComeFromTheCounts()
    {
        var random = new Random(3);
        var n = 2000;
        var actual = Enumerable.Range(0, n).Select(_ => random.NextDouble() < 0.3 ? 1 : 0).ToArray();
        // Scores rounded to two places: many ties, which the pair count scores as halves.
        var scores = actual.Select(a => Math.Round(Math.Clamp(0.35 * a + random.NextDouble() * 0.7, 0, 1), 2)).ToArray();
        var predicted = scores.Select(p => p >= 0.5 ? 1 : 0).ToArray();
        var s = ModelQualityMetrics.Binary(actual, predicted, scores);

        double pairs = 0, wins = 0;
        for (var i = 0; i < n; i++)
            if (actual[i] == 1)
                for (var j = 0; j < n; j++)
                    if (actual[j] == 0)
                    {
                        pairs++;
                        wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
                    }
        Assert.Equal(wins / pairs, V(s, "auc"), 1e-12);

        double tp = 0, fp = 0, fn = 0;
        for (var i = 0; i < n; i++)
        {
            if (predicted[i] == 1 && actual[i] == 1) tp++;
            if (predicted[i] == 1 && actual[i] == 0) fp++;
            if (predicted[i] == 0 && actual[i] == 1) fn++;
        }
        foreach (var (beta, name) in new[] { (0.5, "f0_5"), (1.0, "f1"), (2.0, "f2") })
            Assert.Equal((1 + beta * beta) * tp / ((1 + beta * beta) * tp + beta * beta * fn + fp), V(s, name), Tolerance);
        Assert.Equal(ModelQualityMetrics.MaxCurvePoints, s.RocCurve!.Value.FalsePositiveRates.Count);
        Assert.Equal(1.0, s.RocCurve.Value.TruePositiveRates[^1], Tolerance);
    }

    [Fact]
    public void MulticlassMatchesScikitLearnsExample()
    {
        // precision_score/recall_score/f1_score(average="weighted") of y_true [0,1,2,0,1,2], y_pred [0,2,1,0,0,1].
        var s = ModelQualityMetrics.Multiclass(["0", "1", "2", "0", "1", "2"], ["0", "2", "1", "0", "0", "1"]);
        Assert.Equal(0.2222222222222222, V(s, "weighted_precision"), Tolerance);
        Assert.Equal(0.3333333333333333, V(s, "weighted_recall"), Tolerance);
        Assert.Equal(0.26666666666666666, V(s, "weighted_f1"), Tolerance);
        Assert.Equal(1.0 / 3, V(s, "accuracy"), Tolerance);
        Assert.Equal(1.0 / 3, V(s, "accuracy_best_constant_classifier"), Tolerance);
        Assert.Equal(2L, s.ConfusionMatrix!["0"]["0"]);
        Assert.Equal(1L, s.ConfusionMatrix["1"]["2"]);
    }

    [Fact]
    public void SuggestedConstraintsHoldOnTheBaselineAndFireOnWorse()
    {
        var random = new Random(5);
        var actual = Enumerable.Range(0, 300).Select(_ => random.NextDouble() * 10).ToArray();
        var good = ModelQualityMetrics.Regression(actual, [.. actual.Select(a => a + 0.1)]);
        var constraints = ModelQuality.ParseConstraints(Encoding.UTF8.GetString(ModelQuality.SuggestConstraints(good)), "Regression", "constraints.json");
        Assert.Equal(["mae", "mse", "rmse", "r2"], constraints.Select(c => c.Metric));
        Assert.Equal("GreaterThanThreshold", constraints[0].ComparisonOperator);
        Assert.Equal("LessThanThreshold", constraints[3].ComparisonOperator);
        Assert.Empty(ModelQuality.Evaluate(constraints, good));
        var worse = ModelQualityMetrics.Regression(actual, [.. actual.Select(a => a + 1)]);
        var violations = ModelQuality.Evaluate(constraints, worse);
        Assert.Equal(["mae", "mse", "rmse", "r2"], violations.Select(v => v.MetricName));
        Assert.StartsWith("Metric mae with ", violations[0].Description);
        Assert.Contains(" was GreaterThanThreshold 0.", violations[0].Description);
        var binary = Assert.Throws<Strata.Algorithms.ClientError>(() => ModelQuality.ParseConstraints("{\"regression_constraints\": {}}", "BinaryClassification", "constraints.json"));
        Assert.Contains("no binary_classification_constraints", binary.Message);
    }

    /// <summary>A monitoring execution's directories, as the processing job lays them out.</summary>
    sealed class Execution : IDisposable
    {
        public readonly string OptMl = Directory.CreateTempSubdirectory("strata-mq-").FullName;
        public readonly Dictionary<string, string> Env = new()
        {
            ["analysis_type"] = "MODEL_QUALITY",
            ["dataset_format"] = "{\"sagemakerCaptureJson\":{\"captureIndexNames\":[\"endpointOutput\"]}}",
            ["dataset_source"] = "/opt/ml/processing/input/endpoint",
            ["ground_truth_source"] = "/opt/ml/processing/groundtruth",
            ["output_path"] = "/opt/ml/processing/output",
            ["start_time"] = "2026-01-01T10:00:00Z",
            ["end_time"] = "2026-01-01T11:00:00Z",
            ["problem_type"] = "Regression",
            ["inference_attribute"] = "0",
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

    static string Captured(string eventId, string? inferenceId, string output, string time = "2026-01-01T10:30:00Z")
        => new JsonObject
        {
            ["captureData"] = new JsonObject { ["endpointOutput"] = new JsonObject { ["observedContentType"] = "text/csv", ["mode"] = "OUTPUT", ["data"] = output, ["encoding"] = "CSV" } },
            ["eventMetadata"] = inferenceId is null ? new JsonObject { ["eventId"] = eventId, ["inferenceTime"] = time }
                : new JsonObject { ["eventId"] = eventId, ["inferenceId"] = inferenceId, ["inferenceTime"] = time },
            ["eventVersion"] = "0",
        }.ToJsonString();

    static string Truth(string id, string label) => $"{{\"groundTruthData\":{{\"data\":\"{label}\",\"encoding\":\"CSV\"}},\"eventMetadata\":{{\"eventId\":\"{id}\"}},\"eventVersion\":\"0\"}}";

    [Fact]
    public void AnExecutionMergesByInferenceIdOrEventIdAndReportsViolations()
    {
        using var run = new Execution();
        // Three requests in the window (two with an InferenceId), one outside it, one never labelled.
        run.Write("/processing/input/endpoint/ep/main/2026/01/01/10/a.jsonl", string.Join('\n',
            Captured("e1", "order-1", "1.0"), Captured("e2", "order-2", "2.0"), Captured("e3", null, "3.0"),
            Captured("e4", "order-4", "4.0", time: "2026-01-01T11:30:00Z"), Captured("e5", "order-5", "5.0")));
        run.Write("/processing/groundtruth/2026/01/01/12/labels.jsonl", string.Join('\n',
            Truth("order-1", "1.5"), Truth("order-2", "2.5"), Truth("e3", "3.5"), Truth("order-4", "100")));
        run.Write("/processing/baseline/constraints/constraints.json",
            "{\"version\": 0.0, \"regression_constraints\": {\"mae\": {\"threshold\": 0.25, \"comparison_operator\": \"GreaterThanThreshold\"}, \"r2\": {\"threshold\": 0.0, \"comparison_operator\": \"LessThanThreshold\"}}}");
        run.Env["baseline_constraints"] = "/opt/ml/processing/baseline/constraints/constraints.json";
        var (exit, failure) = run.Run();
        Assert.True(exit == 0, failure);
        var statistics = JsonNode.Parse(run.Read("/processing/output/statistics.json"))!;
        Assert.Equal(3, (int)statistics["dataset"]!["item_count"]!);
        Assert.Equal(0.5, (double)statistics["regression_metrics"]!["mae"]!["value"]!, Tolerance);
        Assert.Equal("NaN", (string)statistics["regression_metrics"]!["mae"]!["standard_deviation"]!);
        var violations = JsonNode.Parse(run.Read("/processing/output/constraint_violations.json"))!["violations"]!.AsArray();
        Assert.Equal("mae", (string)violations.Single()!["metric_name"]!);
        Assert.Equal("GreaterThanThreshold", (string)violations.Single()!["constraint_check_type"]!);
        Assert.StartsWith("CompletedWithViolations", run.Read("/output/message"));
        var metrics = run.Read("/output/metrics/cloudwatch/cloudwatch_metrics.jsonl").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["mae", "mse", "rmse", "r2"], metrics.Select(l => (string)JsonNode.Parse(l)!["MetricName"]!));
    }

    static string CapturedJson(string inferenceId, string output)
        => new JsonObject
        {
            ["captureData"] = new JsonObject { ["endpointOutput"] = new JsonObject { ["observedContentType"] = "application/json", ["mode"] = "OUTPUT", ["data"] = output, ["encoding"] = "JSON" } },
            ["eventMetadata"] = new JsonObject { ["eventId"] = "e-" + inferenceId, ["inferenceId"] = inferenceId, ["inferenceTime"] = "2026-01-01T10:30:00Z" },
            ["eventVersion"] = "0",
        }.ToJsonString();

    [Theory]
    [InlineData(null, 1L)]   // no threshold: the model's own label (1) is the prediction
    [InlineData("0.5", 0L)]  // a threshold: the probability (0.3) decides
    public void ABinaryClassifiersJsonResponseIsReadByPath(string? threshold, long predictedPositive)
    {
        using var run = new Execution();
        run.Env["problem_type"] = "BinaryClassification";
        run.Env["inference_attribute"] = "predictions[0].label";
        run.Env["probability_attribute"] = "$.predictions[0].score";
        if (threshold is not null) run.Env["probability_threshold_attribute"] = threshold;
        run.Write("/processing/input/endpoint/ep/main/2026/01/01/10/a.jsonl", string.Join('\n',
            CapturedJson("a", "{\"predictions\": [{\"label\": 1, \"score\": 0.3}]}"), CapturedJson("b", "{\"predictions\": [{\"label\": 0, \"score\": 0.1}]}")));
        run.Write("/processing/groundtruth/2026/01/01/11/labels.jsonl", string.Join('\n', Truth("a", "1"), Truth("b", "0")));
        var (exit, failure) = run.Run();
        Assert.True(exit == 0, failure);
        var matrix = JsonNode.Parse(run.Read("/processing/output/statistics.json"))!["binary_classification_metrics"]!["confusion_matrix"]!;
        Assert.Equal(predictedPositive, (long)matrix["1"]!["1"]!);
        Assert.Equal(1.0, (double)JsonNode.Parse(run.Read("/processing/output/statistics.json"))!["binary_classification_metrics"]!["auc"]!["value"]!, Tolerance);
    }

    [Fact]
    public void BadGroundTruthAndMissingAttributesFailSayingWhatToFix()
    {
        using (var run = new Execution())
        {
            run.Write("/processing/input/endpoint/ep/main/2026/01/01/10/a.jsonl", Captured("e1", "order-1", "1.0"));
            run.Write("/processing/groundtruth/2026/01/01/10/labels.jsonl", "{\"label\": 1, \"id\": \"order-1\"}");
            var (exit, failure) = run.Run();
            Assert.Equal(1, exit);
            Assert.Contains("ClientError: line 1 of the ground truth file labels.jsonl has no groundTruthData.data or eventMetadata.eventId", failure);
            Assert.Contains("groundTruthData", failure);
        }
        using (var run = new Execution())
        {
            run.Write("/processing/input/endpoint/ep/main/2026/01/01/10/a.jsonl", Captured("e1", "order-1", "1.0"));
            run.Write("/processing/groundtruth/2026/01/01/10/labels.jsonl", Truth("someone-else", "1"));
            var (exit, failure) = run.Run();
            Assert.Equal(1, exit);
            Assert.Contains("has a ground truth record", failure);
            Assert.Contains("eventMetadata.eventId set to the request's InferenceId", failure);
        }
        using (var run = new Execution())
        {
            run.Env["problem_type"] = "MulticlassClassification";
            run.Env.Remove("inference_attribute");
            run.Write("/processing/input/endpoint/ep/main/2026/01/01/10/a.jsonl", Captured("e1", "order-1", "1.0"));
            var (exit, failure) = run.Run();
            Assert.Equal(1, exit);
            Assert.Contains("inference_attribute is missing: problem_type MulticlassClassification needs it", failure);
        }
    }

    [Fact]
    public void ABaselineOfACsvDatasetSuggestsConstraintsOfItsProblemType()
    {
        using var run = new Execution();
        run.Env.Remove("ground_truth_source");
        run.Env["dataset_format"] = "{\"csv\": {\"header\": true}}";
        run.Env["dataset_source"] = "/opt/ml/processing/input/baseline_dataset_input";
        run.Env["problem_type"] = "BinaryClassification";
        run.Env.Remove("inference_attribute");
        run.Env["probability_attribute"] = "probability";
        run.Env["probability_threshold_attribute"] = "0.5";
        run.Env["ground_truth_attribute"] = "label";
        run.Write("/processing/input/baseline_dataset_input/data.csv", "probability,label\n0.1,0\n0.4,0\n0.35,1\n0.8,1\n");
        var (exit, failure) = run.Run();
        Assert.True(exit == 0, failure);
        var statistics = JsonNode.Parse(run.Read("/processing/output/statistics.json"))!["binary_classification_metrics"]!;
        Assert.Equal(0.75, (double)statistics["auc"]!["value"]!, Tolerance);
        var constraints = JsonNode.Parse(run.Read("/processing/output/constraints.json"))!["binary_classification_constraints"]!;
        Assert.Equal(0.75, (double)constraints["auc"]!["threshold"]!, Tolerance);
        Assert.Equal("LessThanThreshold", (string)constraints["auc"]!["comparison_operator"]!);
        Assert.Equal("GreaterThanThreshold", (string)constraints["false_positive_rate"]!["comparison_operator"]!);
    }
}
