using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Strata.Worker;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// strata-algorithms run as the training job runs it: a child process, SageMaker's SM_* environment,
/// channel directories of CSV files. The metrics it prints are checked against the exported model,
/// scored with ONNX Runtime and measured here independently; the model is also served through the
/// inference worker's own CSV codec.
/// </summary>
public sealed class AlgorithmsTests : IDisposable
{
    const int Features = 10;
    readonly string _root = Directory.CreateTempSubdirectory("strata-algorithms-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Rows of a known model plus noise: features N(0,1); label from <paramref name="label"/>(score, random).</summary>
    static List<(float Label, float[] X)> Synthetic(int rows, int seed, Func<double, Random, float> label)
    {
        var weights = new Random(42);
        var w = Enumerable.Range(0, Features).Select(_ => Gaussian(weights)).ToArray();
        var random = new Random(seed);
        var data = new List<(float, float[])>();
        for (var i = 0; i < rows; i++)
        {
            var x = Enumerable.Range(0, Features).Select(_ => (float)Gaussian(random)).ToArray();
            var score = x.Select((v, j) => v * w[j]).Sum();
            data.Add((label(score, random), x));
        }
        return data;
    }

    static double Gaussian(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    static float Logistic(double score, Random r) => r.NextDouble() < 1 / (1 + Math.Exp(-(score + Gaussian(r)))) ? 1 : 0;

    static string Csv(IEnumerable<(float Label, float[] X)> rows)
        => string.Concat(rows.Select(r => string.Join(",", new[] { r.Label }.Concat(r.X).Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "\n"));

    /// <summary>Writes a channel; the train channel as two files, one in a subdirectory, to be read in order.</summary>
    string Channel(string name, List<(float Label, float[] X)> rows)
    {
        var dir = Path.Combine(_root, "input", name);
        Directory.CreateDirectory(Path.Combine(dir, "part-b"));
        var half = rows.Count / 2;
        File.WriteAllText(Path.Combine(dir, "part-a.csv"), Csv(rows.Take(half)));
        File.WriteAllText(Path.Combine(dir, "part-b", "rest.csv"), Csv(rows.Skip(half)));
        return dir;
    }

    Task<AlgorithmRun> Train(string algorithm, string hyperparameters, params (string Name, string Dir)[] channels)
        => AlgorithmProcess.TrainAsync(_root, algorithm, hyperparameters, channels.Select(c => (c.Name, c.Dir, "text/csv")).ToArray());

    /// <summary>The value of <paramref name="metric"/> on the last XGBoost round line printed.</summary>
    static double LastRound(string stdout, string metric)
    {
        var pattern = new Regex(@"^\[[0-9]+\].*#011" + Regex.Escape(metric) + @":([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)", RegexOptions.Multiline);
        var matches = pattern.Matches(stdout);
        Assert.True(matches.Count > 0, $"no {metric} line in:\n{stdout}");
        return double.Parse(matches[^1].Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>Scores rows with the exported model: checks its one input is Features, float [N, 10].</summary>
    static float[] Score(string modelPath, List<(float Label, float[] X)> rows, string output)
    {
        using var session = new InferenceSession(modelPath);
        var input = Assert.Single(session.InputMetadata);
        Assert.Equal("Features", input.Key);
        Assert.Equal(TensorElementType.Float, input.Value.ElementDataType);
        Assert.Equal([-1, Features], input.Value.Dimensions);
        var tensor = new DenseTensor<float>(rows.SelectMany(r => r.X).ToArray(), [rows.Count, Features]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("Features", tensor)]);
        return results.Single(r => r.Name == output).AsTensor<float>().ToArray();
    }

    /// <summary>AUC as the share of (positive, negative) pairs ranked right, ties counting half.</summary>
    static double PairwiseAuc(List<(float Label, float[] X)> rows, float[] scores)
    {
        var positives = scores.Where((_, i) => rows[i].Label == 1).ToArray();
        var negatives = scores.Where((_, i) => rows[i].Label == 0).ToArray();
        double right = 0;
        foreach (var p in positives)
            foreach (var n in negatives)
                right += p > n ? 1 : p == n ? 0.5 : 0;
        return right / ((double)positives.Length * negatives.Length);
    }

    [Fact]
    public async Task XGBoostBinaryPrintsTheValidationAucOfTheModelItExports()
    {
        var train = Synthetic(2000, 1, Logistic);
        var validation = Synthetic(500, 2, Logistic);
        var run = await Train("xgboost", """{"objective":"binary:logistic","num_round":"30","max_depth":"4","eta":"0.2","eval_metric":"auc"}""",
            ("train", Channel("train", train)), ("validation", Channel("validation", validation)));

        Assert.True(run.ExitCode == 0, run.Stdout + run.Failure);
        Assert.Matches(@"(?m)^\[29\]#011train-error:[0-9.]+#011train-auc:[0-9.]+#011validation-error:[0-9.]+#011validation-auc:[0-9.]+$", run.Stdout);
        var probabilities = Score(run.ModelPath, validation, "Probability.output");
        var auc = PairwiseAuc(validation, probabilities);
        Assert.InRange(auc, 0.75, 1);
        Assert.InRange(LastRound(run.Stdout, "validation-auc"), auc - 0.01, auc + 0.01);
        var error = validation.Where((r, i) => (probabilities[i] > 0.5f ? 1 : 0) != r.Label).Count() / (double)validation.Count;
        Assert.InRange(LastRound(run.Stdout, "validation-error"), error - 0.005, error + 0.005);

        // The inference worker serves it unchanged: CSV feature rows in, one probability per row out.
        using var model = new OnnxModel(run.ModelPath, 1);
        var body = Encoding.UTF8.GetBytes(string.Concat(validation.Take(3).Select(r => string.Join(",", r.X.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "\n")));
        var answer = Encoding.UTF8.GetString(Codecs.Encode(Codecs.Csv, model.Run(Codecs.Decode(Codecs.Csv, body, model))));
        var served = answer.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => float.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(probabilities.Take(3), served);
    }

    [Fact]
    public async Task XGBoostEarlyStoppingKeepsTheTreesUpToTheRoundItStoppedAt()
    {
        var train = Synthetic(1000, 3, Logistic);
        var validation = Synthetic(400, 4, Logistic);
        var run = await Train("xgboost", """{"objective":"binary:logistic","num_round":"300","eta":"0.5","eval_metric":"logloss","early_stopping_rounds":"3"}""",
            ("train", Channel("train", train)), ("validation", Channel("validation", validation)));

        Assert.True(run.ExitCode == 0, run.Stdout + run.Failure);
        Assert.Contains("Will train until validation-logloss hasn't improved in 3 rounds.", run.Stdout);
        Assert.Contains("Stopping. Best iteration:", run.Stdout);
        var rounds = Regex.Matches(run.Stdout, @"(?m)^\[([0-9]+)\]").Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        var stoppedAt = rounds[^2]; // the last line repeats the best round
        Assert.True(stoppedAt < 299);
        Assert.Equal(stoppedAt - 3, rounds[^1]);
        // The model holds the trees up to the round it stopped at: that round's printed log loss is the model's.
        var stopLine = run.Stdout.Split('\n').Single(l => l.StartsWith($"[{stoppedAt}]", StringComparison.Ordinal));
        var p = Score(run.ModelPath, validation, "Probability.output");
        var logloss = -validation.Select((r, i) => r.Label == 1 ? Math.Log(p[i]) : Math.Log(1 - p[i])).Average();
        Assert.InRange(LastRound(stopLine, "validation-logloss"), logloss - 1e-3, logloss + 1e-3);
    }

    [Fact]
    public async Task XGBoostRegressionPrintsTheValidationRmseOfTheModelItExports()
    {
        static float Linear(double score, Random r) => (float)(3 * score + 2 + Gaussian(r));
        var train = Synthetic(2000, 5, Linear);
        var validation = Synthetic(500, 6, Linear);
        var run = await Train("xgboost", """{"objective":"reg:squarederror","num_round":"50","eval_metric":"mae"}""",
            ("train", Channel("train", train)), ("validation", Channel("validation", validation)));

        Assert.True(run.ExitCode == 0, run.Stdout + run.Failure);
        var predictions = Score(run.ModelPath, validation, "Score.output");
        var rmse = Math.Sqrt(validation.Select((r, i) => Math.Pow(predictions[i] - r.Label, 2)).Average());
        var mae = validation.Select((r, i) => Math.Abs(predictions[i] - r.Label)).Average();
        Assert.InRange(rmse, 0, 6);
        Assert.InRange(LastRound(run.Stdout, "validation-rmse"), rmse * 0.999 - 1e-4, rmse * 1.001 + 1e-4);
        Assert.InRange(LastRound(run.Stdout, "validation-mae"), mae * 0.999 - 1e-4, mae * 1.001 + 1e-4);
    }

    [Fact]
    public async Task XGBoostMulticlassExportsClassProbabilities()
    {
        static float ThreeClasses(double score, Random r) => score + Gaussian(r) * 0.5 is var s && s < -1 ? 0 : s < 1 ? 1 : 2;
        var train = Synthetic(1500, 7, ThreeClasses);
        var validation = Synthetic(500, 8, ThreeClasses);
        var run = await Train("xgboost", """{"objective":"multi:softprob","num_class":"3","num_round":"20","eval_metric":"merror"}""",
            ("train", Channel("train", train)), ("validation", Channel("validation", validation)));

        Assert.True(run.ExitCode == 0, run.Stdout + run.Failure);
        var probabilities = Score(run.ModelPath, validation, "Score.output");
        Assert.Equal(validation.Count * 3, probabilities.Length);
        var mlogloss = -validation.Select((r, i) => Math.Log(Math.Max(probabilities[i * 3 + (int)r.Label], 1e-16))).Average();
        var merror = validation.Where((r, i) => Enumerable.Range(0, 3).MaxBy(k => probabilities[i * 3 + k]) != (int)r.Label).Count() / (double)validation.Count;
        Assert.InRange(LastRound(run.Stdout, "validation-mlogloss"), mlogloss - 1e-3, mlogloss + 1e-3);
        Assert.InRange(LastRound(run.Stdout, "validation-merror"), merror - 0.005, merror + 0.005);
        Assert.InRange(merror, 0, 0.3);
    }

    [Fact]
    public async Task XGBoostReadsAnIndexALibsvmRowDoesNotListAsMissingNotAsZero()
    {
        // The class is whether a row lists feature 2: class 0 lists it as 0, class 1 leaves it out.
        // Read as 0 the classes look alike; read as missing, as XGBoost reads libsvm, they do not.
        List<(float Label, float[] X)> Rows(int count, int seed)
        {
            var random = new Random(seed);
            return Enumerable.Range(0, count).Select(_ => (Label: (float)random.Next(2), X: new[] { (float)Gaussian(random), 0f }))
                .Select(r => (r.Label, r.Label == 1 ? new[] { r.X[0], float.NaN } : r.X)).ToList();
        }
        string Channel(string name, List<(float Label, float[] X)> rows)
        {
            var dir = Path.Combine(_root, "input", name);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "data.libsvm"), string.Concat(rows.Select(r =>
                $"{r.Label} 1:{r.X[0].ToString("R", CultureInfo.InvariantCulture)}{(float.IsNaN(r.X[1]) ? "" : " 2:0")}\n")));
            return dir;
        }
        var validation = Rows(500, 22);
        var run = await AlgorithmProcess.TrainAsync(_root, "xgboost", """{"objective":"binary:logistic","num_round":"10","max_depth":"2","eval_metric":"auc"}""",
            ("train", Channel("train", Rows(2000, 21)), "text/libsvm"), ("validation", Channel("validation", validation), "text/libsvm"));

        Assert.True(run.ExitCode == 0, run.Stdout + run.Failure);
        var printed = LastRound(run.Stdout, "validation-auc");
        Assert.InRange(printed, 0.99, 1);
        // The exported model takes the missing feature as NaN, as training did: its AUC and error are the printed ones.
        using var session = new InferenceSession(run.ModelPath);
        var tensor = new DenseTensor<float>(validation.SelectMany(r => r.X).ToArray(), [validation.Count, 2]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("Features", tensor)]);
        var probabilities = results.Single(r => r.Name == "Probability.output").AsTensor<float>().ToArray();
        Assert.InRange(PairwiseAuc(validation, probabilities), printed - 0.01, printed + 0.01);
        var error = validation.Where((r, i) => (probabilities[i] > 0.5f ? 1 : 0) != r.Label).Count() / (double)validation.Count;
        Assert.InRange(LastRound(run.Stdout, "validation-error"), error - 0.005, error + 0.005);
    }

    /// <summary>The value of a Linear Learner metric line, as AWS's regexes read it.</summary>
    static double QualityMetric(string stdout, string channel, string metric, string kind)
    {
        var match = Regex.Match(stdout, $@"#quality_metric: host=\S+, {channel} {metric} <{kind}>=(\S+)");
        Assert.True(match.Success, $"no {channel} {metric} line in:\n{stdout}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task LinearLearnerBinaryPrintsTheValidationAccuracyOfTheModelItExports()
    {
        var train = Synthetic(2000, 11, Logistic);
        var validation = Synthetic(500, 12, Logistic);
        var run = await Train("linear-learner", """{"predictor_type":"binary_classifier","epochs":"10","mini_batch_size":"100","learning_rate":"auto","wd":"0.0001","normalize_data":"true"}""",
            ("train", Channel("train", train)), ("validation", Channel("validation", validation)));

        Assert.True(run.ExitCode == 0, run.Stdout + run.Failure);
        var probabilities = Score(run.ModelPath, validation, "Probability.output");
        var accuracy = validation.Where((r, i) => (probabilities[i] > 0.5f ? 1 : 0) == r.Label).Count() / (double)validation.Count;
        Assert.InRange(accuracy, 0.75, 1);
        Assert.InRange(QualityMetric(run.Stdout, "validation", "binary_classification_accuracy", "score"), accuracy - 0.005, accuracy + 0.005);
        var auc = PairwiseAuc(validation, probabilities);
        Assert.InRange(QualityMetric(run.Stdout, "validation", "roc_auc_score", "score"), auc - 0.01, auc + 0.01);
        QualityMetric(run.Stdout, "train", "binary_classification_accuracy", "score");
        var reported = Reported("linear-learner", run.Stdout);
        Assert.InRange(reported["validation:binary_classification_accuracy"], accuracy - 0.005, accuracy + 0.005);
        Assert.Contains("validation:objective_loss", reported.Keys);
    }

    [Fact]
    public async Task LinearLearnerRegressorPrintsTheValidationRmseOfTheModelItExports()
    {
        static float Linear(double score, Random r) => (float)(3 * score + 2 + Gaussian(r));
        var train = Synthetic(2000, 13, Linear);
        var validation = Synthetic(500, 14, Linear);
        var run = await Train("linear-learner", """{"predictor_type":"regressor","epochs":"20"}""",
            ("train", Channel("train", train)), ("validation", Channel("validation", validation)));

        Assert.True(run.ExitCode == 0, run.Stdout + run.Failure);
        var predictions = Score(run.ModelPath, validation, "Score.output");
        var rmse = Math.Sqrt(validation.Select((r, i) => Math.Pow(predictions[i] - r.Label, 2)).Average());
        Assert.InRange(rmse, 0, 1.5); // the noise has standard deviation 1
        Assert.InRange(QualityMetric(run.Stdout, "validation", "rmse", "loss"), rmse * 0.999, rmse * 1.001);
        // The training job reads them with AWS's metric definitions for Linear Learner.
        var reported = Reported("linear-learner", run.Stdout);
        Assert.InRange(reported["validation:rmse"], rmse * 0.999, rmse * 1.001);
        Assert.Equal(reported["validation:mse"], reported["validation:objective_loss"]);
        Assert.Contains("train:absolute_loss", reported.Keys);
    }

    /// <summary>What a training job's log reader makes of <paramref name="stdout"/> with the built-in
    /// algorithm's metric definitions: each metric's last value.</summary>
    internal static Dictionary<string, double> Reported(string algorithm, string stdout)
    {
        var values = new Dictionary<string, double>();
        foreach (var line in stdout.Split('\n'))
            foreach (var (name, pattern) in Strata.Server.Jobs.Training.BuiltInAlgorithms.Compile(Strata.Server.Jobs.Training.BuiltInAlgorithms.Metrics(algorithm)))
                if (pattern.Match(line) is { Success: true } m) values[name] = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return values;
    }

    [Fact]
    public async Task LinearLearnerWithoutPredictorTypeFailsNamingIt()
    {
        var run = await Train("linear-learner", """{"epochs":"5"}""", ("train", Channel("train", Synthetic(100, 15, Logistic))));

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("ClientError: ", run.Failure);
        Assert.Contains("predictor_type", run.Failure);
    }

    [Fact]
    public async Task LinearLearnerRefusesAMissingValueNamingItsRecord()
    {
        // ML.NET's SDCA would skip the record silently; the job fails saying where the gap is.
        var dir = Channel("train", Synthetic(100, 16, Logistic));
        File.WriteAllText(Path.Combine(dir, "part-b", "zz-gap.csv"), "1,0.5,0.5,0.5,0.5,,0.5,0.5,0.5,0.5,0.5\n");
        var run = await Train("linear-learner", """{"predictor_type":"binary_classifier"}""", ("train", dir));

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("ClientError: Channel 'train', record 101, feature 5: a value is missing; Linear Learner needs every feature of every record", run.Failure);
    }

    [Theory]
    [InlineData("""{"objective":"binary:logistic"}""", "num_round")]
    [InlineData("""{"objective":"binary:logitraw","num_round":"5"}""", "objective")]
    [InlineData("""{"objective":"binary:logistic","num_round":"5","max_depth":"deep"}""", "max_depth")]
    [InlineData("""{"objective":"binary:logistic","num_round":"5","eval_metric":"mlogloss"}""", "eval_metric")]
    [InlineData("""{"objective":"binary:logistic","num_round":"5","no_such_thing":"1"}""", "no_such_thing")]
    [InlineData("""{"objective":"binary:logistic","num_round":"5","early_stopping_rounds":"3"}""", "validation")]
    public async Task XGBoostRejectsABadHyperparameterNamingIt(string hyperparameters, string named)
    {
        var run = await Train("xgboost", hyperparameters, ("train", Channel("train", Synthetic(100, 9, Logistic))));

        Assert.Equal(1, run.ExitCode);
        Assert.NotNull(run.Failure);
        Assert.StartsWith("ClientError: ", run.Failure);
        Assert.Contains(named, run.Failure);
        Assert.False(File.Exists(run.ModelPath));
    }

    [Fact]
    public async Task ACsvFieldThatIsNotANumberFailsNamingTheFileAndLine()
    {
        var dir = Channel("train", Synthetic(100, 10, Logistic));
        File.WriteAllText(Path.Combine(dir, "part-b", "zz-bad.csv"), "1,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5\n0,0.1,abc,0,0,0,0,0,0,0,0\n");
        var run = await Train("xgboost", """{"objective":"binary:logistic","num_round":"5"}""", ("train", dir));

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("ClientError: ", run.Failure);
        Assert.Contains("zz-bad.csv", run.Failure);
        Assert.Contains("line 2, column 3", run.Failure);
        Assert.Contains("'abc'", run.Failure);
    }
}
