using System.Collections.Concurrent;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Jobs.Training;

namespace Strata.Server.Jobs.Tuning;

/// <summary>
/// Runs hyperparameter tuning jobs as SageMaker does: each keeps up to MaxParallelTrainingJobs
/// training jobs running, each a real training job (named {tuning job}-{number:000}-{8 hex}) with
/// the definition's static hyperparameters and the configuration its strategy proposes
/// (<see cref="SearchStrategy"/>), until it has tried MaxNumberOfTrainingJobs configurations (a
/// grid: all of them), and then completes. Before launching, it ends early when the best objective
/// reaches TargetObjectiveMetricValue, when MaxNumberOfTrainingJobsNotImproving trials have not
/// improved on it, or when MaxRuntimeInSeconds has passed (its running training jobs stopped); it
/// fails when its first <see cref="FailedTrialsBeforeGivingUp"/> configurations all failed. A
/// training job that failed by Strata's fault (a retryable error) is tried again as a new training
/// job with the same configuration, up to <see cref="MaxAttempts"/> times. With early stopping
/// (Auto, <see cref="MedianStoppingRule"/>) or Hyperband (<see cref="Hyperband"/>) the running
/// training jobs' intermediate objective is read every <see cref="PollInterval"/> and those that fall
/// behind are stopped (StopTrainingJob).
/// <para>Everything a tuning job decides is kept in its record (the trials, each written before its
/// training job is created), and a trial's status and metrics are its training job's: a restarted
/// server goes on from where the record is (the training runner restores the training jobs
/// themselves). The loop of a job wakes when one of its training jobs ends
/// (<see cref="TrainingJobEnded"/>), when it is stopped, and on the injected clock.</para>
/// </summary>
public sealed class HyperParameterTuner(ITuningJobs jobs, ITuningTrainingJobs training, TimeProvider clock, ILogger<HyperParameterTuner> log)
    : IHostedService, IDisposable
{
    /// <summary>How often running training jobs' intermediate objective is read, for early stopping and Hyperband.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    /// <summary>How often a job looks at its trials with nothing to wake it (in case a wake was lost).</summary>
    static readonly TimeSpan SafetyInterval = TimeSpan.FromMinutes(1);
    /// <summary>A job's log lines reach CloudWatch Logs a moment after it ends: its intermediate
    /// objective is taken as complete once read this long after.</summary>
    static readonly TimeSpan LogSettle = TimeSpan.FromSeconds(5);
    /// <summary>Training jobs a configuration gets when they fail by Strata's fault.</summary>
    public const int MaxAttempts = 3;
    /// <summary>A tuning job whose first configurations all failed, this many, fails.</summary>
    public const int FailedTrialsBeforeGivingUp = 5;

    sealed class Context
    {
        public WakeSignal Wake { get; } = new();
        /// <summary>Each trial's objective so far, by training job name (read from its log).</summary>
        public Dictionary<string, MetricSeries> Series { get; } = new(StringComparer.Ordinal);
        /// <summary>Training jobs already told to stop.</summary>
        public HashSet<string> StopsSent { get; } = new(StringComparer.Ordinal);
        /// <summary>One step of a job at a time.</summary>
        public Lock Gate { get; } = new();
    }

    readonly ConcurrentDictionary<(string Account, string Name), Context> _contexts = new();
    readonly ConcurrentDictionary<(string Account, string Arn), string> _names = new();
    readonly ConcurrentDictionary<(string Account, string Name), bool> _running = new();
    readonly ConcurrentDictionary<Task, bool> _runs = new();
    readonly CancellationTokenSource _shutdown = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var (account, record) in jobs.All())
            if (!record.State.IsTerminal) Start(account, record.Job.Name);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _shutdown.CancelAsync();
        try { await Task.WhenAll(_runs.Keys).WaitAsync(TimeSpan.FromSeconds(10), clock, cancellationToken); }
        catch (TimeoutException) { }
        catch (OperationCanceledException) { }
    }

    public void Dispose() => _shutdown.Dispose();

    /// <summary>Starts (or, after a restart, resumes) a tuning job's loop.</summary>
    public void Start(string account, string name)
    {
        if (jobs.Get(account, name) is { } record) _names[(account, record.Job.Arn)] = name;
        if (!_running.TryAdd((account, name), true)) return;
        var task = Task.Run(async () =>
        {
            try { await RunAsync(account, name); }
            finally { _running.TryRemove((account, name), out _); }
        });
        _runs[task] = true;
        _ = task.ContinueWith(t => _runs.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>StopHyperParameterTuningJob: Stopping now (its training jobs are stopped), Stopped
    /// once they have all ended. False when the job is not in progress.</summary>
    public bool Stop(string account, string name)
    {
        var now = clock.GetUtcNow();
        var stopped = jobs.Update(account, name, s => s.Status == "InProgress" ? s with { Status = "Stopping", LastModifiedTime = now } : s);
        Wake(account, name);
        return stopped?.State.Status == "Stopping";
    }

    /// <summary>Told of every training job that ends (by the training jobs' store): its tuning job,
    /// if it has one, looks at its trials again.</summary>
    public void TrainingJobEnded(string account, TrainingJobRecord record)
    {
        if (record.Job.TuningJobArn is { } arn && _names.TryGetValue((account, arn), out var name)) Wake(account, name);
    }

    void Wake(string account, string name)
    {
        if (_contexts.TryGetValue((account, name), out var context)) context.Wake.Set();
    }

    Context ContextOf(string account, string name) => _contexts.GetOrAdd((account, name), _ => new Context());

    async Task RunAsync(string account, string name)
    {
        var context = ContextOf(account, name);
        var stopping = _shutdown.Token;
        while (!stopping.IsCancellationRequested)
        {
            var armed = context.Wake.Arm();
            TimeSpan? wait;
            try { wait = Step(account, name); }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                log.LogError(e, "hyperparameter tuning job {Job}: a step failed; it is tried again", name);
                wait = SafetyInterval;
            }
            if (wait is null) break;
            try { await WakeSignal.SleepAsync(armed, wait.Value, clock, stopping); }
            catch (OperationCanceledException) { break; }
        }
        if (jobs.Get(account, name) is not { State.IsTerminal: false }) _contexts.TryRemove((account, name), out _);
    }

    /// <summary>Looks at a tuning job's trials once and does what is due: launches the training jobs
    /// it has room for, stops those that early stopping, Hyperband or a stop asks to, and ends the
    /// job when it is done. Returns how long until it should look again unless woken (null: the job
    /// has ended, or is gone).</summary>
    public TimeSpan? Step(string account, string name)
    {
        var context = ContextOf(account, name);
        lock (context.Gate) return StepLocked(account, name, context);
    }

    TimeSpan? StepLocked(string account, string name, Context context)
    {
        var record = jobs.Get(account, name);
        if (record is null || record.State.IsTerminal) return null;
        var job = record.Job;
        var now = clock.GetUtcNow();

        // A trial written but whose training job was never created: the server died between the two.
        foreach (var trial in record.State.Trials)
            if (training.Get(account, trial.TrainingJobName) is null) training.Launch(account, job, trial);
        var progress = TuningProgress.Of(job, record.State, n => training.Get(account, n));

        if (record.State.Status == "Stopping")
        {
            StopRunning(account, name, progress, context, "TuningJob");
            if (progress.Trials.Any(o => o.IsRunning)) return SafetyInterval;
            Finish(account, name, "Stopping", "Stopped", null);
            return null;
        }

        var wait = SafetyInterval;
        if (job.EarlyStopping == "Auto" || job.Hyperband is not null)
        {
            EarlyStop(account, name, job, progress, context);
            wait = PollInterval;
        }

        // The latest attempt at each configuration, and whether it is to be tried again.
        var configurations = progress.Trials.GroupBy(o => o.Trial.Configuration).Select(g => g.MaxBy(o => o.Trial.Number)!).OrderBy(o => o.Trial.Configuration).ToList();
        bool Retry(TrialOutcome o) => o.Record is { } r && TuningProgress.IsRetryable(r.State)
            && progress.Trials.Count(t => t.Trial.Configuration == o.Trial.Configuration) < MaxAttempts;
        var retries = configurations.Where(Retry).ToList();
        var resolved = configurations.Where(o => !o.IsRunning && !Retry(o)).ToList();
        if (progress.Succeeded == 0 && resolved.Count >= Math.Min(FailedTrialsBeforeGivingUp, job.Budget) && resolved.Count > 0)
        {
            StopRunning(account, name, progress, context, "TuningJob");
            return Finish(account, name, "InProgress", "Failed",
                $"No training job succeeded after {resolved.Count} attempts. Please take a look at the training job failures to get more details.") ? null : TimeSpan.Zero;
        }

        var outOfTime = false;
        if (job.MaxRuntimeInSeconds is { } max)
        {
            var left = job.CreationTime.AddSeconds(max) - now;
            outOfTime = left <= TimeSpan.Zero;
            if (outOfTime) StopRunning(account, name, progress, context, "TuningJob");
            else if (left < wait) wait = left;
        }
        var targetReached = job.TargetObjectiveMetricValue is { } target && progress.Best?.Objective is { } best && job.Loss(best) <= job.Loss(target);
        var notImproving = job.MaxNumberOfTrainingJobsNotImproving is { } limit && progress.NotImproving >= limit;

        var running = progress.Trials.Count(o => o.IsRunning);
        if (!outOfTime && !targetReached && !notImproving)
            running += Launch(account, name, job, configurations, retries, running, progress.Trials.Max(o => (int?)o.Trial.Number) ?? 0);
        if (running > 0) return wait;
        // Not finished when it was stopped since this step read it (then no trial was launched
        // either): the next step, at once, finishes the stop.
        return Finish(account, name, "InProgress", "Completed", null) ? null : TimeSpan.Zero;
    }

    /// <summary>Launches trials while there is room: retries first, then new configurations from the
    /// strategy. Each trial is written to the job's record before its training job is created.
    /// Returns how many it launched.</summary>
    int Launch(string account, string name, TuningJob job, List<TrialOutcome> configurations, List<TrialOutcome> retries, int running, int lastNumber)
    {
        var space = new ParameterSpace(job.Parameters);
        var strategy = SearchStrategy.Of(job.Strategy, space);
        var history = configurations.Where(o => o.ObjectiveStatus != "Failed" || Retryable(o))
            .Select(o => new Observation(o.Trial.Point, o.Objective is { } v ? job.Loss(v) : null)).ToList();
        var configuration = configurations.Count;
        var launched = 0;
        while (running + launched < job.MaxParallelTrainingJobs)
        {
            var number = lastNumber + launched + 1;
            TuningTrial trial;
            if (retries.Count > 0)
            {
                var again = retries[0].Trial;
                retries.RemoveAt(0);
                trial = again with { Number = number, TrainingJobName = TrainingJobName(job, number), CreationTime = clock.GetUtcNow(), StoppedBy = null };
            }
            else if (configuration < job.Budget && strategy.Next(configuration, history, SearchStrategy.TrialRandom(job.Seed, configuration)) is { } point)
            {
                trial = new TuningTrial
                {
                    Number = number,
                    TrainingJobName = TrainingJobName(job, number),
                    Configuration = configuration,
                    TunedHyperParameters = space.Values(point),
                    Point = point,
                    Bracket = job.Hyperband?.BracketOf(configuration),
                    CreationTime = clock.GetUtcNow(),
                };
                history.Add(new Observation(point, null));
                configuration++;
            }
            else break;
            var added = jobs.Update(account, name, s => s.Status == "InProgress" ? s with { Trials = [.. s.Trials, trial], LastModifiedTime = trial.CreationTime } : s);
            if (added?.State.Trials.Any(t => t.TrainingJobName == trial.TrainingJobName) != true) break;
            training.Launch(account, job, trial);
            launched++;
        }
        return launched;

        static bool Retryable(TrialOutcome o) => o.Record is { } r && TuningProgress.IsRetryable(r.State);
    }

    /// <summary>As AWS names a tuning job's training jobs: {tuning job}-{number:000}-{8 hex digits}.</summary>
    static string TrainingJobName(TuningJob job, int number) => $"{job.Name}-{number:D3}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Stops the running trials that fall behind (median rule or Hyperband), from the
    /// objective values their training jobs have reported so far.</summary>
    void EarlyStop(string account, string name, TuningJob job, TuningProgress progress, Context context)
    {
        var now = clock.GetUtcNow();
        // Each trial's log is read at most once a step, however many trials compare with it.
        var losses = new Dictionary<string, IReadOnlyList<double>>(StringComparer.Ordinal);
        IReadOnlyList<double> Losses(TrialOutcome o)
        {
            if (losses.TryGetValue(o.Trial.TrainingJobName, out var known)) return known;
            if (!context.Series.TryGetValue(o.Trial.TrainingJobName, out var series))
                context.Series[o.Trial.TrainingJobName] = series = new MetricSeries();
            if (!series.Complete && o.Record is { } r)
            {
                training.ReadMetric(account, r.Job, job.ObjectiveMetric, series);
                series.Complete = r.State.IsTerminal && now - r.State.LastModifiedTime >= LogSettle;
            }
            return losses[o.Trial.TrainingJobName] = series.Values.Select(job.Loss).ToList();
        }

        foreach (var o in progress.Trials)
        {
            if (o.Record is not { State.Status: "InProgress" } || context.StopsSent.Contains(o.Trial.TrainingJobName)) continue;
            var own = Losses(o);
            bool stop;
            if (job.Hyperband is { } hyperband)
            {
                var earlier = progress.Trials.Where(e => e.Trial.Bracket == o.Trial.Bracket && e.Trial.Number < o.Trial.Number && e.Record is not null).Select(Losses).ToList();
                stop = hyperband.ShouldStop(o.Trial.Bracket ?? 0, own, earlier);
            }
            else
            {
                var earlier = progress.Trials.Where(e => e.Record is { State.IsTerminal: true } && e.ObjectiveStatus == "Succeeded").Select(Losses).ToList();
                stop = MedianStoppingRule.ShouldStop(own, earlier);
            }
            if (stop) StopTrial(account, name, o, context, job.Hyperband is null ? "EarlyStopping" : "Hyperband");
        }
    }

    void StopRunning(string account, string name, TuningProgress progress, Context context, string reason)
    {
        foreach (var o in progress.Trials)
            if (o.Record is { State.Status: "InProgress" } && !context.StopsSent.Contains(o.Trial.TrainingJobName)) StopTrial(account, name, o, context, reason);
    }

    void StopTrial(string account, string name, TrialOutcome o, Context context, string reason)
    {
        var trainingJob = o.Trial.TrainingJobName;
        jobs.Update(account, name, s => s with { Trials = [.. s.Trials.Select(t => t.TrainingJobName == trainingJob && t.StoppedBy is null ? t with { StoppedBy = reason } : t)] });
        training.Stop(account, trainingJob);
        context.StopsSent.Add(trainingJob);
    }

    /// <summary>Ends the job with <paramref name="status"/> if it is still <paramref name="from"/>; whether it did.</summary>
    bool Finish(string account, string name, string from, string status, string? reason)
    {
        var now = clock.GetUtcNow();
        return jobs.Update(account, name, s => s.Status == from ? s with { Status = status, FailureReason = reason, EndTime = now, LastModifiedTime = now } : s)
            ?.State.Status == status;
    }
}
