using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Strata.Server.Jobs.Training;
using Strata.Server.Jobs.Tuning;

namespace Strata.Server.Tests.Unit;

/// <summary>
/// The tuner's decisions, step by step, on a fake clock, with training jobs that end when the test
/// says and report what it says: how many run at once, their names, completion, retries of
/// Strata's failures, giving up, the target value, a stop (one that comes while a step launches
/// too), a restart between writing a trial and creating its training job, MaxRuntimeInSeconds, and
/// early stopping (the median rule and Hyperband) from the intermediate objective.
/// </summary>
public sealed class HyperParameterTunerTests
{
    const string Account = "111122223333";
    readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    readonly FakeTuningJobs _jobs = new();
    readonly FakeTrainingJobs _training;
    readonly HyperParameterTuner _tuner;

    public HyperParameterTunerTests()
    {
        _training = new FakeTrainingJobs(_clock);
        _tuner = new HyperParameterTuner(_jobs, _training, _clock, NullLogger<HyperParameterTuner>.Instance);
    }

    TuningJob Create(string strategy = "Random", int budget = 5, int parallel = 2, string objectiveType = "Minimize", Func<TuningJob, TuningJob>? change = null,
        List<TunedParameter>? parameters = null)
    {
        var job = new TuningJob
        {
            Name = "tune",
            Arn = $"arn:aws:sagemaker:us-east-1:{Account}:hyper-parameter-tuning-job/tune",
            Strategy = strategy,
            ObjectiveType = objectiveType,
            ObjectiveMetric = "validation:loss",
            Budget = budget,
            MaxNumberOfTrainingJobs = budget,
            MaxParallelTrainingJobs = parallel,
            Parameters = parameters ?? [new TunedParameter { Name = "x", Kind = TunedParameter.Continuous, MinValue = "0", MaxValue = "1", ScalingType = "Linear" }],
            Seed = 7,
            Template = new TrainingJob
            {
                Name = "tune",
                Arn = "template",
                RoleArn = $"arn:aws:iam::{Account}:role/r",
                Image = "trainer:1",
                OutputPath = "s3://b/out",
                InstanceType = "ml.m5.large",
                HyperParameters = new() { ["epochs"] = "10", ["_tuning_objective_metric"] = "validation:loss" },
                CreationTime = _clock.GetUtcNow(),
            },
            CreationTime = _clock.GetUtcNow(),
        };
        job = change?.Invoke(job) ?? job;
        _jobs.Put(Account, new TuningJobRecord(job, new TuningJobState { LastModifiedTime = _clock.GetUtcNow() }));
        return job;
    }

    TuningJobState State => _jobs.Get(Account, "tune")!.State;

    TimeSpan? Step() => _tuner.Step(Account, "tune");

    List<string> Running => [.. _training.Records.Values.Where(r => !r.State.IsTerminal).Select(r => r.Job.Name).Order(StringComparer.Ordinal)];

    static double X(TuningTrial t) => double.Parse(t.TunedHyperParameters["x"], CultureInfo.InvariantCulture);

    /// <summary>Ends every running training job with the loss (x − 0.3)².</summary>
    void FinishRunning()
    {
        foreach (var name in Running)
        {
            var trial = State.Trials.Single(t => t.TrainingJobName == name);
            _training.End(name, "Completed", Math.Pow(X(trial) - 0.3, 2));
        }
    }

    [Fact]
    public void ARandomSearchRunsItsBudgetTwoAtATimeAndCompletes()
    {
        Create();
        Step();
        Assert.Equal(2, Running.Count);
        Assert.All(State.Trials, t => Assert.Matches(@"^tune-00[12]-[0-9a-f]{8}$", t.TrainingJobName));
        Assert.All(_training.Records.Values, r => Assert.Equal("10", r.Job.HyperParameters["epochs"]));
        for (var round = 0; round < 3; round++)
        {
            FinishRunning();
            Step();
        }
        Assert.Equal(5, State.Trials.Count);
        Assert.Equal("Completed", State.Status);
        Assert.Equal(Enumerable.Range(1, 5), State.Trials.Select(t => t.Number));
        var progress = TuningProgress.Of(_jobs.Get(Account, "tune")!.Job, State, n => _training.Get(Account, n));
        Assert.Equal((5, 0, 5), (progress.Completed, progress.InProgress, progress.Succeeded));
        Assert.Equal(progress.Trials.Min(o => o.Objective), progress.Best!.Objective);
        Assert.Null(Step());
    }

    [Fact]
    public void ATrialThatFailedByStrataIsTriedAgainWithTheSameConfiguration()
    {
        Create(budget: 1, parallel: 1);
        Step();
        var first = State.Trials.Single();
        _training.End(first.TrainingJobName, "Failed", null, "InternalServerError: the Strata server restarted while the job was training");
        Step();
        var again = State.Trials.Last();
        Assert.Equal((2, first.Configuration, first.TunedHyperParameters["x"]), (again.Number, again.Configuration, again.TunedHyperParameters["x"]));
        FinishRunning();
        Step();
        Assert.Equal("Completed", State.Status);
        var progress = TuningProgress.Of(_jobs.Get(Account, "tune")!.Job, State, n => _training.Get(Account, n));
        Assert.Equal((1, 1, 0), (progress.Completed, progress.RetryableError, progress.NonRetryableError));
    }

    [Fact]
    public void ATuningJobWhoseFirstTrialsAllFailFails()
    {
        Create(budget: 10, parallel: 5);
        Step();
        foreach (var name in Running) _training.End(name, "Failed", null, "ClientError: the label column holds 'cat'");
        Step();
        Assert.Equal("Failed", State.Status);
        Assert.Equal("No training job succeeded after 5 attempts. Please take a look at the training job failures to get more details.", State.FailureReason);
        Assert.Equal(5, State.Trials.Count);
    }

    [Fact]
    public void ReachingTheTargetStopsLaunchingAndCompletes()
    {
        Create(budget: 10, parallel: 1, objectiveType: "Maximize", change: j => j with { TargetObjectiveMetricValue = 0.9f });
        Step();
        _training.End(Running.Single(), "Completed", 0.95);
        Step();
        Assert.Equal("Completed", State.Status);
        Assert.Single(State.Trials);
    }

    [Fact]
    public void StoppingStopsTheRunningTrialsThenTheJob()
    {
        Create();
        Step();
        Assert.True(_tuner.Stop(Account, "tune"));
        Step();
        Assert.Equal("Stopping", State.Status);
        Assert.Equal(2, _training.StopsAsked.Count);
        Assert.All(State.Trials, t => Assert.Equal("TuningJob", t.StoppedBy));
        foreach (var name in Running) _training.End(name, "Stopped", 0.5);
        Assert.Null(Step());
        Assert.Equal("Stopped", State.Status);
        Assert.False(_tuner.Stop(Account, "tune"));
    }

    [Fact]
    public void ATrialWrittenButNeverCreatedIsCreatedOnTheNextStep()
    {
        Create(budget: 1, parallel: 1);
        // As if the server died after writing the trial and before creating its training job.
        _jobs.Update(Account, "tune", s => s with
        {
            Trials = [new TuningTrial { Number = 1, TrainingJobName = "tune-001-0a1b2c3d", Configuration = 0, TunedHyperParameters = new() { ["x"] = "0.5" }, Point = [0.5], CreationTime = _clock.GetUtcNow() }],
        });
        Step();
        Assert.Equal(new[] { "tune-001-0a1b2c3d" }, Running);
        Assert.Equal("0.5", _training.Get(Account, "tune-001-0a1b2c3d")!.Job.HyperParameters["x"]);
        Assert.Single(State.Trials);
    }

    [Fact]
    public void AStopBetweenAStepsReadingAndItsLaunchEndsTheJobStopped()
    {
        Create();
        // StopHyperParameterTuningJob right after CreateHyperParameterTuningJob, while the job's
        // first step is launching its first trials.
        _jobs.BeforeNextUpdate = () => Assert.True(_tuner.Stop(Account, "tune"));
        Assert.NotNull(Step());
        Assert.Equal(("Stopping", 0), (State.Status, State.Trials.Count));
        Assert.Null(Step());
        Assert.Equal("Stopped", State.Status);
    }

    [Fact]
    public void MaxRuntimeStopsTheRunningTrialsAndCompletes()
    {
        Create(change: j => j with { MaxRuntimeInSeconds = 600 });
        Assert.Equal(TimeSpan.FromMinutes(1), Step());
        _clock.Advance(TimeSpan.FromSeconds(599));
        Assert.Equal(TimeSpan.FromSeconds(1), Step());
        _clock.Advance(TimeSpan.FromSeconds(1));
        Step();
        Assert.Equal(2, _training.StopsAsked.Count);
        foreach (var name in Running) _training.End(name, "Stopped", 0.4);
        Step();
        Assert.Equal("Completed", State.Status);
        Assert.Equal(2, State.Trials.Count);
    }

    [Fact]
    public void TheMedianRuleStopsARunningTrialBehindTheCompletedOnes()
    {
        Create(strategy: "Random", budget: 4, parallel: 1, change: j => j with { EarlyStopping = "Auto" });
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HyperParameterTuner.PollInterval, Step());
            var name = Running.Single();
            _training.Report(name, 1.0, 0.8, 0.6);
            _training.End(name, "Completed", 0.6);
        }
        Step();
        var fourth = Running.Single();
        _training.Report(fourth, 0.9);
        Step();
        Assert.Empty(_training.StopsAsked);
        _training.Report(fourth, 0.95);
        Step();
        Assert.Equal(new[] { fourth }, _training.StopsAsked);
        Assert.Equal("EarlyStopping", State.Trials.Last().StoppedBy);
    }

    [Fact]
    public void HyperbandStopsATrialBehindItsBracketAtARungAndOneThatHadItsResource()
    {
        Create(strategy: "Hyperband", budget: 10, parallel: 8, change: j => j with { Hyperband = new Hyperband(1, 9) });
        Step();
        var trials = State.Trials;
        // Brackets of (1, 9): 0, 1, 2, then 0 again; bracket 0 compares at 1 and 3 epochs.
        Assert.Equal(new int?[] { 0, 1, 2, 0, 1, 2, 0, 1 }, trials.Select(t => t.Bracket));
        _training.Report(trials[0].TrainingJobName, 0.5, 0.4, 0.3);
        _training.Report(trials[3].TrainingJobName, 0.6, 0.6, 0.6);
        _training.Report(trials[2].TrainingJobName, [.. Enumerable.Repeat(0.2, 9)]);
        Step();
        Assert.Equal(new[] { trials[2].TrainingJobName, trials[3].TrainingJobName }.Order(StringComparer.Ordinal), _training.StopsAsked.Order(StringComparer.Ordinal));
        Assert.Equal(("Hyperband", "Hyperband"), (State.Trials[2].StoppedBy, State.Trials[3].StoppedBy));
    }

    [Fact]
    public void GridSearchTriesEveryCombinationOnce()
    {
        Create(strategy: "Grid", budget: 3, parallel: 3, parameters: [new TunedParameter { Name = "x", Kind = TunedParameter.Categorical, Values = ["0.1", "0.3", "0.5"] }]);
        Step();
        Assert.Equal(new[] { "0.1", "0.3", "0.5" }, State.Trials.Select(t => t.TunedHyperParameters["x"]));
        FinishRunning();
        Step();
        Assert.Equal(("Completed", 3), (State.Status, State.Trials.Count));
        var progress = TuningProgress.Of(_jobs.Get(Account, "tune")!.Job, State, n => _training.Get(Account, n));
        Assert.Equal("0.3", progress.Best!.Trial.TunedHyperParameters["x"]);
    }

    sealed class FakeTuningJobs : ITuningJobs
    {
        readonly Dictionary<(string, string), TuningJobRecord> _records = [];

        public void Put(string account, TuningJobRecord record)
        {
            lock (_records) _records[(account, record.Job.Name)] = record;
        }

        public IEnumerable<(string Account, TuningJobRecord Record)> All()
        {
            lock (_records) return [.. _records.Select(kv => (kv.Key.Item1, kv.Value))];
        }

        public TuningJobRecord? Get(string account, string name)
        {
            lock (_records) return _records.GetValueOrDefault((account, name));
        }

        /// <summary>Runs once, before the next change is made: what happens between a step's reading
        /// the record and its changing it.</summary>
        public Action? BeforeNextUpdate { get; set; }

        public TuningJobRecord? Update(string account, string name, Func<TuningJobState, TuningJobState> change)
        {
            if (BeforeNextUpdate is { } before)
            {
                BeforeNextUpdate = null;
                before();
            }
            lock (_records)
            {
                if (!_records.TryGetValue((account, name), out var record)) return null;
                return _records[(account, name)] = record with { State = change(record.State) };
            }
        }
    }

    /// <summary>Training jobs that run until the test ends them, reporting what it says.</summary>
    sealed class FakeTrainingJobs(TimeProvider clock) : ITuningTrainingJobs
    {
        public Dictionary<string, TrainingJobRecord> Records { get; } = [];
        public List<string> StopsAsked { get; } = [];
        readonly Dictionary<string, List<double>> _reported = [];

        public bool Launch(string account, TuningJob job, TuningTrial trial)
        {
            if (Records.ContainsKey(trial.TrainingJobName)) return false;
            var trainingJob = job.Template with
            {
                Name = trial.TrainingJobName,
                Arn = "arn:" + trial.TrainingJobName,
                HyperParameters = new Dictionary<string, string>(job.Template.HyperParameters.Concat(trial.TunedHyperParameters)),
                TuningJobArn = job.Arn,
            };
            Records[trial.TrainingJobName] = new TrainingJobRecord(trainingJob, new TrainingJobState { LastModifiedTime = clock.GetUtcNow() });
            return true;
        }

        public TrainingJobRecord? Get(string account, string name) => Records.GetValueOrDefault(name);

        public void Stop(string account, string name) => StopsAsked.Add(name);

        public void Report(string name, params double[] values)
        {
            if (!_reported.TryGetValue(name, out var list)) _reported[name] = list = [];
            list.AddRange(values);
        }

        public void ReadMetric(string account, TrainingJob job, string metricName, MetricSeries series)
        {
            var all = _reported.GetValueOrDefault(job.Name) ?? [];
            series.Values.AddRange(all.Skip(series.Values.Count));
        }

        public void End(string name, string status, double? objective, string? failureReason = null)
        {
            var now = clock.GetUtcNow();
            Records[name] = Records[name] with
            {
                State = Records[name].State with
                {
                    Status = status,
                    FailureReason = failureReason,
                    TrainingEndTime = now,
                    LastModifiedTime = now,
                    FinalMetrics = objective is { } v ? [new TrainingMetric("validation:loss", v, now)] : [],
                },
            };
        }
    }
}
