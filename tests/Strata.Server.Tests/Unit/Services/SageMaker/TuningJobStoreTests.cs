using Microsoft.Extensions.Time.Testing;
using Strata.Server.Jobs.Training;
using Strata.Server.Jobs.Tuning;
using Strata.Server.Services.SageMaker;
using Strata.Server.Storage;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// Tuning jobs in the state store: a job and its trials read back as written (what a restarted
/// tuner goes on from), one "SageMaker HyperParameter Tuning Job State Change" per change of
/// status with the counters and best training job of that moment, and the training jobs' store
/// telling of each training job that ends, once.
/// </summary>
public sealed class TuningJobStoreTests : IDisposable
{
    const string Account = "111122223333";
    readonly string _dir = Directory.CreateTempSubdirectory("strata-sm-tuning-").FullName;
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    readonly SqliteStateStore _state;
    readonly ServiceEventRecorder _bus = new();
    readonly TrainingJobStore _training;
    readonly TuningJobStore _tuning;

    public TuningJobStoreTests()
    {
        _state = new SqliteStateStore(Path.Combine(_dir, "state.db"));
        _training = new TrainingJobStore(_state) { Events = _bus };
        _tuning = new TuningJobStore(_state, _training) { Events = _bus };
    }

    public void Dispose()
    {
        _state.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    TrainingJob Template(string name) => new()
    {
        Name = name,
        Arn = $"arn:aws:sagemaker:us-east-1:{Account}:training-job/{name}",
        RoleArn = $"arn:aws:iam::{Account}:role/r",
        Image = "trainer:1",
        OutputPath = "s3://b/out",
        InstanceType = "ml.m5.large",
        HyperParameters = new() { ["_tuning_objective_metric"] = "validation:auc" },
        CreationTime = _clock.GetUtcNow(),
    };

    [Fact]
    public void AJobAndItsTrialsReadBackAndEachChangeOfStatusIsAnEvent()
    {
        var job = new TuningJob
        {
            Name = "tune",
            Arn = $"arn:aws:sagemaker:us-east-1:{Account}:hyper-parameter-tuning-job/tune",
            Strategy = "Bayesian",
            ObjectiveType = "Maximize",
            ObjectiveMetric = "validation:auc",
            Budget = 4,
            MaxParallelTrainingJobs = 2,
            Parameters = [new TunedParameter { Name = "eta", Kind = TunedParameter.Continuous, MinValue = "0.1", MaxValue = "0.5" }],
            Hyperband = new Hyperband(1, 9),
            Seed = 3,
            Template = Template("tune"),
            CreationTime = _clock.GetUtcNow(),
        };
        Assert.True(_tuning.Create(Account, new TuningJobRecord(job, new TuningJobState { LastModifiedTime = _clock.GetUtcNow() }), [new TagRow("team", "ml")]));
        Assert.False(_tuning.Create(Account, new TuningJobRecord(job, new TuningJobState { LastModifiedTime = _clock.GetUtcNow() }), []));

        var trial = new TuningTrial
        {
            Number = 1,
            TrainingJobName = "tune-001-0a1b2c3d",
            Configuration = 0,
            TunedHyperParameters = new() { ["eta"] = "0.25" },
            Point = [0.375],
            Bracket = 0,
            CreationTime = _clock.GetUtcNow(),
        };
        _tuning.Update(Account, "tune", s => s with { Trials = [trial] });
        var ended = new List<string>();
        _training.Ended = (_, record) => ended.Add(record.Job.Name);
        var trainingJob = Template(trial.TrainingJobName) with { TuningJobArn = job.Arn };
        Assert.True(_training.Create(Account, new TrainingJobRecord(trainingJob, new TrainingJobState { LastModifiedTime = _clock.GetUtcNow() }), []));
        _training.Update(Account, trial.TrainingJobName, s => s with { SecondaryStatus = "Training" });
        _training.Update(Account, trial.TrainingJobName, s => s with
        {
            Status = "Completed",
            SecondaryStatus = "Completed",
            FinalMetrics = [new TrainingMetric("validation:auc", 0.875, _clock.GetUtcNow())],
        });
        _training.Update(Account, trial.TrainingJobName, s => s with { TrainingTimeInSeconds = 3 });
        Assert.Equal(new[] { trial.TrainingJobName }, ended);

        var read = _tuning.Get(Account, "tune")!;
        Assert.Equal((job.Hyperband, job.Seed, "0.25", 0.375), (read.Job.Hyperband, read.Job.Seed, read.State.Trials[0].TunedHyperParameters["eta"], read.State.Trials[0].Point[0]));
        Assert.Equal(job.Template.HyperParameters, read.Job.Template.HyperParameters);

        _clock.Advance(TimeSpan.FromMinutes(1));
        _tuning.Update(Account, "tune", s => s with { Status = "Completed", EndTime = _clock.GetUtcNow(), LastModifiedTime = _clock.GetUtcNow() });
        var events = _bus.OfType(SageMakerEvents.TuningJobStateChangeType);
        Assert.Equal(new[] { "InProgress", "Completed" }, events.Select(e => e.Detail["HyperParameterTuningJobStatus"]!.GetValue<string>()));
        var last = events[^1];
        Assert.Equal((SageMakerEvents.Source, job.Arn), (last.Source, last.Resources.Single()));
        Assert.Equal(1, last.Detail["TrainingJobStatusCounters"]!["Completed"]!.GetValue<int>());
        Assert.Equal(1, last.Detail["ObjectiveStatusCounters"]!["Succeeded"]!.GetValue<int>());
        Assert.Equal(trial.TrainingJobName, last.Detail["BestTrainingJob"]!["TrainingJobName"]!.GetValue<string>());
        Assert.Equal(0.875, last.Detail["BestTrainingJob"]!["FinalHyperParameterTuningJobObjectiveMetric"]!["Value"]!.GetValue<double>());
        Assert.Equal("ml", last.Detail["Tags"]!["team"]!.GetValue<string>());
        Assert.Equal(_clock.GetUtcNow().ToUnixTimeMilliseconds(), last.Detail["HyperParameterTuningEndTime"]!.GetValue<long>());
        Assert.Equal(job.Arn, _bus.OfType(SageMakerEvents.TrainingJobStateChangeType)[0].Detail["TuningJobArn"]!.GetValue<string>());

        Assert.NotNull(_tuning.Delete(Account, "tune"));
        Assert.Null(_tuning.Get(Account, "tune"));
        Assert.Null(_tuning.Delete(Account, "tune"));
    }
}
