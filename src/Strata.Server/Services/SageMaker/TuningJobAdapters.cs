using Strata.Server.Jobs.Training;
using Strata.Server.Jobs.Tuning;
using Strata.Server.Storage;

namespace Strata.Server.Services.SageMaker;

/// <summary>
/// A tuning job's trials as SageMaker training jobs: each is made the way CreateTrainingJob makes
/// one (<see cref="SageMakerService.LaunchTrainingJob"/>), from the tuning job's checked definition
/// with the trial's name and ARN, the tuned hyperparameters over the static ones, the tuning job's
/// ARN and its tags (as AWS tags the training jobs of a tuning job). A trial's intermediate objective
/// is read from its log in CloudWatch Logs (<c>/aws/sagemaker/TrainingJobs</c>, the latest run's
/// stream) with the job's metric definition, as AWS's early stopping reads the metrics the job emits.
/// </summary>
public sealed class TuningTrainingJobs(TrainingJobStore jobs, TrainingJobRunner runner, SageMakerStore tags, LogStore logs, string region) : ITuningTrainingJobs
{
    /// <summary>Where a series was read up to: the stream and the last event read.</summary>
    sealed record Position(string Stream, LogCursor? Cursor);

    public bool Launch(string account, TuningJob job, TuningTrial trial)
    {
        var template = job.Template;
        var trainingJob = template with
        {
            Name = trial.TrainingJobName,
            Arn = $"arn:aws:sagemaker:{region}:{account}:training-job/{trial.TrainingJobName.ToLowerInvariant()}",
            HyperParameters = new Dictionary<string, string>(template.HyperParameters.Concat(trial.TunedHyperParameters)),
            TuningJobArn = job.Arn,
            CreationTime = trial.CreationTime,
        };
        try
        {
            SageMakerService.LaunchTrainingJob(jobs, runner, account, trainingJob, tags.GetTags(job.Arn));
            return true;
        }
        catch (TrainingJobAlreadyExists) { return false; }
    }

    public TrainingJobRecord? Get(string account, string name) => jobs.Get(account, name);

    public void Stop(string account, string name) => runner.Stop(account, name);

    public void ReadMetric(string account, TrainingJob job, string metricName, MetricSeries series)
    {
        if (BuiltInAlgorithms.MetricsOf(job).FirstOrDefault(d => d.Name == metricName) is not { } definition) return;
        if (logs.GetGroup(account, TrainingJobRunner.LogGroup) is not { } group) return;
        // A job restarted after the server's death writes a new stream, and starts its epochs again.
        if (logs.StreamsOf(group.Id, null, job.Name + "/algo-1-").MaxBy(s => (s.CreationTime, s.Name)) is not { } stream) return;
        var position = series.Position as Position;
        if (position is null || position.Stream != stream.Name)
        {
            series.Values.Clear();
            position = new Position(stream.Name, null);
        }
        var (_, pattern) = BuiltInAlgorithms.Compile([definition])[0];
        const int Page = 1000;
        while (true)
        {
            var events = logs.ReadStream(stream, null, null, position.Cursor, forward: true, Page);
            foreach (var e in events)
                if (BuiltInAlgorithms.ValueIn(pattern, e.Message) is { } value) series.Values.Add(value);
            if (events.Count > 0) position = position with { Cursor = new LogCursor(events[^1].Timestamp, events[^1].Id) };
            if (events.Count < Page) break;
        }
        series.Position = position;
    }
}
