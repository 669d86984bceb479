using System.Diagnostics;
using System.Text.Json;

namespace Strata.Algorithms;

/// <summary>
/// AWS's built-in k-means, its "web-scale" k-means: a streaming pass of mini-batch k-means
/// (mini_batch_size records at a time, epochs passes) keeps K = k × extra_center_factor centers,
/// initialized from the first mini-batch (init_method), each weighted by the records it absorbed,
/// weights decaying by half after half_life_time_size records when that is set; the model's k
/// centers are then the best of local_lloyd_num_trials runs of Lloyd's algorithm on those weighted
/// centers (local_lloyd_init_method, local_lloyd_max_iter, local_lloyd_tol). When the training data
/// has no more records than K, the weighted centers are the records themselves, so Lloyd's runs on
/// the data. The log is AWS's: progress and throughput, the shrink's attempts, <c>train msd</c>, and
/// with a test channel the eval_metrics (<c>test msd</c>, <c>test ssd</c>) that AWS's metric
/// definitions read. The model answers as AWS's container does: for each record its
/// <c>closest_cluster</c> (0-based, as a float) and <c>distance_to_cluster</c>, the Euclidean
/// distance to that cluster's center.
/// </summary>
public static class KMeans
{
    /// <summary>What AWS's k-means makes of extra_center_factor=auto, and of local_lloyd_num_trials=auto
    /// (its log: "'extra_center_factor' was set to 'auto', evaluated to 10", and ten local attempts).</summary>
    const int AutoExtraCenterFactor = 10, AutoLocalTrials = 10;

    sealed record Settings(int K, int FeatureDim, int MiniBatchSize, int Epochs, bool InitKMeansPlusPlus, int? ExtraCenterFactor,
        int HalfLifeTimeSize, bool LocalInitKMeansPlusPlus, int LocalMaxIterations, int? LocalTrials, double LocalTolerance, List<string> EvalMetrics);

    public static void Train(TrainingEnvironment env, TextWriter log)
    {
        var s = ReadSettings(env.Hyperparameters);
        var data = FirstParty.UnsupervisedData(env, "k-means", s.FeatureDim);
        var train = data["train"];
        if (train.Rows < s.K) throw new ClientError($"Hyperparameter 'k': {s.K} clusters need at least as many records, but channel 'train' has {train.Rows}");

        // AWS's k-means takes no seed; a fixed one makes a job's model reproducible.
        var random = new Random(0);
        var started = Stopwatch.GetTimestamp();
        var (summary, weights) = Stream(train, s, random, log);
        FirstParty.Throughput(log, (long)train.Rows * s.Epochs, Stopwatch.GetElapsedTime(started));
        if (weights.Length < s.K)
        {
            // Fewer centers absorbed records than there are clusters (records repeat): Lloyd's runs on the records.
            summary = Array.ConvertAll(train.Features, v => (double)v);
            weights = Enumerable.Repeat(1.0, train.Rows).ToArray();
        }
        log.WriteLine($"shrinking {weights.Length} centers into {s.K}");
        var centers = Shrink(summary, weights, train.Columns, s, random, log);

        FirstParty.QualityMetric(log, "train", "msd", "loss", SquaredDistances(train, centers, s.K).Average());
        if (data.TryGetValue("test", out var test))
        {
            var distances = SquaredDistances(test, centers, s.K);
            foreach (var metric in s.EvalMetrics)
            {
                var value = metric == "msd" ? distances.Average() : distances.Sum();
                FirstParty.TestScore(log, metric, value);
                FirstParty.QualityMetric(log, "test", metric, "loss", value);
            }
        }
        else log.WriteLine("Test data is not provided.");
        Model(centers, train.Columns, s.K).Save(env.ModelDir);
    }

    static Settings ReadSettings(Hyperparameters hp)
    {
        var k = hp.Int("k", null, 1);
        var featureDim = hp.Int("feature_dim", null, 1);
        var miniBatchSize = hp.Int("mini_batch_size", 5000, 1);
        var epochs = hp.Int("epochs", 1, 1);
        var init = hp.Choice("init_method", "random", "random", "kmeans++");
        var extraCenterFactor = hp.IntOrAuto("extra_center_factor", 1);
        var halfLife = hp.Int("half_life_time_size", 0, 0);
        var localInit = hp.Choice("local_lloyd_init_method", "kmeans++", "random", "kmeans++");
        var localMaxIterations = hp.Int("local_lloyd_max_iter", 300, 1);
        var localTrials = hp.IntOrAuto("local_lloyd_num_trials", 1);
        var localTolerance = hp.Double("local_lloyd_tol", 0.0001, 0, 1);
        var evalMetrics = EvalMetrics(hp.String("eval_metrics") ?? """["msd"]""");
        // The SageMaker SDK's KMeans estimator sends force_dense=True; data is read dense anyway.
        hp.Bool("force_dense", true);
        hp.RejectUnknown();
        return new Settings(k, featureDim, miniBatchSize, epochs, init == "kmeans++", extraCenterFactor, halfLife, localInit == "kmeans++",
            localMaxIterations, localTrials, localTolerance, evalMetrics);
    }

    /// <summary>eval_metrics: a JSON list of msd and ssd (Python's quotes, as str() of a list writes them, are taken too).</summary>
    static List<string> EvalMetrics(string text)
    {
        var names = new List<string>();
        try
        {
            using var doc = JsonDocument.Parse(text.Replace('\'', '"'));
            if (doc.RootElement.ValueKind == JsonValueKind.Array)
                foreach (var item in doc.RootElement.EnumerateArray())
                    names.Add(item.ValueKind == JsonValueKind.String ? item.GetString()!.Trim().ToLowerInvariant() : "");
        }
        catch (JsonException)
        {
            names.Clear();
        }
        if (names.Count == 0 || names.Any(n => n is not ("msd" or "ssd")))
            throw new ClientError($"Hyperparameter 'eval_metrics': value '{text}' is not one of the allowed values [\"msd\"], [\"ssd\"], [\"msd\", \"ssd\"]");
        return names.Distinct().ToList();
    }

    /// <summary>The streaming pass: mini-batch k-means with K centers, each the running (decayed)
    /// mean of the records assigned to it. Returns the centers that absorbed records, row-major, and
    /// their weights.</summary>
    static (double[] Centers, double[] Weights) Stream(Dataset train, Settings s, Random random, TextWriter log)
    {
        var f = train.Columns;
        var batch = Math.Min(s.MiniBatchSize, train.Rows);
        if (batch < s.MiniBatchSize)
            log.WriteLine($"Batch size {s.MiniBatchSize} is bigger than the first batch data. Effective batch size used to initialize is {batch}");
        var factor = s.ExtraCenterFactor ?? AutoExtraCenterFactor;
        if (s.ExtraCenterFactor is null) log.WriteLine($"'extra_center_factor' was set to 'auto', evaluated to {factor}.");
        var count = (int)Math.Min((long)s.K * factor, batch);

        var first = Array.ConvertAll(train.Features[..(batch * f)], v => (double)v);
        var seeds = s.InitKMeansPlusPlus
            ? KMeansPlusPlus(first, Enumerable.Repeat(1.0, batch).ToArray(), f, count, random)
            : Sample(Enumerable.Repeat(1.0, batch).ToArray(), count, random);
        var centers = new double[count * f];
        for (var c = 0; c < count; c++) Array.Copy(first, seeds[c] * f, centers, c * f, f);

        var weights = new double[count];
        var sums = new double[count * f];
        var counts = new int[count];
        // After half_life_time_size more records a center's past weighs half as much.
        var decay = s.HalfLifeTimeSize > 0 ? Math.Pow(0.5, 1.0 / s.HalfLifeTimeSize) : 1.0;
        for (var epoch = 0; epoch < s.Epochs; epoch++)
        {
            for (var start = 0; start < train.Rows; start += batch)
            {
                var end = Math.Min(start + batch, train.Rows);
                Array.Clear(sums);
                Array.Clear(counts);
                for (var i = start; i < end; i++)
                {
                    var row = train.Row(i);
                    var c = Nearest(row, centers, count, out _);
                    counts[c]++;
                    for (var j = 0; j < f; j++) sums[c * f + j] += row[j];
                }
                var retained = Math.Pow(decay, end - start);
                for (var c = 0; c < count; c++)
                {
                    weights[c] *= retained;
                    if (counts[c] == 0) continue;
                    var total = weights[c] + counts[c];
                    for (var j = 0; j < f; j++) centers[c * f + j] = (centers[c * f + j] * weights[c] + sums[c * f + j]) / total;
                    weights[c] = total;
                }
            }
            FirstParty.Progress(log, epoch + 1, s.Epochs);
        }
        var used = Enumerable.Range(0, count).Where(c => weights[c] > 0).ToList();
        var absorbed = new double[used.Count * f];
        for (var u = 0; u < used.Count; u++) Array.Copy(centers, used[u] * f, absorbed, u * f, f);
        return (absorbed, used.Select(c => weights[c]).ToArray());
    }

    /// <summary>The final k centers: the best (lowest weighted mean squared distance) of the local
    /// Lloyd's runs on the weighted centers.</summary>
    static double[] Shrink(double[] points, double[] weights, int f, Settings s, Random random, TextWriter log)
    {
        double[]? best = null;
        var bestLoss = double.PositiveInfinity;
        var trials = s.LocalTrials ?? AutoLocalTrials;
        for (var trial = 0; trial < trials; trial++)
        {
            var seeds = s.LocalInitKMeansPlusPlus ? KMeansPlusPlus(points, weights, f, s.K, random) : Sample(weights, s.K, random);
            var centers = new double[s.K * f];
            for (var c = 0; c < s.K; c++) Array.Copy(points, seeds[c] * f, centers, c * f, f);
            var loss = Lloyd(points, weights, f, centers, s.K, s.LocalMaxIterations, s.LocalTolerance);
            log.WriteLine($"local kmeans attempt #{trial}. Current mean square distance {loss:F6}");
            if (loss < bestLoss)
            {
                bestLoss = loss;
                best = centers;
            }
        }
        log.WriteLine($"finished shrinking process. Mean Square Distance = {FirstParty.Number(bestLoss)}");
        return best!;
    }

    /// <summary>Weighted Lloyd's iterations from <paramref name="centers"/> (updated in place) until
    /// the loss improves by less than <paramref name="tolerance"/> of itself; returns the final
    /// centers' weighted mean squared distance. A center that loses all its points stays where it is.</summary>
    static double Lloyd(double[] points, double[] weights, int f, double[] centers, int k, int maxIterations, double tolerance)
    {
        var n = weights.Length;
        var totalWeight = weights.Sum();
        var sums = new double[k * f];
        var mass = new double[k];
        var previous = double.PositiveInfinity;
        for (var iteration = 0; iteration < maxIterations; iteration++)
        {
            Array.Clear(sums);
            Array.Clear(mass);
            double loss = 0;
            for (var i = 0; i < n; i++)
            {
                var point = points.AsSpan(i * f, f);
                var c = Nearest(point, centers, k, out var d2);
                loss += weights[i] * d2;
                mass[c] += weights[i];
                for (var j = 0; j < f; j++) sums[c * f + j] += weights[i] * point[j];
            }
            for (var c = 0; c < k; c++)
                if (mass[c] > 0)
                    for (var j = 0; j < f; j++) centers[c * f + j] = sums[c * f + j] / mass[c];
            loss /= totalWeight;
            if (previous - loss <= tolerance * previous) break;
            previous = loss;
        }
        double final = 0;
        for (var i = 0; i < n; i++)
        {
            Nearest(points.AsSpan(i * f, f), centers, k, out var d2);
            final += weights[i] * d2;
        }
        return final / totalWeight;
    }

    /// <summary>k-means++ seeding on weighted points: the first seed drawn in proportion to weight,
    /// each next in proportion to weight × squared distance to the nearest seed so far.</summary>
    static int[] KMeansPlusPlus(double[] points, double[] weights, int f, int k, Random random)
    {
        var n = weights.Length;
        var seeds = new int[k];
        seeds[0] = Draw(weights, random);
        var nearest = new double[n];
        for (var i = 0; i < n; i++) nearest[i] = SquaredDistance(points.AsSpan(i * f, f), points.AsSpan(seeds[0] * f, f));
        var score = new double[n];
        for (var c = 1; c < k; c++)
        {
            for (var i = 0; i < n; i++) score[i] = weights[i] * nearest[i];
            // Every remaining point coincides with a seed: any unused point will do.
            seeds[c] = score.Sum() > 0 ? Draw(score, random) : Enumerable.Range(0, n).First(i => !seeds.AsSpan(0, c).Contains(i));
            for (var i = 0; i < n; i++) nearest[i] = Math.Min(nearest[i], SquaredDistance(points.AsSpan(i * f, f), points.AsSpan(seeds[c] * f, f)));
        }
        return seeds;
    }

    /// <summary><paramref name="k"/> distinct indices drawn in proportion to weight.</summary>
    static int[] Sample(double[] weights, int k, Random random)
    {
        var remaining = (double[])weights.Clone();
        var picked = new int[k];
        for (var c = 0; c < k; c++)
        {
            picked[c] = Draw(remaining, random);
            remaining[picked[c]] = 0;
        }
        return picked;
    }

    static int Draw(double[] weights, Random random)
    {
        var target = random.NextDouble() * weights.Sum();
        var last = -1;
        for (var i = 0; i < weights.Length; i++)
        {
            if (weights[i] <= 0) continue;
            last = i;
            target -= weights[i];
            if (target < 0) return i;
        }
        return last;
    }

    static int Nearest(ReadOnlySpan<float> row, double[] centers, int k, out double best)
    {
        var f = row.Length;
        var nearest = 0;
        best = double.PositiveInfinity;
        for (var c = 0; c < k; c++)
        {
            var center = centers.AsSpan(c * f, f);
            double d2 = 0;
            for (var j = 0; j < f; j++) d2 += (row[j] - center[j]) * (row[j] - center[j]);
            if (d2 < best) { best = d2; nearest = c; }
        }
        return nearest;
    }

    static int Nearest(ReadOnlySpan<double> point, double[] centers, int k, out double best)
    {
        var f = point.Length;
        var nearest = 0;
        best = double.PositiveInfinity;
        for (var c = 0; c < k; c++)
        {
            var d2 = SquaredDistance(point, centers.AsSpan(c * f, f));
            if (d2 < best) { best = d2; nearest = c; }
        }
        return nearest;
    }

    static double SquaredDistance(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double d2 = 0;
        for (var j = 0; j < a.Length; j++) d2 += (a[j] - b[j]) * (a[j] - b[j]);
        return d2;
    }

    /// <summary>Each record's squared distance to its nearest center.</summary>
    static double[] SquaredDistances(Dataset d, double[] centers, int k)
    {
        var result = new double[d.Rows];
        for (var i = 0; i < d.Rows; i++) Nearest(d.Row(i), centers, k, out result[i]);
        return result;
    }

    /// <summary>The served model: squared distances to the k centers as |x|² − 2x·c + |c|² (one
    /// matrix product for a batch), clamped at 0; closest_cluster their ArgMin, distance_to_cluster
    /// the square root of their minimum. Both sides are first shifted by the centers' mean, so that
    /// large coordinates do not cost the float distances their digits.</summary>
    static OnnxGraph Model(double[] centers, int f, int k)
    {
        var mean = new double[f];
        for (var c = 0; c < k; c++)
            for (var j = 0; j < f; j++) mean[j] += centers[c * f + j] / k;
        var transposed = new float[f * k];
        var norms = new float[k];
        for (var c = 0; c < k; c++)
        {
            double norm = 0;
            for (var j = 0; j < f; j++)
            {
                var v = centers[c * f + j] - mean[j];
                transposed[j * k + c] = (float)v;
                norm += v * v;
            }
            norms[c] = (float)norm;
        }
        var g = new OnnxGraph("strata_kmeans", f);
        var x = g.Node("Sub", [MlData.FeaturesColumn, g.Constant("centers_mean", Array.ConvertAll(mean, v => (float)v), f)], "shifted");
        var x2 = g.Node("ReduceSumSquare", [x], "shifted_norms", OnnxAttribute.List("axes", 1), OnnxAttribute.Of("keepdims", 1));
        var xc = g.Node("MatMul", [x, g.Constant("centers_t", transposed, f, k)], "products");
        var cross = g.Node("Mul", [xc, g.Constant("minus_two", [-2f])], "cross");
        var partial = g.Node("Add", [x2, cross], "partial");
        var raw = g.Node("Add", [partial, g.Constant("center_norms", norms, k)], "raw_squared_distances");
        var squared = g.Node("Max", [raw, g.Constant("zero", [0f])], "squared_distances");
        var closest = g.Node("ArgMin", [squared], "closest_index", OnnxAttribute.Of("axis", 1), OnnxAttribute.Of("keepdims", 0));
        g.Node("Cast", [closest], "closest_cluster", OnnxAttribute.Of("to", 1));
        var nearest = g.Node("ReduceMin", [squared], "nearest_squared_distance", OnnxAttribute.List("axes", 1), OnnxAttribute.Of("keepdims", 0));
        g.Node("Sqrt", [nearest], "distance_to_cluster");
        g.Output("closest_cluster");
        g.Output("distance_to_cluster");
        return g;
    }
}
