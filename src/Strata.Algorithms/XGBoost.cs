using System.Globalization;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using Microsoft.ML.Transforms;

namespace Strata.Algorithms;

/// <summary>
/// AWS's built-in XGBoost algorithm: its hyperparameters and log, trained with ML.NET's LightGBM
/// (gradient-boosted trees like XGBoost's, with XGBoost's knobs: depth, min_child_weight,
/// subsample, gamma, alpha, lambda, and the same logistic/softmax/squared-error objectives).
/// Boosting is additive, so round r's model is the first r trees of the last one: each round's
/// metrics are computed from the trained trees and printed as XGBoost prints them,
/// <c>[r]#011train-auc:0.91234#011validation-auc:0.90111</c>.
/// <para>Missing values (an empty CSV field, an index a libsvm row does not list): XGBoost keeps the
/// record and sends a missing value down the branch each split learned for it. ML.NET's LightGBM
/// would drop a record with a missing feature, so when the training data has any, the trees see each
/// feature as its value (0 when missing) beside an indicator of its missingness (1 when missing), a
/// pair on which a split can set missing values apart as XGBoost's default direction does; the
/// exported model computes the same pair from its input (ONNX IsNaN, Imputer, Concat).</para>
/// </summary>
public static class XGBoost
{
    enum Objective { Binary, Multiclass, Regression }

    static readonly Dictionary<Objective, string[]> AllowedMetrics = new()
    {
        [Objective.Binary] = ["auc", "error", "logloss", "rmse", "mae"],
        [Objective.Regression] = ["rmse", "mae"],
        [Objective.Multiclass] = ["mlogloss", "merror"],
    };

    /// <summary>The settings read from the hyperparameters.</summary>
    sealed record Settings(Objective Objective, int Classes, int Rounds, int MaxDepth, double Eta, double Subsample, double MinChildWeight,
        double Gamma, double Alpha, double Lambda, double ColsampleByTree, double ScalePosWeight, int Seed, int? Threads,
        int? EarlyStoppingRounds, List<string> EvalMetrics);

    public static void Train(TrainingEnvironment env, TextWriter log)
    {
        var settings = ReadSettings(env.Hyperparameters);
        foreach (var name in env.Channels.Keys)
            if (name is not ("train" or "validation"))
                throw new ClientError($"Channel '{name}' is not supported by XGBoost; use 'train' and optionally 'validation'");
        if (!env.Channels.ContainsKey("train")) throw new ClientError("Channel 'train' is required");
        if (settings.EarlyStoppingRounds is not null && !env.Channels.ContainsKey("validation"))
            throw new ClientError("Hyperparameter 'early_stopping_rounds' needs a 'validation' channel");

        var data = DataReader.Read(env.Channels.Values, DataReader.LibSvm);
        var evals = new List<Dataset> { data["train"] };
        if (data.TryGetValue("validation", out var validation)) evals.Add(validation);
        var (kind, objective) = settings.Objective switch
        {
            Objective.Binary => (LabelKind.Binary, "binary:logistic"),
            Objective.Multiclass => (LabelKind.Multiclass, "multi:softprob"),
            _ => (LabelKind.Real, "reg:squarederror"),
        };
        foreach (var d in evals) Labels.Check(d, kind, settings.Classes, objective, "num_class");
        foreach (var d in evals) log.WriteLine($"[INFO] {Capitalized(d.Name)} matrix has {d.Rows} rows and {d.Columns} columns");

        var ml = new MLContext(seed: settings.Seed);
        var train = data["train"];
        var indicateMissing = Array.Exists(train.Features, float.IsNaN);
        var (model, ensembles, probability) = Fit(ml, settings, train, settings.Rounds, indicateMissing);

        if (settings.EarlyStoppingRounds is { } patience)
            log.WriteLine($"Will train until validation-{settings.EvalMetrics[^1]} hasn't improved in {patience} rounds.");
        var stop = LogRounds(settings, ensembles, probability, indicateMissing ? evals.ConvertAll(WithMissingIndicators) : evals, log);
        if (stop < ensembles[0].Trees.Count - 1)
        {
            // XGBoost keeps the trees up to the round it stopped at; LightGBM's rounds do not depend
            // on later ones, so training that many rounds again gives those trees.
            (model, _, _) = Fit(ml, settings, train, stop + 1, indicateMissing);
        }

        var output = settings.Objective switch
        {
            Objective.Binary => "Probability",
            _ => "Score",
        };
        MlData.SaveOnnx(ml, model, train.Columns, env.ModelDir, output);
    }

    static Settings ReadSettings(Hyperparameters hp)
    {
        var objective = hp.Choice("objective", "reg:squarederror", "binary:logistic", "multi:softprob", "reg:squarederror", "reg:linear") switch
        {
            "binary:logistic" => Objective.Binary,
            "multi:softprob" => Objective.Multiclass,
            _ => Objective.Regression,
        };
        var classes = objective == Objective.Multiclass ? hp.Int("num_class", null, 2) : hp.Has("num_class") ? hp.Int("num_class", 0, 1) : 0;
        var rounds = hp.Int("num_round", null, 1);
        var maxDepth = hp.Int("max_depth", 6, 1, 64);
        var eta = hp.Double("eta", 0.3, 0, 1);
        var subsample = hp.Double("subsample", 1, 0, 1, minExclusive: true);
        var minChildWeight = hp.Double("min_child_weight", 1, 0);
        var gamma = hp.Double("gamma", 0, 0);
        var alpha = hp.Double("alpha", 0, 0);
        var lambda = hp.Double("lambda", 1, 0);
        var colsample = hp.Double("colsample_bytree", 1, 0, 1, minExclusive: true);
        var scalePosWeight = hp.Double("scale_pos_weight", 1, 0, minExclusive: true);
        var seed = hp.Int("seed", 0);
        int? threads = hp.Has("nthread") ? hp.Int("nthread", 0, 1) : null;
        int? patience = hp.Has("early_stopping_rounds") ? hp.Int("early_stopping_rounds", 0, 1) : null;
        // Accepted as AWS accepts them; they change nothing here (LightGBM always grows trees from histograms).
        hp.Choice("booster", "gbtree", "gbtree");
        hp.Choice("tree_method", "auto", "auto", "exact", "approx", "hist");
        hp.Int("verbosity", 1, 0, 3);
        hp.Int("silent", 0, 0, 1);
        hp.Int("csv_weights", 0, 0, 0);

        var allowed = AllowedMetrics[objective];
        var asked = new List<string>();
        foreach (var metric in (hp.String("eval_metric") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var m = metric.ToLowerInvariant();
            if (!allowed.Contains(m))
                throw new ClientError($"Hyperparameter 'eval_metric': '{metric}' is not supported for this objective; use one of [{string.Join(", ", allowed)}]");
            if (!asked.Contains(m)) asked.Add(m);
        }
        hp.RejectUnknown();
        // The objective's default metric (AWS's: error, rmse, mlogloss) first unless asked for, then
        // the asked ones in their order: like XGBoost, early stopping watches the last.
        var defaultMetric = allowed[objective == Objective.Binary ? 1 : 0];
        var metrics = asked.Contains(defaultMetric) ? asked : [defaultMetric, .. asked];
        return new Settings(objective, classes, rounds, maxDepth, eta, subsample, minChildWeight, gamma, alpha, lambda, colsample, scalePosWeight,
            seed, threads, patience, metrics);
    }

    /// <summary>Trains <paramref name="rounds"/> rounds; returns the model, its trees (one ensemble
    /// per class for multiclass) and the binary calibrator (raw score to probability).</summary>
    /// <summary>Trains <paramref name="rounds"/> rounds (on the features and their missingness when
    /// <paramref name="indicateMissing"/>); returns the model, its trees (one ensemble per class for
    /// multiclass) and the binary calibrator (raw score to probability).</summary>
    static (ITransformer Model, List<RegressionTreeEnsemble> Ensembles, Func<double, double>? Probability) Fit(
        MLContext ml, Settings s, Dataset train, int rounds, bool indicateMissing)
    {
        var view = s.Objective switch
        {
            Objective.Binary => MlData.Binary(ml, train),
            Objective.Multiclass => MlData.Multiclass(ml, train, s.Classes),
            _ => MlData.Regression(ml, train),
        };
        var missing = indicateMissing ? MissingIndicators(ml).Fit(view) : null;
        if (missing is not null) view = missing.Transform(view);
        ITransformer WithMissing(ITransformer model) => missing is null ? model : missing.Append(model);
        switch (s.Objective)
        {
            case Objective.Binary:
                {
                    // XGBoost's logistic loss: p = 1 / (1 + exp(-score)).
                    var options = new LightGbmBinaryTrainer.Options { Sigmoid = 1, WeightOfPositiveExamples = s.ScalePosWeight };
                    var model = ml.BinaryClassification.Trainers.LightGbm(Boosting(options, s, rounds)).Fit(view);
                    var calibrator = model.Model.Calibrator;
                    return (WithMissing(model), [model.Model.SubModel.TrainedTreeEnsemble], score => calibrator.PredictProbability((float)score));
                }
            case Objective.Multiclass:
                {
                    var options = new LightGbmMulticlassTrainer.Options { UseSoftmax = true };
                    var model = ml.MulticlassClassification.Trainers.LightGbm(Boosting(options, s, rounds)).Fit(view);
                    return (WithMissing(model), ClassEnsembles(model.Model), null);
                }
            default:
                {
                    var options = new LightGbmRegressionTrainer.Options();
                    var model = ml.Regression.Trainers.LightGbm(Boosting(options, s, rounds)).Fit(view);
                    return (WithMissing(model), [model.Model.TrainedTreeEnsemble], null);
                }
        }
    }

    const string Missingness = "Missingness";

    /// <summary>Features → [each value, 0 when missing; each feature's missingness, 1 when missing].</summary>
    static IEstimator<ITransformer> MissingIndicators(MLContext ml)
        => ml.Transforms.IndicateMissingValues(Missingness, MlData.FeaturesColumn)
            .Append(ml.Transforms.Conversion.ConvertType(Missingness, outputKind: DataKind.Single))
            .Append(ml.Transforms.ReplaceMissingValues(MlData.FeaturesColumn, replacementMode: MissingValueReplacingEstimator.ReplacementMode.DefaultValue))
            .Append(ml.Transforms.Concatenate(MlData.FeaturesColumn, MlData.FeaturesColumn, Missingness));

    /// <summary>The same pair as <see cref="MissingIndicators"/> computes, for the round metrics' tree walks.</summary>
    static Dataset WithMissingIndicators(Dataset d)
    {
        var f = d.Columns;
        var features = new float[d.Rows * 2 * f];
        for (var i = 0; i < d.Rows; i++)
        {
            var row = d.Row(i);
            for (var j = 0; j < f; j++)
            {
                var missing = float.IsNaN(row[j]);
                features[i * 2 * f + j] = missing ? 0 : row[j];
                features[i * 2 * f + f + j] = missing ? 1 : 0;
            }
        }
        return new Dataset(d.Name, d.Labels, features, 2 * f, d.Labeled);
    }

    /// <summary>XGBoost's boosting settings on any objective's LightGBM options: rounds, eta, depth-wise
    /// trees of max_depth, min_child_weight, subsample, colsample_bytree, gamma, alpha, lambda.</summary>
    static TOptions Boosting<TOptions, TOutput, TTransformer, TModel>(LightGbmTrainerBase<TOptions, TOutput, TTransformer, TModel>.OptionsBase options,
        Settings s, int rounds)
        where TOptions : LightGbmTrainerBase<TOptions, TOutput, TTransformer, TModel>.OptionsBase, new()
        where TTransformer : ISingleFeaturePredictionTransformer<TModel>
        where TModel : class
    {
        options.NumberOfIterations = rounds;
        options.LearningRate = s.Eta;
        // Depth-wise trees of max_depth have at most 2^max_depth leaves (LightGBM allows 131072).
        options.NumberOfLeaves = (int)Math.Min(1L << Math.Min(s.MaxDepth, 17), 131072);
        options.MinimumExampleCountPerLeaf = 1;
        options.Booster = new GradientBooster.Options
        {
            MaximumTreeDepth = s.MaxDepth,
            MinimumChildWeight = s.MinChildWeight,
            SubsampleFraction = s.Subsample,
            SubsampleFrequency = s.Subsample < 1 ? 1 : 0,
            FeatureFraction = s.ColsampleByTree,
            MinimumSplitGain = s.Gamma,
            L1Regularization = s.Alpha,
            L2Regularization = s.Lambda,
        };
        options.Seed = s.Seed;
        options.Deterministic = true;
        options.NumberOfThreads = s.Threads;
        options.UseCategoricalSplit = false;
        return (TOptions)options;
    }

    /// <summary>The per-class trees of a LightGBM multiclass model. ML.NET keeps them in one-vs-all
    /// sub-models it does not make public; read by reflection (checked by the tests, which compare
    /// the last round's metrics with the exported model's).</summary>
    static List<RegressionTreeEnsemble> ClassEnsembles(OneVersusAllModelParameters model)
    {
        var property = typeof(OneVersusAllModelParameters).GetProperty("SubModelParameters", BindingFlags.NonPublic | BindingFlags.Instance)
            ?? throw new InvalidOperationException("this ML.NET has no OneVersusAllModelParameters.SubModelParameters");
        var subModels = (System.Collections.IEnumerable)property.GetValue(model)!;
        return subModels.Cast<object>().Select(m => m switch
        {
            CalibratedModelParametersBase<LightGbmBinaryModelParameters, PlattCalibrator> c => c.SubModel.TrainedTreeEnsemble,
            LightGbmBinaryModelParameters b => b.TrainedTreeEnsemble,
            _ => throw new InvalidOperationException($"unexpected one-vs-all sub-model {m.GetType()}"),
        }).ToList();
    }

    /// <summary>Prints each round's metrics on every eval set; returns the round to keep (the last,
    /// or the one early stopping stopped at).</summary>
    static int LogRounds(Settings s, List<RegressionTreeEnsemble> ensembles, Func<double, double>? probability, List<Dataset> evals, TextWriter log)
    {
        var classes = ensembles.Count;
        var trees = ensembles.Select(e => new FlatEnsemble(e)).ToList();
        var raw = evals.Select(d =>
        {
            var r = new double[d.Rows * classes];
            for (var i = 0; i < d.Rows; i++)
                for (var k = 0; k < classes; k++) r[i * classes + k] = ensembles[k].Bias;
            return r;
        }).ToList();
        var predictions = evals.Select(d => new double[d.Rows * classes]).ToList();
        var rounds = trees.Min(t => t.Count);
        var watched = s.EvalMetrics[^1];
        var maximize = watched == "auc";
        var best = double.NaN;
        var bestRound = 0;
        var bestLine = "";
        var line = new System.Text.StringBuilder();
        for (var round = 0; round < rounds; round++)
        {
            line.Clear().Append('[').Append(round).Append(']');
            var watchedValue = double.NaN;
            for (var e = 0; e < evals.Count; e++)
            {
                var d = evals[e];
                for (var k = 0; k < classes; k++) trees[k].AddTree(round, d, raw[e], k, classes);
                Predict(s.Objective, raw[e], predictions[e], classes, probability);
                foreach (var metric in s.EvalMetrics)
                {
                    var value = Compute(metric, d.Labels, predictions[e], classes);
                    line.Append("#011").Append(d.Name).Append('-').Append(metric).Append(':').Append(Format(value));
                    if (metric == watched) watchedValue = value;
                }
            }
            log.WriteLine(line);
            if (s.EarlyStoppingRounds is not { } patience) continue;
            if (round == 0 || (maximize ? watchedValue > best : watchedValue < best))
            {
                best = watchedValue;
                bestRound = round;
                bestLine = line.ToString();
            }
            else if (round - bestRound >= patience)
            {
                log.WriteLine("Stopping. Best iteration:");
                log.WriteLine(bestLine);
                return round;
            }
        }
        return rounds - 1;
    }

    static void Predict(Objective objective, double[] raw, double[] predictions, int classes, Func<double, double>? probability)
    {
        switch (objective)
        {
            case Objective.Binary:
                for (var i = 0; i < raw.Length; i++) predictions[i] = probability!(raw[i]);
                break;
            case Objective.Multiclass:
                for (var i = 0; i < raw.Length; i += classes)
                {
                    var max = double.NegativeInfinity;
                    for (var k = 0; k < classes; k++) max = Math.Max(max, raw[i + k]);
                    double sum = 0;
                    for (var k = 0; k < classes; k++) sum += predictions[i + k] = Math.Exp(raw[i + k] - max);
                    for (var k = 0; k < classes; k++) predictions[i + k] /= sum;
                }
                break;
            default:
                Array.Copy(raw, predictions, raw.Length);
                break;
        }
    }

    static double Compute(string metric, float[] labels, double[] p, int classes) => metric switch
    {
        "auc" => Metrics.Auc(labels, p),
        "error" => Metrics.Error(labels, p),
        "logloss" => Metrics.LogLoss(labels, p),
        "rmse" => Metrics.Rmse(labels, p),
        "mae" => Metrics.Mae(labels, p),
        "mlogloss" => Metrics.MLogLoss(labels, p, classes),
        "merror" => Metrics.MError(labels, p, classes),
        _ => throw new InvalidOperationException(metric),
    };

    /// <summary>As XGBoost formats a metric: up to 5 decimals.</summary>
    public static string Format(double value) => double.IsNaN(value) ? "nan" : value.ToString("0.#####", CultureInfo.InvariantCulture);

    static string Capitalized(string name) => name.Length == 0 ? name : char.ToUpperInvariant(name[0]) + name[1..];

    /// <summary>An ensemble's trees as flat arrays, to add one tree's output to every row.</summary>
    sealed class FlatEnsemble(RegressionTreeEnsemble ensemble)
    {
        readonly (int[] Left, int[] Right, int[] Feature, float[] Threshold, double[] Leaf, double Weight)[] _trees = ensemble.Trees
            .Select((t, i) => (t.LeftChild.ToArray(), t.RightChild.ToArray(), t.NumericalSplitFeatureIndexes.ToArray(), t.NumericalSplitThresholds.ToArray(),
                t.LeafValues.ToArray(), ensemble.TreeWeights[i]))
            .ToArray();

        public int Count => _trees.Length;

        /// <summary>Adds tree <paramref name="index"/>'s output to column <paramref name="k"/> of <paramref name="raw"/>
        /// (as ML.NET walks a tree: feature &lt;= threshold goes left, so a missing value, NaN, goes right,
        /// in trees trained on data without any; a leaf is a negative child, ~leaf).</summary>
        public void AddTree(int index, Dataset d, double[] raw, int k, int classes)
        {
            var (left, right, feature, threshold, leaf, weight) = _trees[index];
            for (var i = 0; i < d.Rows; i++)
            {
                var row = d.Row(i);
                var node = left.Length == 0 ? -1 : 0;
                while (node >= 0) node = row[feature[node]] <= threshold[node] ? left[node] : right[node];
                raw[i * classes + k] += weight * leaf[~node];
            }
        }
    }
}
