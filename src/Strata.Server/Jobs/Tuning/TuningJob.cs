using System.Text.Json.Serialization;
using Strata.Server.Jobs.Training;

namespace Strata.Server.Jobs.Tuning;

// What the tuner needs from the service that owns tuning jobs (SageMaker): the jobs, kept as these
// records, and its training jobs (ITuningTrainingJobs), which are SageMaker training jobs like any
// other. The tuner knows no SageMaker wire shape.

/// <summary>A hyperparameter tuning job as it was asked for; it does not change once created.</summary>
public sealed record TuningJob
{
    public required string Name { get; init; }
    public required string Arn { get; init; }
    /// <summary>Bayesian, Random, Grid or Hyperband.</summary>
    public required string Strategy { get; init; }
    /// <summary>Minimize or Maximize.</summary>
    public required string ObjectiveType { get; init; }
    public required string ObjectiveMetric { get; init; }
    /// <summary>MaxNumberOfTrainingJobs as asked (a grid may leave it out).</summary>
    public int? MaxNumberOfTrainingJobs { get; init; }
    /// <summary>How many configurations the job tries: MaxNumberOfTrainingJobs, or a grid's size.</summary>
    public required int Budget { get; init; }
    public required int MaxParallelTrainingJobs { get; init; }
    public int? MaxRuntimeInSeconds { get; init; }
    public required List<TunedParameter> Parameters { get; init; }
    /// <summary>TrainingJobEarlyStoppingType: Off or Auto.</summary>
    public string EarlyStopping { get; init; } = "Off";
    public float? TargetObjectiveMetricValue { get; init; }
    public int? MaxNumberOfTrainingJobsNotImproving { get; init; }
    public string? CompleteOnConvergence { get; init; }
    /// <summary>HyperbandStrategyConfig as asked.</summary>
    public int? MinResource { get; init; }
    public int? MaxResource { get; init; }
    /// <summary>Hyperband's resources in effect (MaxResource inferred from the epochs when not given).</summary>
    public Hyperband? Hyperband { get; init; }
    /// <summary>RandomSeed as asked.</summary>
    public int? RandomSeed { get; init; }
    /// <summary>The seed the search uses (RandomSeed, else one drawn at creation and kept, so that a
    /// restarted job goes on with the same sequence).</summary>
    public required int Seed { get; init; }
    public string? DefinitionName { get; init; }
    /// <summary>The training jobs' definition, checked as CreateTrainingJob checks a request: each
    /// trial is this job with its own name, ARN and tuned hyperparameters (its HyperParameters are
    /// the static ones).</summary>
    public required TrainingJob Template { get; init; }
    public required DateTimeOffset CreationTime { get; init; }

    public bool Minimize => ObjectiveType == "Minimize";

    /// <summary>An objective value as a loss (lower is better).</summary>
    public double Loss(double objective) => Minimize ? objective : -objective;
}

/// <summary>A training job the tuning job launched: which configuration it tries, with what values.</summary>
public sealed record TuningTrial
{
    /// <summary>The training job's number in the tuning job (from 1): {tuning job}-{number:000}-{8 hex}.</summary>
    public required int Number { get; init; }
    public required string TrainingJobName { get; init; }
    /// <summary>Which configuration (from 0, in the order the strategy proposed them): a trial
    /// retried after an internal error tries the same one again.</summary>
    public required int Configuration { get; init; }
    public required Dictionary<string, string> TunedHyperParameters { get; init; }
    /// <summary>The configuration as a point of the search space.</summary>
    public required double[] Point { get; init; }
    public int? Bracket { get; init; }
    public required DateTimeOffset CreationTime { get; init; }
    /// <summary>Why the tuner stopped it, when it did: "EarlyStopping" (the median rule),
    /// "Hyperband", or "TuningJob" (the tuning job stopped or ran out of time).</summary>
    public string? StoppedBy { get; init; }
}

/// <summary>Where a tuning job stands: InProgress, Stopping, Completed, Failed or Stopped.</summary>
public sealed record TuningJobState
{
    public string Status { get; init; } = "InProgress";
    public string? FailureReason { get; init; }
    public required DateTimeOffset LastModifiedTime { get; init; }
    public DateTimeOffset? EndTime { get; init; }
    public List<TuningTrial> Trials { get; init; } = [];

    public bool IsTerminal => Status is "Completed" or "Failed" or "Stopped";
}

public sealed record TuningJobRecord(TuningJob Job, TuningJobState State);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TuningJobRecord))]
public sealed partial class TuningJson : JsonSerializerContext;

/// <summary>The tuning jobs, kept by the service that owns them.</summary>
public interface ITuningJobs : IJobRecords<TuningJobRecord, TuningJobState>;

/// <summary>The training jobs a tuning job launches, as the service that owns training jobs makes
/// and keeps them.</summary>
public interface ITuningTrainingJobs
{
    /// <summary>Creates and starts the training job of a trial (CreateTrainingJob's record and run);
    /// false when it exists already (a launch the server's death interrupted after the create).</summary>
    bool Launch(string account, TuningJob job, TuningTrial trial);

    TrainingJobRecord? Get(string account, string name);

    /// <summary>StopTrainingJob.</summary>
    void Stop(string account, string name);

    /// <summary>Appends to <paramref name="series"/> the values of <paramref name="metricName"/> that
    /// the job has reported since the series was last read (the latest run's, in order).</summary>
    void ReadMetric(string account, TrainingJob job, string metricName, MetricSeries series);
}

/// <summary>The values of a metric a training job reported, in order, and where reading stopped.</summary>
public sealed class MetricSeries
{
    public List<double> Values { get; } = [];
    /// <summary>The reader's own position (opaque to the tuner).</summary>
    public object? Position { get; set; }
    /// <summary>Read after the job ended: nothing more will come.</summary>
    public bool Complete { get; set; }
}
