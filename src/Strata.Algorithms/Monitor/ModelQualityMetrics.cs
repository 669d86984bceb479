namespace Strata.Algorithms.Monitor;

/// <summary>A model-quality metric: its value over the data, and its standard deviation over five
/// random 80 % samples (NaN under <see cref="ModelQualityMetrics.MinForDeviation"/> records), as
/// Model Monitor's developer guide describes it.</summary>
public readonly record struct QualityMetric(double Value, double StandardDeviation);

/// <summary>The metrics of one problem type over merged predictions and labels, in the order
/// statistics.json lists them; a classification's confusion matrix (actual label → predicted
/// label → count) and a binary classification's curves.</summary>
public sealed class QualityStatistics
{
    public required string ProblemType { get; init; }
    public required long ItemCount { get; init; }
    public required List<(string Name, QualityMetric Metric)> Metrics { get; init; }
    public SortedDictionary<string, SortedDictionary<string, long>>? ConfusionMatrix { get; init; }
    public (List<double> FalsePositiveRates, List<double> TruePositiveRates)? RocCurve { get; init; }
    public (List<double> Precisions, List<double> Recalls)? PrecisionRecallCurve { get; init; }

    public double? Value(string name) => Metrics.FirstOrDefault(m => m.Name == name) is { Name: not null } m ? m.Metric.Value : null;
}

/// <summary>
/// Model Monitor's model-quality metrics (the developer guide's "Model quality metrics"):
/// regression (mae, mse, rmse, r2), binary classification (the confusion matrix; precision,
/// recall, accuracy, the true/false positive/negative rates, F0.5/F1/F2, the area under the ROC
/// curve and under the precision-recall curve, and the best constant classifier's scores) and
/// multiclass classification (accuracy and support-weighted precision, recall and F-scores, with
/// the best constant classifier's). A positive label is 1.
/// </summary>
public static class ModelQualityMetrics
{
    /// <summary>Fewer records than this get no standard deviation (NaN), as in SageMaker.</summary>
    public const int MinForDeviation = 200;

    /// <summary>At most so many points of a curve are written (evenly spaced, the ends kept).</summary>
    public const int MaxCurvePoints = 101;

    public static QualityStatistics Regression(IReadOnlyList<double> actual, IReadOnlyList<double> predicted)
    {
        var all = Enumerable.Range(0, actual.Count).ToArray();
        Dictionary<string, double> Of(int[] rows)
        {
            double abs = 0, sq = 0, mean = 0;
            foreach (var i in rows) mean += actual[i];
            mean /= rows.Length;
            double total = 0;
            foreach (var i in rows)
            {
                var e = actual[i] - predicted[i];
                abs += Math.Abs(e);
                sq += e * e;
                total += (actual[i] - mean) * (actual[i] - mean);
            }
            // Labels that do not vary: r2 is 1 for exact predictions and 0 otherwise (scikit-learn's finite choice).
            var r2 = total == 0 ? (sq == 0 ? 1 : 0) : 1 - sq / total;
            return new() { ["mae"] = abs / rows.Length, ["mse"] = sq / rows.Length, ["rmse"] = Math.Sqrt(sq / rows.Length), ["r2"] = r2 };
        }
        return new QualityStatistics { ProblemType = "Regression", ItemCount = all.Length, Metrics = WithDeviation(all, Of, ["mae", "mse", "rmse", "r2"]) };
    }

    static readonly string[] BinaryNames =
    [
        "recall", "precision", "accuracy", "recall_best_constant_classifier", "precision_best_constant_classifier", "accuracy_best_constant_classifier",
        "true_positive_rate", "true_negative_rate", "false_positive_rate", "false_negative_rate", "auc", "au_prc",
        "f0_5", "f1", "f2", "f0_5_best_constant_classifier", "f1_best_constant_classifier", "f2_best_constant_classifier",
    ];

    /// <param name="actual">The labels, 1 positive.</param>
    /// <param name="predicted">The predicted labels.</param>
    /// <param name="scores">The predicted probability of 1 (the label itself when the model gives none).</param>
    public static QualityStatistics Binary(IReadOnlyList<int> actual, IReadOnlyList<int> predicted, IReadOnlyList<double> scores)
    {
        var all = Enumerable.Range(0, actual.Count).ToArray();
        Dictionary<string, double> Of(int[] rows)
        {
            long tp = 0, fp = 0, tn = 0, fn = 0;
            foreach (var i in rows)
            {
                if (actual[i] == 1) { if (predicted[i] == 1) tp++; else fn++; }
                else if (predicted[i] == 1) fp++;
                else tn++;
            }
            double n = rows.Length, positives = tp + fn, negatives = tn + fp;
            // A rate whose denominator is empty (no positive labels in the window, no positive
            // predictions) is undefined, not 0: NaN, which no constraint check counts as a violation.
            var precision = Undefined(tp, tp + fp);
            var recall = Undefined(tp, tp + fn);
            // The best constant classifier: always 1 for recall, precision and the F-scores (always 0
            // scores none of them), the majority label for accuracy.
            var constantPrecision = positives / n;
            var (auc, _, _) = Roc(rows, actual, scores);
            var (auPrc, _, _) = PrecisionRecall(rows, actual, scores);
            return new()
            {
                ["recall"] = recall,
                ["precision"] = precision,
                ["accuracy"] = (tp + tn) / n,
                ["recall_best_constant_classifier"] = positives > 0 ? 1 : 0,
                ["precision_best_constant_classifier"] = constantPrecision,
                ["accuracy_best_constant_classifier"] = Math.Max(positives, negatives) / n,
                ["true_positive_rate"] = recall,
                ["true_negative_rate"] = Undefined(tn, tn + fp),
                ["false_positive_rate"] = Undefined(fp, fp + tn),
                ["false_negative_rate"] = Undefined(fn, fn + tp),
                ["auc"] = auc,
                ["au_prc"] = auPrc,
                ["f0_5"] = FScore(0.5, precision, recall),
                ["f1"] = FScore(1, precision, recall),
                ["f2"] = FScore(2, precision, recall),
                ["f0_5_best_constant_classifier"] = FScore(0.5, constantPrecision, positives > 0 ? 1 : 0),
                ["f1_best_constant_classifier"] = FScore(1, constantPrecision, positives > 0 ? 1 : 0),
                ["f2_best_constant_classifier"] = FScore(2, constantPrecision, positives > 0 ? 1 : 0),
            };
        }
        var matrix = new SortedDictionary<string, SortedDictionary<string, long>>(StringComparer.Ordinal)
        {
            ["0"] = new(StringComparer.Ordinal) { ["0"] = 0, ["1"] = 0 },
            ["1"] = new(StringComparer.Ordinal) { ["0"] = 0, ["1"] = 0 },
        };
        foreach (var i in all) matrix[actual[i] == 1 ? "1" : "0"][predicted[i] == 1 ? "1" : "0"]++;
        var (_, fpr, tpr) = Roc(all, actual, scores);
        var (_, precisions, recalls) = PrecisionRecall(all, actual, scores);
        return new QualityStatistics
        {
            ProblemType = "BinaryClassification",
            ItemCount = all.Length,
            Metrics = WithDeviation(all, Of, BinaryNames),
            ConfusionMatrix = matrix,
            RocCurve = (Thin(fpr), Thin(tpr)),
            PrecisionRecallCurve = (Thin(precisions), Thin(recalls)),
        };
    }

    static readonly string[] MulticlassNames =
    [
        "accuracy", "accuracy_best_constant_classifier", "weighted_recall", "weighted_recall_best_constant_classifier",
        "weighted_precision", "weighted_precision_best_constant_classifier", "weighted_f0_5", "weighted_f0_5_best_constant_classifier",
        "weighted_f1", "weighted_f1_best_constant_classifier", "weighted_f2", "weighted_f2_best_constant_classifier",
    ];

    public static QualityStatistics Multiclass(IReadOnlyList<string> actual, IReadOnlyList<string> predicted)
    {
        var all = Enumerable.Range(0, actual.Count).ToArray();
        Dictionary<string, double> Of(int[] rows)
        {
            var support = new Dictionary<string, long>(StringComparer.Ordinal);
            var predictedCount = new Dictionary<string, long>(StringComparer.Ordinal);
            var correct = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var i in rows)
            {
                support[actual[i]] = support.GetValueOrDefault(actual[i]) + 1;
                predictedCount[predicted[i]] = predictedCount.GetValueOrDefault(predicted[i]) + 1;
                if (actual[i] == predicted[i]) correct[actual[i]] = correct.GetValueOrDefault(actual[i]) + 1;
            }
            double n = rows.Length;
            // Per class, weighted by how many records have it as their label (its support).
            double Weighted(Func<double, double, double> score)
            {
                double sum = 0;
                foreach (var (label, count) in support)
                {
                    var tp = correct.GetValueOrDefault(label);
                    sum += count / n * score(Ratio(tp, predictedCount.GetValueOrDefault(label)), Ratio(tp, count));
                }
                return sum;
            }
            // The best constant classifier always says the most frequent label: its recall is 1, its
            // precision that label's share, every other label scores 0.
            var majority = support.Values.Max() / n;
            double Constant(Func<double, double, double> score) => majority * score(majority, 1);
            return new()
            {
                ["accuracy"] = correct.Values.Sum() / n,
                ["accuracy_best_constant_classifier"] = majority,
                ["weighted_recall"] = Weighted((_, r) => r),
                ["weighted_recall_best_constant_classifier"] = Constant((_, r) => r),
                ["weighted_precision"] = Weighted((p, _) => p),
                ["weighted_precision_best_constant_classifier"] = Constant((p, _) => p),
                ["weighted_f0_5"] = Weighted((p, r) => FScore(0.5, p, r)),
                ["weighted_f0_5_best_constant_classifier"] = Constant((p, r) => FScore(0.5, p, r)),
                ["weighted_f1"] = Weighted((p, r) => FScore(1, p, r)),
                ["weighted_f1_best_constant_classifier"] = Constant((p, r) => FScore(1, p, r)),
                ["weighted_f2"] = Weighted((p, r) => FScore(2, p, r)),
                ["weighted_f2_best_constant_classifier"] = Constant((p, r) => FScore(2, p, r)),
            };
        }
        var matrix = new SortedDictionary<string, SortedDictionary<string, long>>(StringComparer.Ordinal);
        foreach (var i in all)
        {
            if (!matrix.TryGetValue(actual[i], out var row)) matrix[actual[i]] = row = new SortedDictionary<string, long>(StringComparer.Ordinal);
            row[predicted[i]] = row.GetValueOrDefault(predicted[i]) + 1;
        }
        return new QualityStatistics { ProblemType = "MulticlassClassification", ItemCount = all.Length, Metrics = WithDeviation(all, Of, MulticlassNames), ConfusionMatrix = matrix };
    }

    static double Ratio(double numerator, double denominator) => denominator == 0 ? 0 : numerator / denominator;

    static double Undefined(double numerator, double denominator) => denominator == 0 ? double.NaN : numerator / denominator;

    /// <summary>F-beta: (1 + β²)·P·R / (β²·P + R), 0 when both are 0.</summary>
    public static double FScore(double beta, double precision, double recall)
        => Ratio((1 + beta * beta) * precision * recall, beta * beta * precision + recall);

    /// <summary>The ROC curve by one sweep down the scores (records of equal score taken together,
    /// so a tie counts half), and its area by the trapezoid rule; NaN when one label is missing.</summary>
    static (double Auc, List<double> Fpr, List<double> Tpr) Roc(int[] rows, IReadOnlyList<int> actual, IReadOnlyList<double> scores)
    {
        var order = rows.OrderByDescending(i => scores[i]).ToArray();
        double positives = rows.Count(i => actual[i] == 1), negatives = rows.Length - positives;
        List<double> fpr = [0], tpr = [0];
        if (positives == 0 || negatives == 0) return (double.NaN, fpr, tpr);
        double tp = 0, fp = 0, area = 0;
        for (var k = 0; k < order.Length;)
        {
            var score = scores[order[k]];
            for (; k < order.Length && scores[order[k]] == score; k++)
                if (actual[order[k]] == 1) tp++;
                else fp++;
            var (x, y) = (fp / negatives, tp / positives);
            area += (x - fpr[^1]) * (y + tpr[^1]) / 2;
            fpr.Add(x);
            tpr.Add(y);
        }
        return (area, fpr, tpr);
    }

    /// <summary>The precision-recall curve by the same sweep, and the average precision
    /// (Σ (Rₖ − Rₖ₋₁)·Pₖ over the thresholds); NaN without positives.</summary>
    static (double AveragePrecision, List<double> Precisions, List<double> Recalls) PrecisionRecall(int[] rows, IReadOnlyList<int> actual, IReadOnlyList<double> scores)
    {
        var order = rows.OrderByDescending(i => scores[i]).ToArray();
        double positives = rows.Count(i => actual[i] == 1);
        List<double> precisions = [], recalls = [];
        if (positives == 0) return (double.NaN, precisions, recalls);
        double tp = 0, fp = 0, average = 0, lastRecall = 0;
        for (var k = 0; k < order.Length;)
        {
            var score = scores[order[k]];
            for (; k < order.Length && scores[order[k]] == score; k++)
                if (actual[order[k]] == 1) tp++;
                else fp++;
            var (precision, recall) = (tp / (tp + fp), tp / positives);
            average += (recall - lastRecall) * precision;
            lastRecall = recall;
            precisions.Add(precision);
            recalls.Add(recall);
        }
        return (average, precisions, recalls);
    }

    static List<double> Thin(List<double> points)
    {
        if (points.Count <= MaxCurvePoints) return points;
        return [.. Enumerable.Range(0, MaxCurvePoints).Select(i => points[(int)Math.Round(i * (points.Count - 1.0) / (MaxCurvePoints - 1))])];
    }

    /// <summary>Each metric's value over all rows, and its standard deviation over five samples of
    /// 80 % of them (drawn without replacement by a fixed seed, so that a rerun writes the same file).</summary>
    static List<(string, QualityMetric)> WithDeviation(int[] all, Func<int[], Dictionary<string, double>> metrics, string[] names)
    {
        if (all.Length == 0) throw new ClientError("there are no records to compute model-quality metrics of");
        var values = metrics(all);
        var samples = new List<Dictionary<string, double>>();
        if (all.Length >= MinForDeviation)
        {
            var random = new Random(0);
            for (var s = 0; s < 5; s++)
            {
                var shuffled = (int[])all.Clone();
                random.Shuffle(shuffled);
                samples.Add(metrics(shuffled[..(int)(all.Length * 0.8)]));
            }
        }
        return [.. names.Select(name =>
        {
            var deviation = double.NaN;
            if (samples.Count > 0)
            {
                var mean = samples.Average(s => s[name]);
                deviation = Math.Sqrt(samples.Average(s => (s[name] - mean) * (s[name] - mean)));
            }
            return (name, new QualityMetric(values[name], deviation));
        })];
    }
}
