using System.Globalization;
using System.Text.RegularExpressions;
using Strata.Algorithms;
using Xunit.Abstractions;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// Strata's built-in XGBoost (ML.NET's LightGBM with XGBoost's knobs) against an independent
/// reference: XGBoost's own algorithm, exact greedy, written out here (second-order gradients of the
/// logistic loss, split gain ½·(G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)) − γ, leaf weight −G/(H+λ)
/// times eta, min_child_weight on the hessians, base score 0.5). Both train on the same CSV data with
/// the same hyperparameters; the validation AUC the built-in reports must be within 0.01 of the
/// reference's. The two differ where LightGBM bins features (255 bins) and XGBoost splits on exact
/// values, which on this data moves the AUC by thousandths, not hundredths.
/// </summary>
public sealed partial class XGBoostReferenceTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("strata-xgb-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    const int Rounds = 30, MaxDepth = 3;
    const double Eta = 0.3, Lambda = 1, Gamma = 0, MinChildWeight = 1;

    [Fact]
    public void ValidationAucIsWithinAHundredthOfTheReference()
    {
        var train = Dataset(1500, 1);
        var validation = Dataset(400, 2);
        var log = new StringWriter(CultureInfo.InvariantCulture);
        XGBoost.Train(Environment(train, validation), log);
        var reported = double.Parse(ValidationAuc().Matches(log.ToString())[^1].Groups[1].Value, CultureInfo.InvariantCulture);

        var reference = Auc(validation.Select(r => r.Label).ToArray(), Reference(train).Predict(validation.Select(r => r.X)).ToArray());
        output.WriteLine($"validation-auc: built-in {reported}, exact-greedy reference {reference}");
        Assert.InRange(reference, 0.85, 1.0);
        Assert.True(Math.Abs(reported - reference) <= 0.01, $"validation-auc {reported} vs the exact-greedy reference's {reference}");
    }

    TrainingEnvironment Environment(List<(int Label, double[] X)> train, List<(int Label, double[] X)> validation)
    {
        var channels = new Dictionary<string, Channel>();
        foreach (var (name, rows) in new[] { ("train", train), ("validation", validation) })
        {
            var dir = Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
            File.WriteAllLines(Path.Combine(dir, name + ".csv"),
                rows.Select(r => string.Join(',', [r.Label.ToString(CultureInfo.InvariantCulture), .. r.X.Select(v => v.ToString("F6", CultureInfo.InvariantCulture))])));
            channels[name] = new Channel(name, dir, "text/csv");
        }
        var hps = new Dictionary<string, string>
        {
            ["objective"] = "binary:logistic",
            ["num_round"] = Rounds.ToString(CultureInfo.InvariantCulture),
            ["max_depth"] = MaxDepth.ToString(CultureInfo.InvariantCulture),
            ["eta"] = Eta.ToString(CultureInfo.InvariantCulture),
            ["eval_metric"] = "auc",
        };
        return new TrainingEnvironment("xgboost", new Hyperparameters(hps), channels, Directory.CreateDirectory(Path.Combine(_dir, "model")).FullName, null);
    }

    /// <summary>The rows of training_boto3.py's dataset: a noisy linear boundary over 5 features.</summary>
    static List<(int Label, double[] X)> Dataset(int n, int seed)
    {
        var random = new Random(seed);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var rows = new List<(int, double[])>();
        for (var i = 0; i < n; i++)
        {
            var x = Enumerable.Range(0, 5).Select(_ => Math.Round(Gauss(), 6)).ToArray();
            rows.Add((1.5 * x[0] - 2.0 * x[1] + 0.5 * x[2] + Gauss() > 0 ? 1 : 0, x));
        }
        return rows;
    }

    /// <summary>XGBoost's exact greedy boosting of depth-limited trees on the logistic loss.</summary>
    static Ensemble Reference(List<(int Label, double[] X)> rows)
    {
        var ensemble = new Ensemble();
        var margin = new double[rows.Count];
        for (var round = 0; round < Rounds; round++)
        {
            var g = new double[rows.Count];
            var h = new double[rows.Count];
            for (var i = 0; i < rows.Count; i++)
            {
                var p = 1 / (1 + Math.Exp(-margin[i]));
                g[i] = p - rows[i].Label;
                h[i] = p * (1 - p);
            }
            var tree = Grow([.. Enumerable.Range(0, rows.Count)], 0);
            ensemble.Trees.Add(tree);
            for (var i = 0; i < rows.Count; i++) margin[i] += tree.Value(rows[i].X);

            Node Grow(int[] index, int depth)
            {
                double G = index.Sum(i => g[i]), H = index.Sum(i => h[i]);
                var leaf = new Node { Weight = -G / (H + Lambda) * Eta };
                if (depth == MaxDepth) return leaf;
                var (bestGain, bestFeature, bestThreshold) = (0.0, -1, 0.0);
                for (var f = 0; f < rows[0].X.Length; f++)
                {
                    var sorted = index.OrderBy(i => rows[i].X[f]).ToArray();
                    double gl = 0, hl = 0;
                    for (var k = 0; k < sorted.Length - 1; k++)
                    {
                        gl += g[sorted[k]];
                        hl += h[sorted[k]];
                        double a = rows[sorted[k]].X[f], b = rows[sorted[k + 1]].X[f];
                        if (a == b || hl < MinChildWeight || H - hl < MinChildWeight) continue;
                        var gain = 0.5 * (gl * gl / (hl + Lambda) + (G - gl) * (G - gl) / (H - hl + Lambda) - G * G / (H + Lambda)) - Gamma;
                        if (gain > bestGain) (bestGain, bestFeature, bestThreshold) = (gain, f, (a + b) / 2);
                    }
                }
                if (bestFeature < 0) return leaf;
                return new Node
                {
                    Feature = bestFeature,
                    Threshold = bestThreshold,
                    Left = Grow([.. index.Where(i => rows[i].X[bestFeature] < bestThreshold)], depth + 1),
                    Right = Grow([.. index.Where(i => rows[i].X[bestFeature] >= bestThreshold)], depth + 1),
                };
            }
        }
        return ensemble;
    }

    sealed class Node
    {
        public int Feature = -1;
        public double Threshold, Weight;
        public Node? Left, Right;

        public double Value(double[] x) => Feature < 0 ? Weight : (x[Feature] < Threshold ? Left! : Right!).Value(x);
    }

    sealed class Ensemble
    {
        public List<Node> Trees { get; } = [];

        public IEnumerable<double> Predict(IEnumerable<double[]> rows) => rows.Select(x => 1 / (1 + Math.Exp(-Trees.Sum(t => t.Value(x)))));
    }

    /// <summary>The share of (positive, negative) pairs the scores order right, ties counting half.</summary>
    static double Auc(int[] labels, double[] scores)
    {
        double right = 0, pairs = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] != 1) continue;
            for (var j = 0; j < labels.Length; j++)
            {
                if (labels[j] != 0) continue;
                pairs++;
                right += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
            }
        }
        return right / pairs;
    }

    [GeneratedRegex(@"validation-auc:([0-9.]+)")]
    private static partial Regex ValidationAuc();
}
