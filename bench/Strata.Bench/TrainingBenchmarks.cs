using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.LightGbm;
using Strata.Algorithms;

/// <summary>
/// Training through strata-algorithms (a child process, as a training job runs it: CSV channel
/// files in, metric lines, model.onnx out) against its floor, the same ML.NET trainer with the same
/// options called in-process on the same rows already in memory: XGBoost (LightGBM, binary:logistic,
/// `rounds` rounds) or Linear Learner (normalization and SDCA logistic regression, `rounds` epochs).
/// Not a BenchmarkDotNet class, so it stays out of the default set:
///   dotnet run -c Release --project bench/Strata.Bench -- training [rows] [features] [rounds|epochs] [repeats] [xgboost|linear-learner]
/// </summary>
public static class TrainingBenchmarks
{
    public static async Task RunAsync(string algorithm, int rows, int features, int rounds, int repeats)
    {
        var (describe, hyperparameters, inProcess) = algorithm switch
        {
            "xgboost" => ($"XGBoost binary:logistic, {rows} rows x {features} features, {rounds} rounds, max_depth 6, eta 0.3",
                $$"""{"objective":"binary:logistic","num_round":"{{rounds}}"}""", (Func<Dataset, int, double>)XGBoostInProcess),
            "linear-learner" => ($"Linear Learner binary_classifier, {rows} rows x {features} features, {rounds} epochs, normalize_data",
                $$"""{"predictor_type":"binary_classifier","epochs":"{{rounds}}"}""", (Func<Dataset, int, double>)LinearLearnerInProcess),
            _ => throw new ArgumentException($"training benchmark: '{algorithm}' is not xgboost or linear-learner"),
        };
        var root = Directory.CreateTempSubdirectory("strata-bench-training-").FullName;
        try
        {
            var (labels, x) = Synthetic(rows, features);
            var train = Path.Combine(root, "train");
            Directory.CreateDirectory(train);
            await File.WriteAllTextAsync(Path.Combine(train, "data.csv"), Csv(labels, x, features));
            var dataset = new Dataset("train", labels, x, features);
            Console.WriteLine($"{describe}; {Environment.ProcessorCount} cores");

            var floors = new List<double>();
            var child = new List<double>();
            for (var i = 0; i < repeats; i++)
            {
                floors.Add(inProcess(dataset, rounds));
                child.Add(await ChildProcess(root, train, algorithm, hyperparameters));
                Console.WriteLine($"  run {i + 1}: ML.NET in-process {floors[^1]:F2} s, strata-algorithms {child[^1]:F2} s");
            }
            var floor = Median(floors);
            var ours = Median(child);
            Console.WriteLine($"ML.NET in-process (floor): {floor:F2} s = {rows / floor:N0} rows/s");
            Console.WriteLine($"strata-algorithms train (process, CSV, metrics, ONNX): {ours:F2} s = {rows / ours:N0} rows/s ({floor / ours:F2}x the floor's rows/s)");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    static double XGBoostInProcess(Dataset train, int rounds)
    {
        var clock = Stopwatch.StartNew();
        var ml = new MLContext(seed: 0);
        var trainer = ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
        {
            NumberOfIterations = rounds,
            LearningRate = 0.3,
            NumberOfLeaves = 64,
            MinimumExampleCountPerLeaf = 1,
            Booster = new GradientBooster.Options { MaximumTreeDepth = 6, MinimumChildWeight = 1, L2Regularization = 1 },
            Seed = 0,
            Deterministic = true,
            UseCategoricalSplit = false,
            Sigmoid = 1,
        });
        trainer.Fit(MlData.Binary(ml, train));
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>Linear Learner's pipeline as strata-algorithms builds it with its defaults.</summary>
    static double LinearLearnerInProcess(Dataset train, int epochs)
    {
        var clock = Stopwatch.StartNew();
        var ml = new MLContext(seed: 0);
        var pipeline = ml.Transforms.NormalizeMeanVariance(MlData.FeaturesColumn, fixZero: false)
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(new SdcaLogisticRegressionBinaryTrainer.Options
            {
                MaximumNumberOfIterations = epochs,
                NumberOfThreads = 1,
            }));
        pipeline.Fit(MlData.Binary(ml, train));
        return clock.Elapsed.TotalSeconds;
    }

    static async Task<double> ChildProcess(string root, string train, string algorithm, string hyperparameters)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "strata-algorithms.dll"));
        psi.ArgumentList.Add("train");
        psi.Environment["STRATA_ALGORITHM"] = algorithm;
        psi.Environment["SM_HPS"] = hyperparameters;
        psi.Environment["SM_CHANNELS"] = """["train"]""";
        psi.Environment["SM_CHANNEL_TRAIN"] = train;
        psi.Environment["SM_INPUT_DATA_CONFIG"] = """{"train":{"ContentType":"text/csv"}}""";
        psi.Environment["SM_MODEL_DIR"] = Path.Combine(root, "model");
        psi.Environment["SM_OUTPUT_DIR"] = Path.Combine(root, "output");
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var elapsed = clock.Elapsed.TotalSeconds;
        if (process.ExitCode != 0) throw new InvalidOperationException("strata-algorithms failed: " + await stdout + await stderr);
        return elapsed;
    }

    static (float[] Labels, float[] X) Synthetic(int rows, int features)
    {
        var random = new Random(1);
        double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var w = Enumerable.Range(0, features).Select(_ => Gaussian()).ToArray();
        var labels = new float[rows];
        var x = new float[rows * features];
        for (var i = 0; i < rows; i++)
        {
            double score = 0;
            for (var j = 0; j < features; j++) score += w[j] * (x[i * features + j] = (float)Gaussian());
            labels[i] = random.NextDouble() < 1 / (1 + Math.Exp(-(score + Gaussian()))) ? 1 : 0;
        }
        return (labels, x);
    }

    static string Csv(float[] labels, float[] x, int features)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < labels.Length; i++)
        {
            sb.Append(labels[i].ToString(CultureInfo.InvariantCulture));
            for (var j = 0; j < features; j++) sb.Append(',').Append(x[i * features + j].ToString("R", CultureInfo.InvariantCulture));
            sb.Append('\n');
        }
        return sb.ToString();
    }

    static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
