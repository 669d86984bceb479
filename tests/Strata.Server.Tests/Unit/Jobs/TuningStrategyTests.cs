using System.Globalization;
using Strata.Server.Jobs.Tuning;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// The search space and the strategies of hyperparameter tuning, pure and seeded: each range's
/// scale, the values as SageMaker passes them, the grid's order, the ranges AWS refuses, the
/// Gaussian process, the early-stopping rules, and Bayesian search finding better points than
/// random search with the same budget on Branin's function over fixed seeds.
/// </summary>
public sealed class TuningStrategyTests
{
    static TunedParameter Continuous(string name, string min, string max, string? scaling = null)
        => new() { Name = name, Kind = TunedParameter.Continuous, MinValue = min, MaxValue = max, ScalingType = scaling };

    static TunedParameter Integer(string name, string min, string max, string? scaling = null)
        => new() { Name = name, Kind = TunedParameter.Integer, MinValue = min, MaxValue = max, ScalingType = scaling };

    static TunedParameter Categorical(string name, params string[] values) => new() { Name = name, Kind = TunedParameter.Categorical, Values = [.. values] };

    static List<double> Draw(ParameterSpace space, string name, int n, int seed = 1)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => double.Parse(space.Values(space.Sample(rng))[name], CultureInfo.InvariantCulture))];
    }

    [Fact]
    public void LinearRangesAreUniform()
    {
        var values = Draw(new ParameterSpace([Continuous("eta", "0", "0.5", "Linear")]), "eta", 4000);
        Assert.All(values, v => Assert.InRange(v, 0, 0.5));
        Assert.InRange(values.Count(v => v < 0.25) / 4000.0, 0.47, 0.53);
    }

    [Fact]
    public void LogarithmicRangesAreUniformInTheirLogarithm()
    {
        var values = Draw(new ParameterSpace([Continuous("lr", "0.0001", "1", "Logarithmic")]), "lr", 4000);
        Assert.All(values, v => Assert.InRange(v, 0.0001, 1));
        // Half below the geometric mean (0.01), three quarters below 0.1 (three of the four decades).
        Assert.InRange(values.Count(v => v < 0.01) / 4000.0, 0.47, 0.53);
        Assert.InRange(values.Count(v => v < 0.1) / 4000.0, 0.72, 0.78);
    }

    [Fact]
    public void ReverseLogarithmicRangesAreDenseNearOne()
    {
        var values = Draw(new ParameterSpace([Continuous("momentum", "0", "0.999", "ReverseLogarithmic")]), "momentum", 4000);
        Assert.All(values, v => Assert.InRange(v, 0, 0.999));
        // log(1 − x) is uniform: half of the draws have 1 − x below √(1 · 0.001).
        Assert.InRange(values.Count(v => 1 - v < Math.Sqrt(0.001)) / 4000.0, 0.47, 0.53);
    }

    [Fact]
    public void AutoIsLogarithmicOverOrdersOfMagnitudeAndLinearOtherwise()
    {
        var wide = Draw(new ParameterSpace([Continuous("alpha", "0.001", "10")]), "alpha", 4000);
        Assert.InRange(wide.Count(v => v < 0.1) / 4000.0, 0.45, 0.55);
        var narrow = Draw(new ParameterSpace([Continuous("alpha", "1", "10")]), "alpha", 4000);
        Assert.InRange(narrow.Count(v => v < 5.5) / 4000.0, 0.47, 0.53);
    }

    [Fact]
    public void IntegerRangesGiveEveryIntegerAndEncodeWhatRan()
    {
        var space = new ParameterSpace([Integer("max_depth", "2", "6")]);
        var rng = new Random(3);
        var counts = new Dictionary<string, int>();
        for (var i = 0; i < 5000; i++)
        {
            var point = space.Sample(rng);
            var value = space.Values(point)["max_depth"];
            counts[value] = counts.GetValueOrDefault(value) + 1;
            Assert.Equal(value, space.Values(space.Canonical(point))["max_depth"]);
        }
        Assert.Equal(new[] { "2", "3", "4", "5", "6" }, counts.Keys.Order(StringComparer.Ordinal));
        Assert.All(counts.Values, c => Assert.InRange(c, 900, 1100));

        var log = Draw(new ParameterSpace([Integer("trees", "1", "1000", "Logarithmic")]), "trees", 4000);
        Assert.All(log, v => Assert.Equal(Math.Floor(v), v));
        // Each integer owns [v − 0.5, v + 0.5) on the log scale: half of [0.5, 1000.5) is below 22.5.
        Assert.InRange(log.Count(v => v <= 22) / 4000.0, 0.46, 0.54);
    }

    [Fact]
    public void CategoricalValuesAreOneHot()
    {
        var space = new ParameterSpace([Categorical("booster", "gbtree", "dart", "gblinear"), Continuous("eta", "0.1", "0.2")]);
        Assert.Equal(4, space.Width);
        var point = space.Sample(new Random(5));
        Assert.Equal(1, point.Take(3).Sum());
        Assert.Contains(space.Values(point)["booster"], new[] { "gbtree", "dart", "gblinear" });
        var moved = space.Perturb(point, 0.5, new Random(6));
        Assert.Equal(1, moved.Take(3).Sum());
        Assert.InRange(double.Parse(space.Values(moved)["eta"], CultureInfo.InvariantCulture), 0.1, 0.2);
    }

    [Fact]
    public void RealValuesAreWrittenAsPythonWritesThem()
    {
        Assert.Equal("0.1", ParameterSpace.Format(0.1));
        Assert.Equal("1e-05", ParameterSpace.Format(0.00001));
        Assert.Equal("2.5e+20", ParameterSpace.Format(2.5e20));
        Assert.Equal("0.30000000000000004", ParameterSpace.Format(0.1 + 0.2));
    }

    [Fact]
    public void TheGridRunsInOrderFirstRangeSlowest()
    {
        var space = new ParameterSpace([Integer("depth", "1", "2"), Categorical("objective", "a", "b", "c")]);
        Assert.Equal(6, space.GridSize);
        var grid = new GridSearch(space);
        var seen = new List<string>();
        for (var i = 0; ; i++)
        {
            if (grid.Next(i, [], new Random(0)) is not { } point) break;
            var v = space.Values(point);
            seen.Add(v["depth"] + v["objective"]);
        }
        Assert.Equal(new[] { "1a", "1b", "1c", "2a", "2b", "2c" }, seen);
        Assert.False(new ParameterSpace([Continuous("eta", "0", "1")]).IsFinite);
    }

    [Theory]
    [InlineData("min-max", "is greater than its MaxValue")]
    [InlineData("log-zero", "Logarithmic scaling, which works only for ranges whose values are all greater than 0")]
    [InlineData("revlog-one", "entirely within 0 <= x < 1.0")]
    [InlineData("revlog-integer", "not supported for integer hyperparameter ranges")]
    [InlineData("not-a-number", "is not a number")]
    [InlineData("not-an-integer", "is not an integer")]
    [InlineData("twice", "has more than one range")]
    [InlineData("too-many", "the maximum is 30")]
    [InlineData("none", "at least one hyperparameter")]
    public void RangesAwsRefusesAreRefused(string bad, string message)
    {
        List<TunedParameter> ranges = bad switch
        {
            "min-max" => [Continuous("eta", "0.5", "0.1")],
            "log-zero" => [Continuous("eta", "0", "1", "Logarithmic")],
            "revlog-one" => [Continuous("eta", "0.5", "1", "ReverseLogarithmic")],
            "revlog-integer" => [Integer("depth", "0", "0", "ReverseLogarithmic")],
            "not-a-number" => [Continuous("eta", "zero", "1")],
            "not-an-integer" => [Integer("depth", "1.5", "3")],
            "twice" => [Integer("depth", "1", "3"), Categorical("depth", "1")],
            "too-many" => [.. Enumerable.Range(0, 31).Select(i => Integer($"p{i}", "1", "2"))],
            _ => [],
        };
        var e = Assert.Throws<TuningConfigurationException>(() => new ParameterSpace(ranges));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void TheGaussianProcessInterpolatesASmoothFunction()
    {
        var x = Enumerable.Range(0, 12).Select(i => new[] { i / 11.0 }).ToList();
        var y = x.Select(p => Math.Sin(6 * p[0])).ToList();
        var gp = GaussianProcess.Fit(x, y);
        for (var i = 0; i < x.Count; i++) Assert.InRange(gp.Predict(x[i]).Mean, y[i] - 0.05, y[i] + 0.05);
        var (mean, sd) = gp.Predict([0.5 / 11]);
        Assert.InRange(mean, Math.Sin(6 * 0.5 / 11) - 0.05, Math.Sin(6 * 0.5 / 11) + 0.05);
        Assert.True(sd < gp.Predict([3.0]).StdDev, "uncertainty grows away from the data");
        Assert.True(GaussianProcess.ExpectedImprovement(0, 1, 0, 0) > GaussianProcess.ExpectedImprovement(1, 1, 0, 0));
    }

    /// <summary>Branin's function on x1 ∈ [−5, 10], x2 ∈ [0, 15]; its minimum is 0.397887.</summary>
    static double Branin(double x1, double x2)
    {
        const double b = 5.1 / (4 * Math.PI * Math.PI), c = 5 / Math.PI, t = 1 / (8 * Math.PI);
        return Math.Pow(x2 - b * x1 * x1 + c * x1 - 6, 2) + 10 * (1 - t) * Math.Cos(x1) + 10;
    }

    /// <summary>The best Branin value a strategy finds with <paramref name="budget"/> trials, one at a time.</summary>
    static double BestFound(string strategy, int seed, int budget)
    {
        var space = new ParameterSpace([Continuous("x1", "-5", "10", "Linear"), Continuous("x2", "0", "15", "Linear")]);
        var search = SearchStrategy.Of(strategy, space);
        var history = new List<Observation>();
        for (var i = 0; i < budget; i++)
        {
            var point = search.Next(i, history, SearchStrategy.TrialRandom(seed, i))!;
            var v = space.Values(point);
            history.Add(new Observation(point, Branin(double.Parse(v["x1"], CultureInfo.InvariantCulture), double.Parse(v["x2"], CultureInfo.InvariantCulture))));
        }
        return history.Min(o => o.Loss!.Value);
    }

    [Fact]
    public void BayesianSearchBeatsRandomSearchOnBraninWithTheSameBudget()
    {
        var seeds = Enumerable.Range(1, 8).ToList();
        var bayesian = seeds.Select(s => BestFound("Bayesian", s, 20)).ToList();
        var random = seeds.Select(s => BestFound("Random", s, 20)).ToList();
        // Regret over the minimum (0.397887): Bayesian's mean is less than half of Random's.
        var (bayesRegret, randomRegret) = (bayesian.Average() - 0.397887, random.Average() - 0.397887);
        Assert.True(bayesRegret * 2 < randomRegret, $"Bayesian mean best {bayesian.Average():F4}, Random {random.Average():F4}");
        Assert.True(bayesian.Zip(random).Count(p => p.First < p.Second) >= 6, "Bayesian wins on most seeds");
    }

    [Fact]
    public void TheSameSeedReplaysTheSameSearch()
        => Assert.Equal(BestFound("Bayesian", 42, 8), BestFound("Bayesian", 42, 8));

    [Fact]
    public void TheMedianRuleStopsAJobWorseThanTheMedianOfEarlierRunningAverages()
    {
        List<IReadOnlyList<double>> earlier = [new[] { 1.0, 0.8, 0.6 }, new[] { 0.9, 0.7, 0.5 }, new[] { 1.2, 1.0, 0.9 }];
        // Running averages at epoch 2: 0.9, 0.8, 1.1; median 0.9.
        Assert.True(MedianStoppingRule.ShouldStop([1.0, 0.95], earlier));
        Assert.False(MedianStoppingRule.ShouldStop([1.0, 0.85], earlier));
        Assert.False(MedianStoppingRule.ShouldStop([5, 5], earlier.Take(2)), "two earlier jobs are too few");
        Assert.False(MedianStoppingRule.ShouldStop([5, 5, 5, 5], earlier), "no earlier job reached epoch 4");
    }

    [Fact]
    public void HyperbandHasBracketsOfRungsAndStopsTrialsBehindAtARung()
    {
        var hyperband = new Hyperband(1, 27);
        Assert.Equal(4, hyperband.Brackets);
        Assert.Equal(new[] { 1, 3, 9 }, hyperband.Rungs(0));
        Assert.Equal(new[] { 9 }, hyperband.Rungs(2));
        Assert.Empty(hyperband.Rungs(3));
        Assert.Equal(new[] { 0, 1, 2, 3, 0 }, Enumerable.Range(0, 5).Select(hyperband.BracketOf));

        List<IReadOnlyList<double>> earlier = [new[] { 0.5, 0.4, 0.3 }, new[] { 0.9, 0.8, 0.7 }];
        Assert.False(hyperband.ShouldStop(0, [0.7, 0.6], []), "the first at a rung goes on");
        Assert.True(hyperband.ShouldStop(0, [0.7, 0.6, 0.5], earlier), "behind the best third at rung 3");
        Assert.False(hyperband.ShouldStop(0, [0.7, 0.4, 0.35], earlier));
        Assert.False(hyperband.ShouldStop(3, [2, 2, 2, 2, 2], earlier), "the last bracket has no rung");
        Assert.True(hyperband.ShouldStop(3, [.. Enumerable.Repeat(0.1, 27)], earlier), "a trial that had its MaxResource stops");
    }
}
