using System.Globalization;
using System.Text.RegularExpressions;

namespace Strata.Server.Jobs.Training;

/// <summary>
/// SageMaker's built-in algorithms that Strata trains itself (strata-algorithms, on ML.NET): which
/// training image URIs mean them — AWS's own (<c>…/sagemaker-xgboost:1.7-1</c>,
/// <c>…/linear-learner:1</c>, <c>…/kmeans:1</c>, <c>…/pca:1</c>, any registry and tag, as the SageMaker SDK's image_uris.retrieve
/// returns them) and <c>strata-*</c> names — and the metrics AWS's algorithm containers report,
/// with the regular expressions that find them in the job's log (AWS defines these for its
/// algorithms; a job's own MetricDefinitions are for images of one's own).
/// </summary>
public static class BuiltInAlgorithms
{
    /// <summary>The algorithm an image means (<c>xgboost</c>, <c>linear-learner</c>, <c>kmeans</c>, <c>pca</c>), or null.</summary>
    public static string? Of(string image) => Hosting.Images.Algorithm(image);

    const string Number = @"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)";

    /// <summary>The metrics an algorithm reports, as AWS's algorithm containers log them.</summary>
    public static IReadOnlyList<TrainingMetricDefinition> Metrics(string algorithm) => algorithm switch
    {
        // XGBoost prints each round as "[12]#011train-auc:0.91#011validation-auc:0.90".
        "xgboost" => [.. from channel in new[] { "train", "validation" }
                         from metric in new[] { "auc", "error", "logloss", "rmse", "mae", "mlogloss", "merror" }
                         select new TrainingMetricDefinition($"{channel}:{metric}", $@".*\[[0-9]+\].*#011{channel}-{metric}:{Number}.*")],
        // AWS's own algorithms print "#quality_metric: host=algo-1, validation binary_classification_accuracy <score>=0.94"
        // and losses as "<loss>" (rmse, absolute_loss, and objective_loss, whose line names the
        // objective: binary_classification_cross_entropy_objective, square_loss_objective, …).
        "linear-learner" => [.. from channel in new[] { "train", "validation", "test" }
                                from metric in new[] { "binary_classification_accuracy", "binary_f_beta", "precision", "recall", "roc_auc_score",
                                    "multiclass_accuracy", "absolute_loss", "mse", "rmse", "objective_loss" }
                                let logged = metric == "objective_loss" ? @"\S+_objective" : metric
                                select new TrainingMetricDefinition($"{channel}:{metric}", $@"#quality_metric: host=\S+, {channel} {logged} <(?:score|loss)>={Number}")],
        // k-means: "#quality_metric: host=algo-1, test msd <loss>=0.06" (train msd after training,
        // the test channel's eval_metrics), with the progress and throughput AWS's algorithms log.
        "kmeans" => [.. Progress, .. from metric in new[] { "train:msd", "test:msd", "test:ssd" }
                                    let channel = metric.Split(':')[0]
                                    let name = metric.Split(':')[1]
                                    select new TrainingMetricDefinition(metric, $@"#quality_metric: host=\S+, {channel} {name} <loss>={Number}")],
        // PCA reports no quality metric, only its progress and throughput.
        "pca" => Progress,
        _ => [],
    };

    /// <summary>AWS's first-party algorithms' "#progress_metric: host=algo-1, completed 100.0 % of epochs"
    /// and "#throughput_metric: host=algo-1, train throughput=5000.0 records/second".</summary>
    static readonly TrainingMetricDefinition[] Progress =
    [
        new("train:progress", $@"#progress_metric: host=\S+, completed {Number} % of epochs"),
        new("train:throughput", $@"#throughput_metric: host=\S+, train throughput={Number} records/second"),
    ];

    /// <summary>The metrics a job reports: its algorithm's, or its own MetricDefinitions.</summary>
    public static IReadOnlyList<TrainingMetricDefinition> MetricsOf(TrainingJob job) => Of(job.Image) is { } algorithm ? Metrics(algorithm) : job.MetricDefinitions;

    /// <summary>The value a log line gives a metric (its pattern's first group, a finite number), or null.</summary>
    public static double? ValueIn(Regex pattern, string line)
    {
        try
        {
            return pattern.Match(line) is { Success: true, Groups.Count: > 1 } m
                && double.TryParse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) ? value : null;
        }
        catch (RegexMatchTimeoutException) { return null; }
    }

    /// <summary>Compiled once per job: every definition's pattern, with a timeout so that a
    /// pathological user pattern cannot stall the log reader.</summary>
    public static List<(string Name, Regex Pattern)> Compile(IEnumerable<TrainingMetricDefinition> definitions)
        => definitions.Select(d => (d.Name, new Regex(d.Regex, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100)))).ToList();
}
