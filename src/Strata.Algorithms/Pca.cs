using System.Diagnostics;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace Strata.Algorithms;

/// <summary>
/// AWS's built-in PCA. <c>regular</c> mode (the default): the covariance Σ(x − μ)ᵀ(x − μ) of the
/// training records (Σxᵀx with subtract_mean=false), whose num_components leading eigenvectors are
/// the components; <c>randomized</c> mode: the same components approximated by a randomized SVD
/// (Halko, Martinsson and Tropp) of the centered data with num_components + extra_components random
/// directions (extra_components −1: max(10, num_components), as AWS defines it). The model projects
/// a record, less the training mean when subtract_mean is set, onto the components, and answers as
/// AWS's container does, <c>projection</c>: the components ordered as AWS's model orders them, by
/// increasing variance, the most significant last; each component's sign is chosen so that its
/// largest coefficient is positive (an SVD's sign is arbitrary; this makes the model reproducible).
/// AWS's PCA reports no quality metric; it logs progress and throughput, and so does this one.
/// </summary>
public static class Pca
{
    public static void Train(TrainingEnvironment env, TextWriter log)
    {
        var hp = env.Hyperparameters;
        var featureDim = hp.Int("feature_dim", null, 1);
        var components = hp.Int("num_components", null, 1);
        // Required by AWS; the covariance is summed over all records whatever the batch.
        hp.Int("mini_batch_size", null, 1);
        var randomized = hp.Choice("algorithm_mode", "regular", "regular", "randomized") == "randomized";
        var subtractMean = hp.Bool("subtract_mean", true);
        var extra = hp.Int("extra_components", -1, -1);
        hp.Bool("force_dense", true);
        hp.RejectUnknown();
        if (components > featureDim)
            throw new ClientError($"Hyperparameter 'num_components': {components} is more than feature_dim ({featureDim}); a projection has at most as many components as the data has features");

        var train = FirstParty.UnsupervisedData(env, "PCA", featureDim)["train"];
        var started = Stopwatch.GetTimestamp();
        var mean = new double[featureDim];
        if (subtractMean)
        {
            for (var i = 0; i < train.Rows; i++)
            {
                var row = train.Row(i);
                for (var j = 0; j < featureDim; j++) mean[j] += row[j];
            }
            for (var j = 0; j < featureDim; j++) mean[j] /= train.Rows;
        }
        var data = Matrix<double>.Build.Dense(train.Rows, featureDim, (i, j) => train.Features[i * featureDim + j] - mean[j]);
        var (vectors, variances, total) = randomized
            ? Randomized(data, components, extra == -1 ? Math.Max(10, components) : extra)
            : Regular(data, components);
        FirstParty.Progress(log, 1, 1);
        FirstParty.Throughput(log, train.Rows, Stopwatch.GetElapsedTime(started));
        log.WriteLine($"[INFO] {components} components ({(randomized ? "randomized" : "regular")} mode) explain {FirstParty.Number(total > 0 ? variances.Sum() / total : 1)} of the {(subtractMean ? "variance" : "second moment")}");

        // AWS's order: by increasing variance. Each component signed so that its largest coefficient is positive.
        var order = Enumerable.Range(0, components).OrderBy(c => variances[c]).ToArray();
        var weights = new float[featureDim * components];
        for (var c = 0; c < components; c++)
        {
            var v = vectors.Column(order[c]);
            var sign = v[v.AbsoluteMaximumIndex()] < 0 ? -1 : 1;
            for (var j = 0; j < featureDim; j++) weights[j * components + c] = (float)(sign * v[j]);
        }
        var g = new OnnxGraph("strata_pca", featureDim);
        var input = subtractMean ? g.Node("Sub", [MlData.FeaturesColumn, g.Constant("mean", Array.ConvertAll(mean, m => (float)m), featureDim)], "centered")
            : MlData.FeaturesColumn;
        g.Node("MatMul", [input, g.Constant("components", weights, featureDim, components)], "projection");
        g.Output("projection", components);
        g.Save(env.ModelDir);
    }

    /// <summary>The leading eigenvectors of the (centered) second-moment matrix, their eigenvalues,
    /// and the trace (the total).</summary>
    static (Matrix<double> Vectors, double[] Variances, double Total) Regular(Matrix<double> data, int components)
    {
        var covariance = data.TransposeThisAndMultiply(data);
        var evd = covariance.Evd(Symmetricity.Symmetric);
        var values = evd.EigenValues.Select(v => v.Real).ToArray();
        var leading = Enumerable.Range(0, values.Length).OrderByDescending(i => values[i]).Take(components).ToArray();
        var vectors = Matrix<double>.Build.DenseOfColumnVectors(leading.Select(i => evd.EigenVectors.Column(i)));
        return (vectors, leading.Select(i => values[i]).ToArray(), covariance.Trace());
    }

    /// <summary>A randomized SVD of the data: its range sketched by num_components + extra random
    /// directions, sharpened by two power iterations (re-orthonormalized), then the exact SVD of the
    /// data projected on that range.</summary>
    static (Matrix<double> Vectors, double[] Variances, double Total) Randomized(Matrix<double> data, int components, int extra)
    {
        var width = Math.Min(components + extra, Math.Min(data.RowCount, data.ColumnCount));
        var omega = Matrix<double>.Build.Random(data.ColumnCount, width, new Normal(0, 1, new Random(0)));
        var range = (data * omega).QR(QRMethod.Thin).Q;
        for (var iteration = 0; iteration < 2; iteration++)
        {
            var back = data.TransposeThisAndMultiply(range).QR(QRMethod.Thin).Q;
            range = (data * back).QR(QRMethod.Thin).Q;
        }
        var svd = range.TransposeThisAndMultiply(data).Svd(computeVectors: true);
        var count = Math.Min(components, svd.S.Count);
        var vectors = svd.VT.SubMatrix(0, count, 0, data.ColumnCount).Transpose();
        if (count < components)
        {
            // Fewer records than components: the rest of the basis carries no variance.
            var basis = Matrix<double>.Build.Random(data.ColumnCount, components, new Normal(0, 1, new Random(1)));
            basis.SetSubMatrix(0, 0, vectors);
            vectors = basis.QR(QRMethod.Thin).Q;
        }
        var variances = Enumerable.Range(0, components).Select(c => c < count ? svd.S[c] * svd.S[c] : 0).ToArray();
        return (vectors, variances, data.FrobeniusNorm() * data.FrobeniusNorm());
    }
}
