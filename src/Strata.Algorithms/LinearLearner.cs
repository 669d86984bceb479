using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace Strata.Algorithms;

/// <summary>
/// AWS's built-in Linear Learner: logistic regression (binary_classifier), softmax regression
/// (multiclass_classifier) or least squares (regressor) on features normalized to mean 0 and
/// variance 1 (normalize_data), trained with ML.NET's SDCA: <c>epochs</c> are its passes over the
/// data, <c>l1</c> and <c>wd</c> its L1 and L2 weights. SDCA takes no step size nor batches, so
/// <c>learning_rate</c> and <c>mini_batch_size</c> are checked and then have no effect. Metrics are
/// logged as AWS's first-party algorithms log them:
/// <c>#quality_metric: host=algo-1, validation binary_classification_accuracy &lt;score&gt;=0.94</c>.
/// </summary>
public static class LinearLearner
{
    enum Predictor { Binary, Multiclass, Regressor }

    public static void Train(TrainingEnvironment env, TextWriter log)
    {
        var hp = env.Hyperparameters;
        var predictor = hp.Choice("predictor_type", null, "binary_classifier", "multiclass_classifier", "regressor") switch
        {
            "binary_classifier" => Predictor.Binary,
            "multiclass_classifier" => Predictor.Multiclass,
            _ => Predictor.Regressor,
        };
        var classes = predictor == Predictor.Multiclass ? hp.Int("num_classes", null, 3, 1_000_000) : hp.Has("num_classes") ? hp.Int("num_classes", 0, 0) : 0;
        var featureDim = hp.String("feature_dim") is { } fd && !fd.Equals("auto", StringComparison.OrdinalIgnoreCase) ? hp.Int("feature_dim", 0, 1) : (int?)null;
        var epochs = hp.Int("epochs", 15, 1);
        hp.Int("mini_batch_size", 1000, 1);
        hp.DoubleOrAuto("learning_rate", 0);
        var l1 = hp.DoubleOrAuto("l1", 0);
        var wd = hp.DoubleOrAuto("wd", 0);
        var normalize = hp.Bool("normalize_data", true);
        if (hp.String("normalize_label") is { } nl && !nl.Equals("auto", StringComparison.OrdinalIgnoreCase)) hp.Bool("normalize_label", false);
        if (!hp.Bool("use_bias", true)) throw new ClientError("Hyperparameter 'use_bias': false is not supported by Strata's Linear Learner");
        hp.Choice("optimizer", "auto", "auto", "sgd", "adam", "rmsprop");
        hp.Choice("loss", "auto", predictor switch
        {
            Predictor.Binary => ["auto", "logistic"],
            Predictor.Multiclass => ["auto", "softmax_loss"],
            _ => ["auto", "squared_loss"],
        });
        hp.Choice("binary_classifier_model_selection_criteria", "accuracy", "accuracy");
        hp.RejectUnknown();

        foreach (var name in env.Channels.Keys)
            if (name is not ("train" or "validation" or "test"))
                throw new ClientError($"Channel '{name}' is not supported by Linear Learner; use 'train' and optionally 'validation' and 'test'");
        if (!env.Channels.ContainsKey("train")) throw new ClientError("Channel 'train' is required");
        // Linear Learner reads CSV when no content type is given (recordIO-protobuf is not supported here).
        var data = DataReader.Read(env.Channels.Values, DataReader.Csv);
        var train = data["train"];
        if (featureDim is { } dim && dim != train.Columns)
            throw new ClientError($"Hyperparameter 'feature_dim': {dim} does not match the data, which has {train.Columns} features");
        var (kind, objective) = predictor switch
        {
            Predictor.Binary => (LabelKind.Binary, "binary_classifier"),
            Predictor.Multiclass => (LabelKind.Multiclass, "multiclass_classifier"),
            _ => (LabelKind.Real, "regressor"),
        };
        foreach (var d in data.Values) Labels.Check(d, kind, classes, objective, "num_classes");
        foreach (var d in data.Values) FirstParty.RequireComplete(d, "Linear Learner");

        var ml = new MLContext(seed: 0);
        IEstimator<ITransformer> pipeline = normalize
            ? ml.Transforms.NormalizeMeanVariance(MlData.FeaturesColumn, fixZero: false)
            : new EstimatorChain<ITransformer>();
        pipeline = predictor switch
        {
            Predictor.Binary => pipeline.Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(new SdcaLogisticRegressionBinaryTrainer.Options
            {
                MaximumNumberOfIterations = epochs,
                L1Regularization = (float?)l1,
                L2Regularization = (float?)wd,
                NumberOfThreads = 1,
            })),
            Predictor.Multiclass => pipeline.Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(new SdcaMaximumEntropyMulticlassTrainer.Options
            {
                MaximumNumberOfIterations = epochs,
                L1Regularization = (float?)l1,
                L2Regularization = (float?)wd,
                NumberOfThreads = 1,
            })),
            _ => pipeline.Append(ml.Regression.Trainers.Sdca(new SdcaRegressionTrainer.Options
            {
                MaximumNumberOfIterations = epochs,
                L1Regularization = (float?)l1,
                L2Regularization = (float?)wd,
                NumberOfThreads = 1,
            })),
        };
        var model = pipeline.Fit(View(ml, train, predictor, classes));

        foreach (var name in new[] { "train", "validation", "test" })
            if (data.TryGetValue(name, out var d)) LogMetrics(ml, model, d, predictor, classes, log);

        string[] outputs = predictor switch
        {
            Predictor.Binary => ["Probability", "PredictedLabel"],
            _ => ["Score"],
        };
        MlData.SaveOnnx(ml, model, train.Columns, env.ModelDir, outputs);
    }

    static IDataView View(MLContext ml, Dataset d, Predictor predictor, int classes) => predictor switch
    {
        Predictor.Binary => MlData.Binary(ml, d),
        Predictor.Multiclass => MlData.Multiclass(ml, d, classes),
        _ => MlData.Regression(ml, d),
    };

    static void LogMetrics(MLContext ml, ITransformer model, Dataset d, Predictor predictor, int classes, TextWriter log)
    {
        var scored = model.Transform(View(ml, d, predictor, classes));
        void Line(string metric, string kind, double value) => FirstParty.QualityMetric(log, d.Name, metric, kind, value);
        switch (predictor)
        {
            case Predictor.Binary:
                {
                    var p = scored.GetColumn<float>("Probability").Select(v => (double)v).ToArray();
                    var (precision, recall, f1) = Metrics.PrecisionRecall(d.Labels, p);
                    Line("binary_classification_cross_entropy_objective", "loss", Metrics.LogLoss(d.Labels, p));
                    Line("binary_classification_accuracy", "score", 1 - Metrics.Error(d.Labels, p));
                    Line("binary_f_beta", "score", f1);
                    Line("precision", "score", precision);
                    Line("recall", "score", recall);
                    Line("roc_auc_score", "score", Metrics.Auc(d.Labels, p));
                    break;
                }
            case Predictor.Multiclass:
                {
                    var p = scored.GetColumn<float[]>("Score").SelectMany(v => v.Select(x => (double)x)).ToArray();
                    Line("multiclass_cross_entropy_objective", "loss", Metrics.MLogLoss(d.Labels, p, classes));
                    Line("multiclass_accuracy", "score", 1 - Metrics.MError(d.Labels, p, classes));
                    break;
                }
            default:
                {
                    var p = scored.GetColumn<float>("Score").Select(v => (double)v).ToArray();
                    Line("square_loss_objective", "loss", Metrics.Mse(d.Labels, p));
                    Line("absolute_loss", "loss", Metrics.Mae(d.Labels, p));
                    Line("mse", "loss", Metrics.Mse(d.Labels, p));
                    Line("rmse", "loss", Metrics.Rmse(d.Labels, p));
                    break;
                }
        }
    }
}
