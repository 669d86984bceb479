using System.Diagnostics;
using System.Globalization;
using Strata.Server.Jobs.Tuning;

/// <summary>
/// Bayesian search against random search, the baseline, with the same budget of trials, on standard
/// test functions of global optimization: Branin (2 dimensions, minimum 0.397887) and Hartmann-6
/// (6 dimensions, minimum −3.32237). Each seed runs both strategies through the tuner's own code
/// (<see cref="SearchStrategy"/>, one trial at a time; the hyperparameters go through their strings,
/// as a training job gets them) and keeps the best value found; the report is the mean over the
/// seeds, the mean regret (best found minus the minimum), the ratio of the regrets and on how many
/// seeds Bayesian found the better point. Not a BenchmarkDotNet class, so it stays out of the
/// default set:
///   dotnet run -c Release --project bench/Strata.Bench -- tuning [seeds]
/// </summary>
public static class TuningBenchmarks
{
    sealed record Problem(string Name, List<TunedParameter> Ranges, Func<double[], double> Function, double Minimum, int Budget);

    static TunedParameter Range(string name, double min, double max) => new()
    {
        Name = name,
        Kind = TunedParameter.Continuous,
        MinValue = min.ToString(CultureInfo.InvariantCulture),
        MaxValue = max.ToString(CultureInfo.InvariantCulture),
        ScalingType = "Linear",
    };

    static double Branin(double[] x)
    {
        const double b = 5.1 / (4 * Math.PI * Math.PI), c = 5 / Math.PI, t = 1 / (8 * Math.PI);
        return Math.Pow(x[1] - b * x[0] * x[0] + c * x[0] - 6, 2) + 10 * (1 - t) * Math.Cos(x[0]) + 10;
    }

    static readonly double[] HartmannAlpha = [1.0, 1.2, 3.0, 3.2];
    static readonly double[,] HartmannA =
    {
        { 10, 3, 17, 3.5, 1.7, 8 }, { 0.05, 10, 17, 0.1, 8, 14 }, { 3, 3.5, 1.7, 10, 17, 8 }, { 17, 8, 0.05, 10, 0.1, 14 },
    };
    static readonly double[,] HartmannP =
    {
        { 0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886 }, { 0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991 },
        { 0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650 }, { 0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381 },
    };

    static double Hartmann6(double[] x)
    {
        double sum = 0;
        for (var i = 0; i < 4; i++)
        {
            double inner = 0;
            for (var j = 0; j < 6; j++) inner += HartmannA[i, j] * Math.Pow(x[j] - HartmannP[i, j], 2);
            sum += HartmannAlpha[i] * Math.Exp(-inner);
        }
        return -sum;
    }

    public static void Run(int seeds)
    {
        Problem[] problems =
        [
            new("Branin", [Range("x1", -5, 10), Range("x2", 0, 15)], Branin, 0.397887, 30),
            new("Hartmann-6", [.. Enumerable.Range(1, 6).Select(i => Range($"x{i}", 0, 1))], Hartmann6, -3.32237, 50),
        ];
        Console.WriteLine($"Bayesian vs Random search, the same budget, {seeds} seeds each; {Environment.ProcessorCount} cores");
        foreach (var problem in problems)
        {
            var random = new List<double>();
            var bayesian = new List<double>();
            var clock = Stopwatch.StartNew();
            for (var seed = 1; seed <= seeds; seed++) random.Add(BestFound(problem, "Random", seed));
            var randomSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            for (var seed = 1; seed <= seeds; seed++) bayesian.Add(BestFound(problem, "Bayesian", seed));
            var bayesianSeconds = clock.Elapsed.TotalSeconds;
            var (randomRegret, bayesianRegret) = (random.Average() - problem.Minimum, bayesian.Average() - problem.Minimum);
            var wins = bayesian.Zip(random).Count(p => p.First < p.Second);
            Console.WriteLine($"{problem.Name} ({problem.Ranges.Count} dimensions, minimum {problem.Minimum}), {problem.Budget} trials:");
            Console.WriteLine($"  Random   mean best {random.Average():F4} (median {Median(random):F4}), mean regret {randomRegret:F4}; {randomSeconds / seeds / problem.Budget * 1000:F2} ms per proposal");
            Console.WriteLine($"  Bayesian mean best {bayesian.Average():F4} (median {Median(bayesian):F4}), mean regret {bayesianRegret:F4}; {bayesianSeconds / seeds / problem.Budget * 1000:F2} ms per proposal");
            Console.WriteLine($"  regret ratio Random/Bayesian {randomRegret / bayesianRegret:F1}x; Bayesian better on {wins} of {seeds} seeds");
        }
    }

    static double BestFound(Problem problem, string strategy, int seed)
    {
        var space = new ParameterSpace(problem.Ranges);
        var search = SearchStrategy.Of(strategy, space);
        var history = new List<Observation>();
        for (var i = 0; i < problem.Budget; i++)
        {
            var point = search.Next(i, history, SearchStrategy.TrialRandom(seed, i))!;
            var values = space.Values(point);
            var x = problem.Ranges.Select(r => double.Parse(values[r.Name], CultureInfo.InvariantCulture)).ToArray();
            history.Add(new Observation(point, problem.Function(x)));
        }
        return history.Min(o => o.Loss!.Value);
    }

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
