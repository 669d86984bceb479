namespace Strata.Server.Jobs.Tuning;

/// <summary>
/// Gaussian-process regression over the unit cube with a Matérn 5/2 kernel, for Bayesian search.
/// The observations are standardized (zero mean, unit variance); the kernel's hyperparameters (an
/// amplitude, a noise variance and a length scale per coordinate) are those of largest log marginal
/// likelihood, found on a small grid of isotropic settings and then refined one coordinate at a
/// time by factors of 2 and 4 (automatic relevance determination without a gradient optimizer).
/// Every solve is a Cholesky factorization; with the tens of points a tuning job has, a fit is a
/// few milliseconds.
/// </summary>
public sealed class GaussianProcess
{
    static readonly double[] LengthScales = [0.05, 0.1, 0.2, 0.35, 0.5, 0.8, 1.2, 2.0];
    static readonly double[] NoiseVariances = [1e-6, 1e-4, 1e-3, 1e-2, 1e-1];
    static readonly double[] Amplitudes = [0.5, 1, 2];
    static readonly double[] Refinements = [0.25, 0.5, 2, 4];
    static readonly double Sqrt5 = Math.Sqrt(5);

    readonly double[][] _x;
    readonly double[] _lengthScales;
    readonly double _amplitude;
    readonly double[,] _cholesky;
    readonly double[] _alpha;
    readonly double _mean;
    readonly double _scale;

    public double LogMarginalLikelihood { get; }
    public IReadOnlyList<double> LengthScalesFitted => _lengthScales;

    GaussianProcess(double[][] x, double[] lengthScales, double amplitude, double[,] cholesky, double[] alpha, double mean, double scale, double logLikelihood)
    {
        (_x, _lengthScales, _amplitude, _cholesky, _alpha, _mean, _scale) = (x, lengthScales, amplitude, cholesky, alpha, mean, scale);
        LogMarginalLikelihood = logLikelihood;
    }

    /// <summary>The process that explains <paramref name="y"/> at <paramref name="x"/> best.</summary>
    public static GaussianProcess Fit(IReadOnlyList<double[]> x, IReadOnlyList<double> y)
    {
        if (x.Count == 0 || x.Count != y.Count) throw new ArgumentException("a Gaussian process needs as many observations as points, and at least one");
        var points = x.Select(p => (double[])p.Clone()).ToArray();
        var mean = y.Average();
        var sd = Math.Sqrt(y.Sum(v => (v - mean) * (v - mean)) / y.Count);
        var scale = sd > 1e-12 ? sd : 1;
        var z = y.Select(v => (v - mean) / scale).ToArray();
        var width = points[0].Length;

        GaussianProcess? best = null;
        foreach (var l in LengthScales)
            foreach (var noise in NoiseVariances)
                foreach (var amplitude in Amplitudes)
                    best = Better(best, Try(points, z, Enumerable.Repeat(l, width).ToArray(), amplitude, noise, mean, scale));
        var (bestNoise, bestAmplitude) = (best!.Noise, best._amplitude);
        for (var sweep = 0; sweep < 2; sweep++)
        {
            for (var d = 0; d < width; d++)
            {
                var current = best!._lengthScales;
                foreach (var factor in Refinements)
                {
                    var ls = (double[])current.Clone();
                    ls[d] = Math.Clamp(ls[d] * factor, 0.01, 10);
                    best = Better(best, Try(points, z, ls, bestAmplitude, bestNoise, mean, scale));
                }
            }
        }
        return best!;
    }

    double Noise { get; init; }

    static GaussianProcess? Better(GaussianProcess? a, GaussianProcess? b) => b is null ? a : a is null || b.LogMarginalLikelihood > a.LogMarginalLikelihood ? b : a;

    static GaussianProcess? Try(double[][] x, double[] z, double[] lengthScales, double amplitude, double noise, double mean, double scale)
    {
        var n = x.Length;
        var k = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var v = amplitude * Matern(Distance(x[i], x[j], lengthScales));
                k[i, j] = v;
                k[j, i] = v;
            }
            k[i, i] += noise;
        }
        if (!Cholesky(k, n)) return null;
        var alpha = Solve(k, n, z);
        double fit = 0, logDet = 0;
        for (var i = 0; i < n; i++)
        {
            fit += z[i] * alpha[i];
            logDet += Math.Log(k[i, i]);
        }
        var likelihood = -0.5 * fit - logDet - 0.5 * n * Math.Log(2 * Math.PI);
        return new GaussianProcess(x, lengthScales, amplitude, k, alpha, mean, scale, likelihood) { Noise = noise };
    }

    /// <summary>The predicted mean and standard deviation of the latent function at a point, in the
    /// observations' units.</summary>
    public (double Mean, double StdDev) Predict(double[] point)
    {
        var n = _x.Length;
        var kStar = new double[n];
        for (var i = 0; i < n; i++) kStar[i] = _amplitude * Matern(Distance(point, _x[i], _lengthScales));
        double mean = 0;
        for (var i = 0; i < n; i++) mean += kStar[i] * _alpha[i];
        // v = L⁻¹ k*, variance = k(x, x) − vᵀv.
        var v = ForwardSubstitute(_cholesky, n, kStar);
        var variance = _amplitude;
        for (var i = 0; i < n; i++) variance -= v[i] * v[i];
        return (_mean + _scale * mean, _scale * Math.Sqrt(Math.Max(variance, 1e-12)));
    }

    /// <summary>Expected improvement below <paramref name="best"/> (lower is better) of a normal
    /// prediction, with an exploration margin <paramref name="xi"/>.</summary>
    public static double ExpectedImprovement(double mean, double stdDev, double best, double xi)
    {
        if (stdDev <= 0) return Math.Max(0, best - mean - xi);
        var gain = best - mean - xi;
        var z = gain / stdDev;
        return gain * NormalCdf(z) + stdDev * NormalPdf(z);
    }

    static double Matern(double r) => (1 + Sqrt5 * r + 5 * r * r / 3) * Math.Exp(-Sqrt5 * r);

    static double Distance(double[] a, double[] b, double[] lengthScales)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var d = (a[i] - b[i]) / lengthScales[i];
            sum += d * d;
        }
        return Math.Sqrt(sum);
    }

    /// <summary>In place: the lower triangle of <paramref name="a"/> becomes L with L Lᵀ = a; false
    /// if a is not positive definite.</summary>
    static bool Cholesky(double[,] a, int n)
    {
        for (var j = 0; j < n; j++)
        {
            var sum = a[j, j];
            for (var k = 0; k < j; k++) sum -= a[j, k] * a[j, k];
            if (sum <= 0 || !double.IsFinite(sum)) return false;
            var d = Math.Sqrt(sum);
            a[j, j] = d;
            for (var i = j + 1; i < n; i++)
            {
                var s = a[i, j];
                for (var k = 0; k < j; k++) s -= a[i, k] * a[j, k];
                a[i, j] = s / d;
            }
            for (var i = 0; i < j; i++) a[i, j] = 0;
        }
        return true;
    }

    static double[] ForwardSubstitute(double[,] l, int n, double[] b)
    {
        var y = new double[n];
        for (var i = 0; i < n; i++)
        {
            var s = b[i];
            for (var k = 0; k < i; k++) s -= l[i, k] * y[k];
            y[i] = s / l[i, i];
        }
        return y;
    }

    /// <summary>x with L Lᵀ x = b.</summary>
    static double[] Solve(double[,] l, int n, double[] b)
    {
        var y = ForwardSubstitute(l, n, b);
        var x = new double[n];
        for (var i = n - 1; i >= 0; i--)
        {
            var s = y[i];
            for (var k = i + 1; k < n; k++) s -= l[k, i] * x[k];
            x[i] = s / l[i, i];
        }
        return x;
    }

    static double NormalPdf(double z) => Math.Exp(-0.5 * z * z) / Math.Sqrt(2 * Math.PI);

    static double NormalCdf(double z) => 0.5 * Erfc(-z / Math.Sqrt(2));

    /// <summary>The complementary error function (Chebyshev fit, relative error below 1.2e-7).</summary>
    static double Erfc(double x)
    {
        var z = Math.Abs(x);
        var t = 1 / (1 + 0.5 * z);
        var r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
            + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
