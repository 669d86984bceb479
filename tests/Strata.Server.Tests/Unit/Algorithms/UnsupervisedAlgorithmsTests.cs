using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Strata.Worker;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// strata-algorithms' k-means and PCA (AWS's kmeans:1 and pca:1 images), trained as a training job
/// trains them. Their exported models are checked against references computed here, independently,
/// on the same data (Lloyd's algorithm; power iteration on the covariance), their logged metrics
/// against the models, and the inference worker's answers against AWS's formats.
/// </summary>
public sealed class UnsupervisedAlgorithmsTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("strata-unsupervised-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    static double Gaussian(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    static string Csv(IEnumerable<float[]> rows)
        => string.Concat(rows.Select(r => string.Join(",", r.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "\n"));

    string Channel(string name, float[][] rows)
    {
        var dir = Path.Combine(_root, "input", name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "data.csv"), Csv(rows));
        return dir;
    }

    /// <summary>Trains on CSV rows of features only, as AWS's unsupervised algorithms take them (label_size=0).</summary>
    Task<AlgorithmRun> Train(string algorithm, string hyperparameters, params (string Name, string Dir)[] channels)
        => AlgorithmProcess.TrainAsync(_root, algorithm, hyperparameters, channels.Select(c => (c.Name, c.Dir, "text/csv;label_size=0")).ToArray());

    /// <summary>The exported model's outputs for <paramref name="rows"/>, in the model's order; checks its one input is Features, float [N, F].</summary>
    static List<(string Name, float[] Values)> RunModel(string modelPath, float[][] rows)
    {
        using var session = new InferenceSession(modelPath);
        var input = Assert.Single(session.InputMetadata);
        Assert.Equal("Features", input.Key);
        Assert.Equal(TensorElementType.Float, input.Value.ElementDataType);
        Assert.Equal([-1, rows[0].Length], input.Value.Dimensions);
        var tensor = new DenseTensor<float>(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("Features", tensor)]);
        return results.Select(r => (r.Name, r.AsTensor<float>().ToArray())).ToList();
    }

    /// <summary>A quality metric's value, as AWS's metric definitions read it.</summary>
    static double Metric(string stdout, string channel, string metric)
    {
        var match = Regex.Match(stdout, $@"#quality_metric: host=algo-1, {channel} {metric} <loss>=(\S+)");
        Assert.True(match.Success, $"no {channel} {metric} line in:\n{stdout}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    static double Distance2(float[] a, double[] b) => a.Select((v, j) => (v - b[j]) * (v - b[j])).Sum();

    static int Nearest(float[] row, double[][] centers) => Enumerable.Range(0, centers.Length).MinBy(c => Distance2(row, centers[c]));

    // ---- k-means ----

    /// <summary>Records around three centers far apart (standard deviation 1), in 4 dimensions.</summary>
    static float[][] Blobs(int rows, int seed)
    {
        double[][] centers = [[0, 0, 0, 0], [12, 12, 0, 0], [0, 12, 12, -6]];
        var random = new Random(seed);
        return Enumerable.Range(0, rows).Select(_ => centers[random.Next(3)].Select(v => (float)(v + Gaussian(random))).ToArray()).ToArray();
    }

    /// <summary>The reference: Lloyd's algorithm on the records themselves, from farthest-first seeds, to convergence.</summary>
    static double[][] Lloyd(float[][] rows, int k)
    {
        var centers = new List<double[]> { rows[0].Select(v => (double)v).ToArray() };
        while (centers.Count < k)
            centers.Add(rows.MaxBy(r => centers.Min(c => Distance2(r, c)))!.Select(v => (double)v).ToArray());
        var result = centers.ToArray();
        for (var iteration = 0; iteration < 100; iteration++)
        {
            var moved = false;
            foreach (var group in rows.GroupBy(r => Nearest(r, result)))
            {
                var mean = Enumerable.Range(0, rows[0].Length).Select(j => group.Average(r => (double)r[j])).ToArray();
                moved |= Distance2(Array.ConvertAll(mean, v => (float)v), result[group.Key]) > 1e-10;
                result[group.Key] = mean;
            }
            if (!moved) break;
        }
        return result;
    }

    [Fact]
    public async Task KMeansFindsTheClustersOfLloydsAlgorithmAndLogsTheModelsTestMetrics()
    {
        var train = Blobs(900, 1);
        var test = Blobs(300, 2);
        // Mini-batches of 200 over two epochs, 12 streaming centers: AWS's algorithm, not one Lloyd's run.
        var run = await Train("kmeans", """{"k":"3","feature_dim":"4","mini_batch_size":"200","epochs":"2","init_method":"kmeans++","extra_center_factor":"4","eval_metrics":"[\"msd\",\"ssd\"]","force_dense":"True"}""",
            ("train", Channel("train", train)), ("test", Channel("test", test)));

        Assert.True(run.ExitCode == 0, run.Stdout + run.Failure);
        Assert.Contains("#progress_metric: host=algo-1, completed 50 % of epochs", run.Stdout);
        Assert.Contains("#progress_metric: host=algo-1, completed 100 % of epochs", run.Stdout);
        Assert.Matches(@"#throughput_metric: host=algo-1, train throughput=[0-9.E+]+ records/second", run.Stdout);
        Assert.Matches(@"shrinking (1[0-2]|[4-9]) centers into 3", run.Stdout);
        Assert.Contains("#test_score (algo-1) : ('msd', ", run.Stdout);

        var reference = Lloyd(train, 3);
        var outputs = RunModel(run.ModelPath, test);
        Assert.Equal(["closest_cluster", "distance_to_cluster"], outputs.Select(o => o.Name));
        var closest = outputs[0].Values;
        var distance = outputs[1].Values;
        // The model's clusters are the reference's up to their numbering, on every record.
        var numbering = new Dictionary<int, int>();
        for (var i = 0; i < test.Length; i++)
        {
            var ours = (int)closest[i];
            Assert.Equal(ours, closest[i]);
            Assert.InRange(ours, 0, 2);
            var theirs = Nearest(test[i], reference);
            Assert.Equal(theirs, numbering.TryAdd(ours, theirs) ? theirs : numbering[ours]);
            // distance_to_cluster: the Euclidean distance to the cluster's center.
            var expected = Math.Sqrt(Distance2(test[i], reference[theirs]));
            Assert.InRange(distance[i], expected - 0.05, expected + 0.05);
        }
        Assert.Equal(3, numbering.Values.Distinct().Count());
        // test msd and ssd are the model's mean and sum of squared distances, and the reference's.
        var squared = distance.Select(d => (double)d * d).ToArray();
        Assert.InRange(Metric(run.Stdout, "test", "msd"), squared.Average() * 0.999, squared.Average() * 1.001);
        Assert.InRange(Metric(run.Stdout, "test", "ssd"), squared.Sum() * 0.999, squared.Sum() * 1.001);
        var referenceMsd = test.Average(r => reference.Min(c => Distance2(r, c)));
        Assert.InRange(squared.Average(), referenceMsd * 0.99, referenceMsd * 1.01);
        var trainMsd = train.Average(r => reference.Min(c => Distance2(r, c)));
        Assert.InRange(Metric(run.Stdout, "train", "msd"), trainMsd * 0.99, trainMsd * 1.01);
        // The training job reads them with AWS's metric definitions for k-means.
        var reported = AlgorithmsTests.Reported("kmeans", run.Stdout);
        Assert.Equal(["test:msd", "test:ssd", "train:msd", "train:progress", "train:throughput"], reported.Keys.Order());
        Assert.Equal(Metric(run.Stdout, "test", "msd"), reported["test:msd"]);
        Assert.Equal(100, reported["train:progress"]);

        // Served as AWS's k-means container answers: JSON records ({"features": [...]} in), CSV and JSON Lines.
        using var model = new OnnxModel(run.ModelPath, 1);
        var request = "{\"instances\": [" + string.Join(",", test.Take(3).Select(r => "{\"features\": [" + string.Join(",", r.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]}")) + "]}";
        using var json = JsonDocument.Parse(Codecs.Encode(Codecs.Json, model.Run(Codecs.Decode(Codecs.Json, Encoding.UTF8.GetBytes(request), model)), "kmeans"));
        var predictions = json.RootElement.GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(3, predictions.Count);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(["closest_cluster", "distance_to_cluster"], predictions[i].EnumerateObject().Select(p => p.Name));
            Assert.Equal(closest[i], predictions[i].GetProperty("closest_cluster").GetSingle());
            Assert.Equal(distance[i], predictions[i].GetProperty("distance_to_cluster").GetSingle(), 1e-4f);
        }
        var csv = Encoding.UTF8.GetString(Codecs.Encode(Codecs.Csv, model.Run(Codecs.Decode(Codecs.Csv, Encoding.UTF8.GetBytes(Csv(test.Take(3))), model)), "kmeans"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();
        Assert.Equal(3, csv.Count);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(2, csv[i].Length);
            Assert.Equal(closest[i], csv[i][0]);
            Assert.Equal(distance[i], csv[i][1], 1e-4f);
        }
        var lines = Encoding.UTF8.GetString(Codecs.Encode(Codecs.JsonLines, model.Run(Codecs.Decode(Codecs.Json, Encoding.UTF8.GetBytes(request), model)), "kmeans"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.All(lines.Select((l, i) => (Line: JsonDocument.Parse(l).RootElement, i)), p => Assert.Equal(closest[p.i], p.Line.GetProperty("closest_cluster").GetSingle()));
    }

    [Fact]
    public async Task KMeansOnAsManyRecordsAsCentersRunsLloydsAlgorithmOnTheRecords()
    {
        // With the defaults (mini-batches of 5000, K = 10k, random seeds) the streaming centers are the
        // records themselves, and the k-means++ local trials find the reference's clusters exactly.
        var train = Blobs(30, 5);
        var run = await Train("kmeans", """{"k":"3","feature_dim":"4"}""", ("train", Channel("train", train)));

        Assert.True(run.ExitCode == 0, run.Stdout + run.Failure);
        Assert.Contains("'extra_center_factor' was set to 'auto', evaluated to 10.", run.Stdout);
        Assert.Contains("Test data is not provided.", run.Stdout);
        var reference = Lloyd(train, 3);
        var referenceMsd = train.Average(r => reference.Min(c => Distance2(r, c)));
        Assert.InRange(Metric(run.Stdout, "train", "msd"), referenceMsd * 0.99999, referenceMsd * 1.00001);
        var distance = RunModel(run.ModelPath, train)[1].Values;
        for (var i = 0; i < train.Length; i++)
        {
            var expected = Math.Sqrt(reference.Min(c => Distance2(train[i], c)));
            Assert.InRange(distance[i], expected - 1e-3, expected + 1e-3);
        }
    }

    [Theory]
    [InlineData("""{"feature_dim":"4"}""", "'k'")]
    [InlineData("""{"k":"3"}""", "'feature_dim'")]
    [InlineData("""{"k":"3","feature_dim":"5"}""", "feature_dim")]
    [InlineData("""{"k":"0","feature_dim":"4"}""", "'k'")]
    [InlineData("""{"k":"500","feature_dim":"4"}""", "'k'")]
    [InlineData("""{"k":"3","feature_dim":"4","init_method":"forgy"}""", "init_method")]
    [InlineData("""{"k":"3","feature_dim":"4","eval_metrics":"[\"auc\"]"}""", "eval_metrics")]
    [InlineData("""{"k":"3","feature_dim":"4","eval_metrics":"msd"}""", "eval_metrics")]
    [InlineData("""{"k":"3","feature_dim":"4","local_lloyd_tol":"2"}""", "local_lloyd_tol")]
    [InlineData("""{"k":"3","feature_dim":"4","extra_center_factor":"lots"}""", "extra_center_factor")]
    [InlineData("""{"k":"3","feature_dim":"4","predictor_type":"regressor"}""", "predictor_type")]
    public async Task KMeansRejectsABadHyperparameterNamingIt(string hyperparameters, string named)
    {
        var run = await Train("kmeans", hyperparameters, ("train", Channel("train", Blobs(100, 3))));

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("ClientError: ", run.Failure);
        Assert.Contains(named, run.Failure);
        Assert.False(File.Exists(run.ModelPath));
    }

    [Fact]
    public async Task UnsupervisedCsvHasALabelColumnUnlessItsContentTypeSaysLabelSize0()
    {
        var dir = Channel("train", Blobs(100, 4));
        // text/csv alone means the first column is a label (SageMaker's CSV rule): three features remain.
        var run = await AlgorithmProcess.TrainAsync(_root, "kmeans", """{"k":"3","feature_dim":"4"}""", ("train", dir, "text/csv"));
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("ClientError: Hyperparameter 'feature_dim': 4 does not match", run.Failure);
        Assert.Contains("label_size=0", run.Failure);
        run = await AlgorithmProcess.TrainAsync(_root, "kmeans", """{"k":"3","feature_dim":"3"}""", ("train", dir, "text/csv"));
        Assert.True(run.ExitCode == 0, run.Stdout + run.Failure);

        run = await AlgorithmProcess.TrainAsync(_root, "pca", """{"num_components":"2","feature_dim":"4","mini_batch_size":"10"}""", ("train", dir, "text/csv;label_size=2"));
        Assert.StartsWith("ClientError: ", run.Failure);
        Assert.Contains("label_size", run.Failure);
        run = await AlgorithmProcess.TrainAsync(_root, "kmeans", """{"k":"3","feature_dim":"4"}""", ("validation", dir, "text/csv;label_size=0"));
        Assert.Contains("Channel 'validation' is not supported by k-means", run.Failure);
        // A supervised algorithm needs the label column.
        run = await AlgorithmProcess.TrainAsync(_root, "linear-learner", """{"predictor_type":"regressor"}""", ("train", dir, "text/csv;label_size=0"));
        Assert.Contains("has no label column", run.Failure);
        File.AppendAllText(Path.Combine(dir, "data.csv"), "1,2,,4\n");
        run = await AlgorithmProcess.TrainAsync(_root, "kmeans", """{"k":"3","feature_dim":"4"}""", ("train", dir, "text/csv;label_size=0"));
        Assert.Equal("ClientError: Channel 'train', record 101, feature 3: a value is missing; k-means needs every feature of every record", run.Failure);
    }

    // ---- PCA ----

    /// <summary>Records μ + A z + noise: three latent factors of standard deviations 6, 2 and 0.5 mixed
    /// into 5 features by a fixed random A, away from the origin.</summary>
    static float[][] Correlated(int rows, int seed)
    {
        var mixing = new Random(7);
        var a = Enumerable.Range(0, 5).Select(_ => Enumerable.Range(0, 3).Select(_ => Gaussian(mixing)).ToArray()).ToArray();
        double[] scale = [6, 2, 0.5];
        double[] mean = [10, -5, 3, 0, 1];
        var random = new Random(seed);
        return Enumerable.Range(0, rows).Select(_ =>
        {
            var z = scale.Select(s => s * Gaussian(random)).ToArray();
            return Enumerable.Range(0, 5).Select(j => (float)(mean[j] + a[j].Select((w, f) => w * z[f]).Sum() + 0.05 * Gaussian(random))).ToArray();
        }).ToArray();
    }

    /// <summary>The reference: the leading eigenvectors of Σ(x − μ)ᵀ(x − μ) (Σxᵀx without μ) by power
    /// iteration with deflation, most significant first.</summary>
    static (double[] Mean, double[][] Components) PowerIteration(float[][] rows, int count, bool subtractMean)
    {
        var d = rows[0].Length;
        var mean = subtractMean ? Enumerable.Range(0, d).Select(j => rows.Average(r => (double)r[j])).ToArray() : new double[d];
        var m = new double[d, d];
        foreach (var r in rows)
            for (var i = 0; i < d; i++)
                for (var j = 0; j < d; j++) m[i, j] += (r[i] - mean[i]) * (r[j] - mean[j]);
        var components = new double[count][];
        for (var c = 0; c < count; c++)
        {
            var v = Enumerable.Range(0, d).Select(j => 1.0 + 0.1 * j).ToArray();
            for (var iteration = 0; iteration < 2000; iteration++)
            {
                var w = Enumerable.Range(0, d).Select(i => Enumerable.Range(0, d).Sum(j => m[i, j] * v[j])).ToArray();
                var norm = Math.Sqrt(w.Sum(x => x * x));
                v = w.Select(x => x / norm).ToArray();
            }
            var lambda = Enumerable.Range(0, d).Sum(i => v[i] * Enumerable.Range(0, d).Sum(j => m[i, j] * v[j]));
            for (var i = 0; i < d; i++)
                for (var j = 0; j < d; j++) m[i, j] -= lambda * v[i] * v[j];
            components[c] = v;
        }
        return (mean, components);
    }

    [Theory]
    [InlineData("regular", true)]
    [InlineData("randomized", true)]
    [InlineData("regular", false)]
    public async Task PcaProjectsOnTheComponentsPowerIterationFindsMostSignificantLast(string mode, bool subtractMean)
    {
        var train = Correlated(1000, 3);
        var test = Correlated(200, 4);
        // Randomized with no extra component: the two power iterations alone make the sketch exact enough.
        var extra = mode == "randomized" ? ",\"extra_components\":\"0\"" : "";
        var run = await Train("pca", $$"""{"feature_dim":"5","num_components":"2","mini_batch_size":"100","algorithm_mode":"{{mode}}","subtract_mean":"{{subtractMean.ToString().ToLowerInvariant()}}" """ + extra + "}",
            ("train", Channel("train", train)));

        Assert.True(run.ExitCode == 0, run.Stdout + run.Failure);
        Assert.Contains("#progress_metric: host=algo-1, completed 100 % of epochs", run.Stdout);
        Assert.Matches(@"#throughput_metric: host=algo-1, train throughput=[0-9.E+]+ records/second", run.Stdout);
        var (mean, components) = PowerIteration(train, 2, subtractMean);
        var output = Assert.Single(RunModel(run.ModelPath, test));
        Assert.Equal("projection", output.Name);
        Assert.Equal(test.Length * 2, output.Values.Length);
        for (var c = 0; c < 2; c++)
        {
            // AWS's order: by increasing variance, the most significant component last.
            var component = components[1 - c];
            var theirs = test.Select(r => r.Select((v, j) => (v - mean[j]) * component[j]).Sum()).ToArray();
            var ours = Enumerable.Range(0, test.Length).Select(i => (double)output.Values[i * 2 + c]).ToArray();
            var sign = Math.Sign(ours.Zip(theirs, (x, y) => x * y).Sum());
            for (var i = 0; i < test.Length; i++) Assert.InRange(ours[i], sign * theirs[i] - 2e-3 * (1 + Math.Abs(theirs[i])), sign * theirs[i] + 2e-3 * (1 + Math.Abs(theirs[i])));
        }

        // The components, read back from the model (the unit vectors' projections less the origin's),
        // are orthonormal, and each one's largest coefficient is positive.
        var basis = Enumerable.Range(0, 6).Select(i => Enumerable.Range(0, 5).Select(j => i == j ? 1f : 0f).ToArray()).ToArray();
        var projected = RunModel(run.ModelPath, basis)[0].Values;
        var weights = Enumerable.Range(0, 2).Select(c => Enumerable.Range(0, 5).Select(j => projected[j * 2 + c] - projected[5 * 2 + c]).ToArray()).ToArray();
        if (!subtractMean) Assert.All(projected[10..], v => Assert.Equal(0f, v));
        for (var c = 0; c < 2; c++)
        {
            Assert.InRange(weights[c].Sum(w => w * w), 0.999, 1.001);
            Assert.True(weights[c].MaxBy(Math.Abs) > 0, $"component {c}: {string.Join(",", weights[c])}");
        }
        Assert.InRange(weights[0].Zip(weights[1], (x, y) => x * y).Sum(), -1e-3, 1e-3);
    }

    [Fact]
    public async Task PcaAnswersAsAwsPcaContainerAndTakesAwsRecordFormats()
    {
        var train = Correlated(300, 5);
        var run = await Train("pca", """{"feature_dim":"5","num_components":"3","mini_batch_size":"50"}""", ("train", Channel("train", train)), ("test", Channel("test", Correlated(50, 6))));
        Assert.True(run.ExitCode == 0, run.Stdout + run.Failure);

        using var model = new OnnxModel(run.ModelPath, 1);
        var expected = (float[])Assert.Single(model.Run(Codecs.Decode(Codecs.Csv, Encoding.UTF8.GetBytes(Csv(train[..2])), model))).Tensor!.Values;
        string Numbers(IEnumerable<float> values) => string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
        // A dense record and a sparse one (keys, shape) for the same row: {"data": {"features": {...}}}.
        var nonzero = Enumerable.Range(0, 5).Where(j => train[1][j] != 0).ToArray();
        var request = "{\"instances\": [{\"data\": {\"features\": {\"values\": [" + Numbers(train[0]) + "]}}}, "
            + "{\"data\": {\"features\": {\"keys\": [" + string.Join(",", nonzero) + "], \"shape\": [5], \"values\": [" + Numbers(nonzero.Select(j => train[1][j])) + "]}}}]}";
        using var json = JsonDocument.Parse(Codecs.Encode(Codecs.Json, model.Run(Codecs.Decode(Codecs.Json, Encoding.UTF8.GetBytes(request), model)), "pca"));
        var projections = json.RootElement.GetProperty("projections").EnumerateArray().ToList();
        Assert.Equal(2, projections.Count);
        for (var i = 0; i < 2; i++)
            Assert.Equal(expected[(i * 3)..(i * 3 + 3)], projections[i].GetProperty("projection").EnumerateArray().Select(v => v.GetSingle()));
        var lines = Encoding.UTF8.GetString(Codecs.Encode(Codecs.JsonLines, model.Run(Codecs.Decode(Codecs.Csv, Encoding.UTF8.GetBytes(Csv(train[..2])), model)), "pca"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($$"""{"projection":[{{Numbers(expected[..3])}}]}""", lines[0]);
        Assert.Equal(2, lines.Length);
        var error = Assert.Throws<PayloadException>(() => Codecs.Decode(Codecs.Json, Encoding.UTF8.GetBytes("""{"instances": [{"data": {"features": {"keys": [7], "shape": [5], "values": [1]}}}]}"""), model));
        Assert.Contains("key 7", error.Message);
    }

    [Theory]
    [InlineData("""{"feature_dim":"5","mini_batch_size":"10"}""", "'num_components'")]
    [InlineData("""{"feature_dim":"5","num_components":"2"}""", "'mini_batch_size'")]
    [InlineData("""{"num_components":"2","mini_batch_size":"10"}""", "'feature_dim'")]
    [InlineData("""{"feature_dim":"5","num_components":"6","mini_batch_size":"10"}""", "num_components")]
    [InlineData("""{"feature_dim":"4","num_components":"2","mini_batch_size":"10"}""", "feature_dim")]
    [InlineData("""{"feature_dim":"5","num_components":"2","mini_batch_size":"10","algorithm_mode":"fast"}""", "algorithm_mode")]
    [InlineData("""{"feature_dim":"5","num_components":"2","mini_batch_size":"10","subtract_mean":"maybe"}""", "subtract_mean")]
    [InlineData("""{"feature_dim":"5","num_components":"2","mini_batch_size":"10","extra_components":"-2"}""", "extra_components")]
    public async Task PcaRejectsABadHyperparameterNamingIt(string hyperparameters, string named)
    {
        var run = await Train("pca", hyperparameters, ("train", Channel("train", Correlated(50, 8))));

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("ClientError: ", run.Failure);
        Assert.Contains(named, run.Failure);
        Assert.False(File.Exists(run.ModelPath));
    }
}
