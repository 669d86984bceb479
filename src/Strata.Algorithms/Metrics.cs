namespace Strata.Algorithms;

/// <summary>The evaluation metrics the algorithms report, as XGBoost defines them: for a binary
/// prediction p (the probability of class 1), error counts p &gt; 0.5 as class 1; log losses clip p
/// to [1e-16, 1-1e-16]. Multiclass predictions are rows of class probabilities.</summary>
public static class Metrics
{
    const double Eps = 1e-16;

    /// <summary>Area under the ROC curve from ranks (ties share their mean rank); NaN when only one class is present.</summary>
    public static double Auc(ReadOnlySpan<float> labels, ReadOnlySpan<double> scores)
    {
        var order = new int[labels.Length];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        var keys = scores.ToArray();
        Array.Sort(keys, order);
        double positives = 0, rankSum = 0;
        for (var i = 0; i < order.Length;)
        {
            var j = i;
            while (j + 1 < order.Length && keys[j + 1] == keys[i]) j++;
            var meanRank = (i + j) / 2.0 + 1;
            for (var k = i; k <= j; k++)
                if (labels[order[k]] > 0.5f) { positives++; rankSum += meanRank; }
            i = j + 1;
        }
        var negatives = labels.Length - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }

    public static double Error(ReadOnlySpan<float> labels, ReadOnlySpan<double> probabilities)
    {
        var wrong = 0;
        for (var i = 0; i < labels.Length; i++)
            if ((probabilities[i] > 0.5) != (labels[i] > 0.5f)) wrong++;
        return (double)wrong / labels.Length;
    }

    public static double LogLoss(ReadOnlySpan<float> labels, ReadOnlySpan<double> probabilities)
    {
        double sum = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var p = Math.Clamp(probabilities[i], Eps, 1 - Eps);
            sum -= labels[i] * Math.Log(p) + (1 - labels[i]) * Math.Log(1 - p);
        }
        return sum / labels.Length;
    }

    public static double Mse(ReadOnlySpan<float> labels, ReadOnlySpan<double> predictions)
    {
        double sum = 0;
        for (var i = 0; i < labels.Length; i++) sum += (predictions[i] - labels[i]) * (predictions[i] - labels[i]);
        return sum / labels.Length;
    }

    public static double Rmse(ReadOnlySpan<float> labels, ReadOnlySpan<double> predictions) => Math.Sqrt(Mse(labels, predictions));

    public static double Mae(ReadOnlySpan<float> labels, ReadOnlySpan<double> predictions)
    {
        double sum = 0;
        for (var i = 0; i < labels.Length; i++) sum += Math.Abs(predictions[i] - labels[i]);
        return sum / labels.Length;
    }

    /// <summary>Multiclass log loss; <paramref name="probabilities"/> holds <paramref name="classes"/> per row.</summary>
    public static double MLogLoss(ReadOnlySpan<float> labels, ReadOnlySpan<double> probabilities, int classes)
    {
        double sum = 0;
        for (var i = 0; i < labels.Length; i++) sum -= Math.Log(Math.Clamp(probabilities[i * classes + (int)labels[i]], Eps, 1 - Eps));
        return sum / labels.Length;
    }

    /// <summary>Multiclass error: the share of rows whose most probable class is not the label.</summary>
    public static double MError(ReadOnlySpan<float> labels, ReadOnlySpan<double> probabilities, int classes)
    {
        var wrong = 0;
        for (var i = 0; i < labels.Length; i++)
            if (ArgMax(probabilities.Slice(i * classes, classes)) != (int)labels[i]) wrong++;
        return (double)wrong / labels.Length;
    }

    public static int ArgMax(ReadOnlySpan<double> values)
    {
        var best = 0;
        for (var k = 1; k < values.Length; k++) if (values[k] > values[best]) best = k;
        return best;
    }

    /// <summary>Precision, recall and F1 of class 1 with p &gt; 0.5 as the positive prediction.</summary>
    public static (double Precision, double Recall, double F1) PrecisionRecall(ReadOnlySpan<float> labels, ReadOnlySpan<double> probabilities)
    {
        double tp = 0, fp = 0, fn = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var predicted = probabilities[i] > 0.5;
            var actual = labels[i] > 0.5f;
            if (predicted && actual) tp++;
            else if (predicted) fp++;
            else if (actual) fn++;
        }
        var precision = tp + fp == 0 ? 0 : tp / (tp + fp);
        var recall = tp + fn == 0 ? 0 : tp / (tp + fn);
        var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return (precision, recall, f1);
    }
}
