using Strata.Server.Jobs.Training;

namespace Strata.Server.Jobs.Tuning;

/// <summary>A trial with its training job as it is now (null: not created yet), the status of its
/// objective (Pending, Succeeded, Failed) and its final objective value.</summary>
public sealed record TrialOutcome(TuningTrial Trial, TrainingJobRecord? Record, string ObjectiveStatus, double? Objective)
{
    public bool IsRunning => Record is null || !Record.State.IsTerminal;
}

/// <summary>
/// Where a tuning job's trials stand, read from their training jobs (the one source of truth for a
/// trial's status and metrics): DescribeHyperParameterTuningJob's TrainingJobStatusCounters and
/// ObjectiveStatusCounters, the best training job, and how many trials have come since the best
/// improved. A trial's objective is the last value of the objective metric its training job
/// reported (FinalMetricDataList); a job that completed or was stopped with one has a Succeeded
/// objective and can be the best, one that failed or reported none has a Failed one. A failure is
/// retryable when it was Strata's (an InternalServerError, such as a server restart under a job
/// without checkpoints), as AWS's RetryableError counts failures of the service.
/// </summary>
public sealed class TuningProgress
{
    public required IReadOnlyList<TrialOutcome> Trials { get; init; }
    public int Completed { get; init; }
    public int InProgress { get; init; }
    public int RetryableError { get; init; }
    public int NonRetryableError { get; init; }
    public int Stopped { get; init; }
    public int Succeeded { get; init; }
    public int Pending { get; init; }
    public int Failed { get; init; }
    public TrialOutcome? Best { get; init; }
    /// <summary>Trials with an objective since the last one that improved on every trial before it.</summary>
    public int NotImproving { get; init; }

    public static TuningProgress Of(TuningJob job, TuningJobState state, Func<string, TrainingJobRecord?> trainingJob)
    {
        var outcomes = state.Trials.OrderBy(t => t.Number).Select(t => Outcome(job, t, trainingJob(t.TrainingJobName))).ToList();
        int completed = 0, inProgress = 0, retryable = 0, nonRetryable = 0, stopped = 0;
        foreach (var o in outcomes)
        {
            switch (o.Record?.State.Status)
            {
                case null or "InProgress" or "Stopping": inProgress++; break;
                case "Completed": completed++; break;
                case "Stopped": stopped++; break;
                default:
                    if (IsRetryable(o.Record.State)) retryable++;
                    else nonRetryable++;
                    break;
            }
        }
        TrialOutcome? best = null;
        var notImproving = 0;
        foreach (var o in outcomes.Where(o => o.Objective is not null))
        {
            if (best is null || job.Loss(o.Objective!.Value) < job.Loss(best.Objective!.Value)) (best, notImproving) = (o, 0);
            else notImproving++;
        }
        return new TuningProgress
        {
            Trials = outcomes,
            Completed = completed,
            InProgress = inProgress,
            RetryableError = retryable,
            NonRetryableError = nonRetryable,
            Stopped = stopped,
            Succeeded = outcomes.Count(o => o.ObjectiveStatus == "Succeeded"),
            Pending = outcomes.Count(o => o.ObjectiveStatus == "Pending"),
            Failed = outcomes.Count(o => o.ObjectiveStatus == "Failed"),
            Best = best,
            NotImproving = notImproving,
        };
    }

    static TrialOutcome Outcome(TuningJob job, TuningTrial trial, TrainingJobRecord? record)
    {
        if (record is null || !record.State.IsTerminal) return new TrialOutcome(trial, record, "Pending", null);
        var objective = record.State.Status is "Completed" or "Stopped" ? FinalObjective(record, job.ObjectiveMetric) : null;
        return new TrialOutcome(trial, record, objective is null ? "Failed" : "Succeeded", objective);
    }

    /// <summary>The last value of a metric in a training job's FinalMetricDataList.</summary>
    public static double? FinalObjective(TrainingJobRecord record, string metric)
        => record.State.FinalMetrics.LastOrDefault(m => m.MetricName == metric)?.Value;

    /// <summary>A failure of Strata's rather than of the job's: worth another try.</summary>
    public static bool IsRetryable(TrainingJobState state)
        => state.Status == "Failed" && state.FailureReason?.StartsWith("InternalServerError", StringComparison.Ordinal) == true;
}
