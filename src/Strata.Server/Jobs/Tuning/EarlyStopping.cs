using System.Text.Json.Serialization;

namespace Strata.Server.Jobs.Tuning;

// Which running training jobs a tuning job stops before they end, from the objective metric's
// values each job has reported so far, in order (its epochs, XGBoost's rounds): value i is the
// job's objective after i + 1 epochs. Values here are losses: lower is better.

/// <summary>
/// TrainingJobEarlyStoppingType Auto, as the SageMaker developer guide describes it: after each
/// epoch, the running averages of the objective up to that epoch of the earlier training jobs are
/// taken, and a job whose objective at that epoch is worse than their median is stopped. The
/// earlier jobs are those that have ended (SageMaker: "previously completed training jobs") and
/// reported at least that many epochs; the rule waits for <see cref="MinimumEarlierJobs"/> of them,
/// since a median of fewer says little (AWS does not say how many it waits for).
/// </summary>
public static class MedianStoppingRule
{
    public const int MinimumEarlierJobs = 3;

    /// <summary>Whether a job whose objective so far is <paramref name="own"/> should stop now, its
    /// latest epoch compared with the jobs that ended before (<paramref name="earlier"/>).</summary>
    public static bool ShouldStop(IReadOnlyList<double> own, IEnumerable<IReadOnlyList<double>> earlier)
    {
        var epochs = own.Count;
        if (epochs == 0) return false;
        var averages = earlier.Where(e => e.Count >= epochs).Select(e => e.Take(epochs).Average()).ToList();
        if (averages.Count < MinimumEarlierJobs) return false;
        return own[epochs - 1] > Median(averages);
    }

    public static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}

/// <summary>
/// Hyperband (Li et al., 2018) as SageMaker runs it: every training job is launched with its full
/// resource (its epochs), and the tuning job stops those that fall behind from their intermediate
/// objective, as successive halving in brackets. Trials take brackets in turn (trial i is in bracket
/// i mod <see cref="Brackets"/>); bracket s compares its trials at the rungs MinResource·3^k for
/// k ≥ s below MaxResource, so bracket 0 stops early and often and the last bracket lets every trial
/// run to MaxResource. Asynchronously, as the trials of a tuning job run in parallel (the ASHA
/// form): a trial that reaches a rung goes on only if its objective there is within the best third
/// (1/η, η = 3) of the values the bracket's earlier trials had at that rung; the first to reach a
/// rung goes on. A trial that has reported MaxResource epochs is stopped: it has had its resource.
/// </summary>
public sealed record Hyperband(int MinResource, int MaxResource)
{
    public const int Eta = 3;

    /// <summary>AWS's largest MaxResource.</summary>
    public const int MaxResourceLimit = 20_000;

    /// <summary>The keys of StaticHyperParameters AWS infers MaxResource from, in order.</summary>
    public static readonly string[] EpochKeys = ["epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs"];

    /// <summary>s_max + 1, s_max = ⌊log_η(MaxResource / MinResource)⌋.</summary>
    [JsonIgnore]
    public int Brackets
    {
        get
        {
            var brackets = 1;
            for (var r = (long)MinResource * Eta; r <= MaxResource; r *= Eta) brackets++;
            return brackets;
        }
    }

    public int BracketOf(int trialIndex) => trialIndex % Brackets;

    /// <summary>The resources (epochs) at which a bracket's trials are compared.</summary>
    public IReadOnlyList<int> Rungs(int bracket)
    {
        var rungs = new List<int>();
        var r = (long)MinResource;
        for (var k = 0; r < MaxResource; k++, r *= Eta)
            if (k >= bracket) rungs.Add((int)r);
        return rungs;
    }

    /// <summary>Whether a trial of <paramref name="bracket"/> whose objective so far is
    /// <paramref name="own"/> should stop, against the same bracket's earlier trials.</summary>
    public bool ShouldStop(int bracket, IReadOnlyList<double> own, IEnumerable<IReadOnlyList<double>> earlier)
    {
        if (own.Count >= MaxResource) return true;
        var reached = Rungs(bracket).Where(r => own.Count >= r).ToList();
        if (reached.Count == 0) return false;
        var rung = reached[^1];
        var others = earlier.Where(e => e.Count >= rung).Select(e => e[rung - 1]).ToList();
        if (others.Count == 0) return false;
        return own[rung - 1] > Quantile(others, 1.0 / Eta);
    }

    /// <summary>The q-quantile of values, interpolated linearly between order statistics.</summary>
    public static double Quantile(List<double> values, double q)
    {
        var sorted = values.Order().ToList();
        var position = q * (sorted.Count - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Count - 1);
        return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
    }
}
