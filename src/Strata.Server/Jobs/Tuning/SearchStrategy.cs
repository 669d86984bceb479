namespace Strata.Server.Jobs.Tuning;

/// <summary>A configuration a tuning job tried or is trying (a point of its
/// <see cref="ParameterSpace"/>) and, once known, how good it was as a loss: lower is better (a
/// maximized objective is negated).</summary>
public sealed record Observation(double[] Point, double? Loss);

/// <summary>
/// How a tuning job picks the configuration of its next training job, as SageMaker's strategies
/// do: Random (uniform in each range's scale), Grid (every combination of the ranges' values, in
/// order) and Bayesian (a Gaussian process and expected improvement); Hyperband proposes as Random
/// does and decides which trials go on with <see cref="Hyperband"/>. Pure: everything random comes
/// from the generator it is given, so a seed replays a search.
/// </summary>
public abstract class SearchStrategy(ParameterSpace space)
{
    public ParameterSpace Space { get; } = space;

    public static SearchStrategy Of(string strategy, ParameterSpace space) => strategy switch
    {
        "Grid" => new GridSearch(space),
        "Bayesian" => new BayesianSearch(space),
        _ => new RandomSearch(space),
    };

    /// <summary>The configuration of the trial numbered <paramref name="index"/> (from 0), given
    /// every trial before it (those still running have no loss yet); null when none is left.</summary>
    public abstract double[]? Next(int index, IReadOnlyList<Observation> history, Random rng);

    /// <summary>The generator of trial <paramref name="index"/> of a search seeded with
    /// <paramref name="seed"/> (SplitMix64): each proposal can be made again, after a restart too,
    /// from the seed and the trials before it.</summary>
    public static Random TrialRandom(int seed, int index)
    {
        var z = unchecked(((ulong)(uint)seed << 32 | (uint)index) + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return new Random((int)(z ^ (z >> 31)));
    }
}

/// <summary>Each configuration drawn uniformly, whatever came before.</summary>
public sealed class RandomSearch(ParameterSpace space) : SearchStrategy(space)
{
    public override double[]? Next(int index, IReadOnlyList<Observation> history, Random rng) => Space.Canonical(Space.Sample(rng));
}

/// <summary>The grid's points in order (<see cref="ParameterSpace.GridPoint"/>), then none.</summary>
public sealed class GridSearch(ParameterSpace space) : SearchStrategy(space)
{
    public override double[]? Next(int index, IReadOnlyList<Observation> history, Random rng) => index < Space.GridSize ? Space.GridPoint(index) : null;
}

/// <summary>
/// Bayesian optimization: the first trials are drawn at random (<see cref="InitialRandom"/>), then
/// each is the point of largest expected improvement under a <see cref="GaussianProcess"/> fitted
/// to the losses so far, among random candidates and perturbations of the best points found.
/// Trials still running count as if they had the mean loss so far (a "constant liar"), so that
/// parallel trials spread out instead of all going where the last fit points.
/// </summary>
public sealed class BayesianSearch(ParameterSpace space) : SearchStrategy(space)
{
    const int RandomCandidates = 1000;
    const int LocalCandidates = 60;
    const int PointsRefined = 5;
    static readonly double[] Steps = [0.01, 0.03, 0.1];

    /// <summary>Trials drawn at random before the first fit: one more than the coordinates, at least 3, at most 10.</summary>
    public int InitialRandom => Math.Clamp(Space.Width + 1, 3, 10);

    public override double[]? Next(int index, IReadOnlyList<Observation> history, Random rng)
    {
        var known = history.Where(o => o.Loss is not null).ToList();
        if (known.Count < InitialRandom) return Space.Canonical(Space.Sample(rng));
        var liar = known.Average(o => o.Loss!.Value);
        var gp = GaussianProcess.Fit([.. history.Select(o => o.Point)], [.. history.Select(o => o.Loss ?? liar)]);
        var best = known.Min(o => o.Loss!.Value);
        var xi = 0.01 * Spread(known);

        double[]? chosen = null;
        var chosenGain = double.NegativeInfinity;
        void Consider(double[] candidate)
        {
            var (mean, sd) = gp.Predict(candidate);
            var gain = GaussianProcess.ExpectedImprovement(mean, sd, best, xi);
            if (gain > chosenGain) (chosen, chosenGain) = (candidate, gain);
        }
        for (var i = 0; i < RandomCandidates; i++) Consider(Space.Canonical(Space.Sample(rng)));
        foreach (var top in known.OrderBy(o => o.Loss).Take(PointsRefined))
            for (var i = 0; i < LocalCandidates; i++) Consider(Space.Perturb(top.Point, Steps[i % Steps.Length], rng));
        return chosen;
    }

    /// <summary>The losses' standard deviation (1 when they are all equal): the scale of the margin
    /// an improvement must clear.</summary>
    static double Spread(List<Observation> known)
    {
        var mean = known.Average(o => o.Loss!.Value);
        var sd = Math.Sqrt(known.Sum(o => (o.Loss!.Value - mean) * (o.Loss!.Value - mean)) / known.Count);
        return sd > 1e-12 ? sd : 1;
    }
}
