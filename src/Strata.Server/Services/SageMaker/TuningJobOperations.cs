using System.Security.Cryptography;
using Strata.Server.Jobs.Training;
using Strata.Server.Jobs.Tuning;
using Strata.Server.Protocol;

namespace Strata.Server.Services.SageMaker;

/// <summary>Hyperparameter tuning jobs' API: CreateHyperParameterTuningJob checks what AWS checks
/// (the ranges, the strategy's rules, the objective metric, AWS's limits, and the training job
/// definition as CreateTrainingJob checks a request) and starts the job, which
/// <see cref="HyperParameterTuner"/> runs; the trials are training jobs like any other.</summary>
public sealed partial class SageMakerService
{
    // AWS's limits for automatic model tuning (SageMaker developer guide, "Resource Limits for Automatic
    // Model Tuning"); those AWS keeps as quotas are Strata's configured limits (SageMakerLimits).
    const int MaxTuningMetricDefinitions = 20;
    /// <summary>Static and tunable hyperparameters together, the one the tuning job adds included.</summary>
    const int MaxTuningHyperParameters = 100;
    /// <summary>The hyperparameter through which a tuning job tells its training jobs its objective metric.</summary>
    const string TuningObjectiveHyperParameter = "_tuning_objective_metric";

    /// <summary>Operations newer than Debian's botocore (1.29): the conformance test only checks that they are tested.</summary>
    public static readonly string[] NewerOperations = ["DeleteHyperParameterTuningJob"];

    /// <summary>The tuning jobs (the composition root sets them; the operations table needs neither).</summary>
    public TuningJobStore TuningJobs { get; init; } = null!;
    public HyperParameterTuner Tuner { get; init; } = null!;

    static AwsException Invalid(string message) => SageMakerErrors.ValidationException(message);

    CreateHyperParameterTuningJobResponse CreateHyperParameterTuningJob(CreateHyperParameterTuningJobRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = input.HyperParameterTuningJobName!;
        var config = input.HyperParameterTuningJobConfig!;
        if (input.WarmStartConfig is not null)
            throw Invalid("WarmStartConfig is not supported by Strata: a hyperparameter tuning job cannot start from parent tuning jobs yet.");
        if (input.Autotune is not null) throw Invalid("Autotune is not supported by Strata: give the strategy, the parameter ranges and the resource limits.");
        if (input.TrainingJobDefinitions is not null)
            throw Invalid("TrainingJobDefinitions is not supported by Strata: give one TrainingJobDefinition (a tuning job over several algorithms is not supported yet).");
        var definition = input.TrainingJobDefinition ?? throw Invalid("Either TrainingJobDefinition or TrainingJobDefinitions must be specified.");
        var strategy = config.Strategy!;
        var objective = config.HyperParameterTuningJobObjective ?? definition.TuningObjective
            ?? throw Invalid("HyperParameterTuningJobObjective is required: the tuning job needs an objective metric to optimize.");
        var ranges = config.ParameterRanges ?? definition.HyperParameterRanges ?? throw Invalid("ParameterRanges is required: the tuning job needs hyperparameters to search.");
        if (ranges.AutoParameters is { Count: > 0 }) throw Invalid("AutoParameters are for Autotune, which Strata does not support: give the ranges.");

        var parameters = Parameters(ranges);
        ParameterSpace space;
        try { space = new ParameterSpace(parameters); }
        catch (TuningConfigurationException e) { throw Invalid(e.Message); }
        var statics = definition.StaticHyperParameters ?? [];
        if (parameters.FirstOrDefault(p => statics.ContainsKey(p.Name)) is { } both)
            throw Invalid($"The hyperparameter {both.Name} is both static and tunable: give it in StaticHyperParameters or in ParameterRanges, not both.");
        if (statics.ContainsKey(TuningObjectiveHyperParameter) || parameters.Any(p => p.Name == TuningObjectiveHyperParameter))
            throw Invalid($"The hyperparameter {TuningObjectiveHyperParameter} is reserved: the tuning job sets it to the objective metric.");
        if (statics.Count + parameters.Count + 1 > MaxTuningHyperParameters)
            throw Invalid($"A tuning job's training jobs can have at most {MaxTuningHyperParameters} hyperparameters, static and tunable, {TuningObjectiveHyperParameter} included; this one has {statics.Count + parameters.Count + 1}.");

        var limits = config.ResourceLimits!;
        int budget;
        if (strategy == "Grid")
        {
            if (parameters.FirstOrDefault(p => p.Kind == TunedParameter.Continuous) is { } continuous)
                throw Invalid($"The Grid strategy searches only categorical and integer hyperparameter ranges: {continuous.Name} is a continuous range.");
            var size = space.GridSize;
            if (size > Limits.TuningTrainingJobs)
                throw SageMakerErrors.ResourceLimitExceeded($"The grid has {size} combinations of hyperparameter values; a tuning job can run at most {Limits.TuningTrainingJobs} training jobs. {SageMakerLimits.Raise("tuning-training-jobs")}");
            if (limits.MaxNumberOfTrainingJobs is { } asked && asked != size)
                throw Invalid($"With the Grid strategy, MaxNumberOfTrainingJobs ({asked}) must equal the number of combinations of hyperparameter values ({size}), or be left out.");
            budget = (int)size;
        }
        else
        {
            budget = limits.MaxNumberOfTrainingJobs ?? throw Invalid($"ResourceLimits.MaxNumberOfTrainingJobs is required with the {strategy} strategy.");
            if (budget > Limits.TuningTrainingJobs)
                throw SageMakerErrors.ResourceLimitExceeded($"MaxNumberOfTrainingJobs is {budget}; the limit of training jobs per hyperparameter tuning job is {Limits.TuningTrainingJobs}. {SageMakerLimits.Raise("tuning-training-jobs")}");
        }
        if (limits.MaxParallelTrainingJobs > Limits.TuningParallelTrainingJobs)
            throw SageMakerErrors.ResourceLimitExceeded($"MaxParallelTrainingJobs is {limits.MaxParallelTrainingJobs}; the limit of parallel training jobs per hyperparameter tuning job is {Limits.TuningParallelTrainingJobs}. {SageMakerLimits.Raise("tuning-parallel-training-jobs")}");

        var earlyStopping = config.TrainingJobEarlyStoppingType ?? "Off";
        var hyperbandConfig = config.StrategyConfig?.HyperbandStrategyConfig;
        Hyperband? hyperband = null;
        if (strategy == "Hyperband")
        {
            if (earlyStopping != "Off")
                throw Invalid("TrainingJobEarlyStoppingType must be Off with the Hyperband strategy, which has its own early stopping.");
            var min = hyperbandConfig?.MinResource ?? 1;
            var max = hyperbandConfig?.MaxResource ?? InferredMaxResource(statics)
                ?? throw Invalid($"The Hyperband strategy needs MaxResource: give StrategyConfig.HyperbandStrategyConfig.MaxResource, or one of {string.Join(", ", Hyperband.EpochKeys)} in StaticHyperParameters.");
            if (max > Hyperband.MaxResourceLimit) throw Invalid($"MaxResource ({max}) must be at most {Hyperband.MaxResourceLimit}.");
            if (min > max) throw Invalid($"MinResource ({min}) must not be greater than MaxResource ({max}).");
            hyperband = new Hyperband(min, max);
        }
        else if (config.StrategyConfig is not null) throw Invalid("StrategyConfig can be given only with the Hyperband strategy.");
        var criteria = config.TuningJobCompletionCriteria;
        if (criteria?.ConvergenceDetected?.CompleteOnConvergence == "Enabled")
            throw Invalid("ConvergenceDetected.CompleteOnConvergence Enabled is not supported by Strata: use TargetObjectiveMetricValue or BestObjectiveNotImproving.");

        var algorithm = definition.AlgorithmSpecification!;
        if ((algorithm.MetricDefinitions?.Count ?? 0) > MaxTuningMetricDefinitions)
            throw SageMakerErrors.ResourceLimitExceeded($"A hyperparameter tuning job can define at most {MaxTuningMetricDefinitions} metrics; MetricDefinitions has {algorithm.MetricDefinitions!.Count}.");
        var metric = objective.MetricName!;
        if (algorithm.TrainingImage is { } image && BuiltInAlgorithms.Of(image) is { } builtIn)
        {
            var known = BuiltInAlgorithms.Metrics(builtIn).Select(d => d.Name).ToList();
            if (!known.Contains(metric))
                throw Invalid($"The objective metric {metric} is not a metric of the {builtIn} algorithm ({image}); choose one of: {string.Join(", ", known)}.");
        }
        else if (algorithm.MetricDefinitions?.Any(d => d.Name == metric) != true)
            throw Invalid($"The objective metric {metric} is not one of the algorithm's MetricDefinitions: a training image of one's own must define the metric it is tuned on.");

        if (TuningJobs.List(account).Count(j => !j.State.IsTerminal) >= Limits.ConcurrentTuningJobs)
            throw SageMakerErrors.ResourceLimitExceeded($"The limit 'Number of concurrent hyperparameter tuning jobs' is {Limits.ConcurrentTuningJobs} jobs. {SageMakerLimits.Raise("concurrent-tuning-jobs")}");

        var arn = Arn(account, "hyper-parameter-tuning-job", name);
        var hyperParameters = new Dictionary<string, string>(statics) { [TuningObjectiveHyperParameter] = metric };
        var template = NewTrainingJob(TrainingJobRequest(name, definition, hyperParameters), ctx) with { TuningJobArn = arn };
        var now = clock.GetUtcNow();
        var job = new TuningJob
        {
            Name = name,
            Arn = arn,
            Strategy = strategy,
            ObjectiveType = objective.Type!,
            ObjectiveMetric = metric,
            MaxNumberOfTrainingJobs = limits.MaxNumberOfTrainingJobs,
            Budget = budget,
            MaxParallelTrainingJobs = limits.MaxParallelTrainingJobs!.Value,
            MaxRuntimeInSeconds = limits.MaxRuntimeInSeconds,
            Parameters = parameters,
            EarlyStopping = earlyStopping,
            TargetObjectiveMetricValue = criteria?.TargetObjectiveMetricValue,
            MaxNumberOfTrainingJobsNotImproving = criteria?.BestObjectiveNotImproving?.MaxNumberOfTrainingJobsNotImproving,
            CompleteOnConvergence = criteria?.ConvergenceDetected?.CompleteOnConvergence,
            MinResource = hyperbandConfig?.MinResource,
            MaxResource = hyperbandConfig?.MaxResource,
            Hyperband = hyperband,
            RandomSeed = config.RandomSeed,
            Seed = config.RandomSeed ?? RandomNumberGenerator.GetInt32(int.MaxValue),
            DefinitionName = definition.DefinitionName,
            Template = template,
            CreationTime = now,
        };
        if (!TuningJobs.Create(account, new TuningJobRecord(job, new TuningJobState { LastModifiedTime = now }), TagRows(input.Tags)))
            throw new TuningJobAlreadyExists(arn);
        Tuner.Start(account, name);
        return new CreateHyperParameterTuningJobResponse { HyperParameterTuningJobArn = arn };
    }

    /// <summary>The ranges in the order the request lists them: integer, continuous, categorical.</summary>
    static List<TunedParameter> Parameters(ParameterRanges ranges) =>
    [
        .. (ranges.IntegerParameterRanges ?? []).Select(r => new TunedParameter
        {
            Name = r.Name!, Kind = TunedParameter.Integer, MinValue = r.MinValue, MaxValue = r.MaxValue, ScalingType = r.ScalingType,
        }),
        .. (ranges.ContinuousParameterRanges ?? []).Select(r => new TunedParameter
        {
            Name = r.Name!, Kind = TunedParameter.Continuous, MinValue = r.MinValue, MaxValue = r.MaxValue, ScalingType = r.ScalingType,
        }),
        .. (ranges.CategoricalParameterRanges ?? []).Select(r => new TunedParameter { Name = r.Name!, Kind = TunedParameter.Categorical, Values = r.Values }),
    ];

    /// <summary>Hyperband's MaxResource from the epochs in the static hyperparameters, as AWS infers it.</summary>
    static int? InferredMaxResource(Dictionary<string, string> statics)
    {
        foreach (var key in Hyperband.EpochKeys)
            if (statics.TryGetValue(key, out var text) && int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var epochs) && epochs >= 1)
                return epochs;
        return null;
    }

    /// <summary>A tuning job's definition as the CreateTrainingJob request of its training jobs.</summary>
    static CreateTrainingJobRequest TrainingJobRequest(string name, HyperParameterTrainingJobDefinition d, Dictionary<string, string> hyperParameters)
    {
        var resources = d.ResourceConfig;
        if (resources is null && d.HyperParameterTuningResourceConfig is { } tuning)
        {
            if (tuning.InstanceConfigs is not null)
                throw Invalid("HyperParameterTuningResourceConfig.InstanceConfigs (flexible instance types) is not supported by Strata: give one InstanceType.");
            resources = new ResourceConfig { InstanceType = tuning.InstanceType, InstanceCount = tuning.InstanceCount, VolumeSizeInGB = tuning.VolumeSizeInGB, VolumeKmsKeyId = tuning.VolumeKmsKeyId };
        }
        var algorithm = d.AlgorithmSpecification!;
        return new CreateTrainingJobRequest
        {
            TrainingJobName = name,
            HyperParameters = hyperParameters,
            AlgorithmSpecification = new AlgorithmSpecification
            {
                TrainingImage = algorithm.TrainingImage,
                AlgorithmName = algorithm.AlgorithmName,
                TrainingInputMode = algorithm.TrainingInputMode,
                MetricDefinitions = algorithm.MetricDefinitions,
            },
            RoleArn = d.RoleArn,
            InputDataConfig = d.InputDataConfig,
            OutputDataConfig = d.OutputDataConfig,
            ResourceConfig = resources,
            VpcConfig = d.VpcConfig,
            StoppingCondition = d.StoppingCondition,
            EnableNetworkIsolation = d.EnableNetworkIsolation,
            EnableInterContainerTrafficEncryption = d.EnableInterContainerTrafficEncryption,
            EnableManagedSpotTraining = d.EnableManagedSpotTraining,
            CheckpointConfig = d.CheckpointConfig,
            Environment = d.Environment,
        };
    }

    TuningJobRecord RequireTuningJob(string account, string name) => TuningJobs.Get(account, name) ?? throw new TuningJobNotFound(name);

    DescribeHyperParameterTuningJobResponse DescribeHyperParameterTuningJob(DescribeHyperParameterTuningJobRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var record = RequireTuningJob(account, input.HyperParameterTuningJobName!);
        var (job, state) = (record.Job, record.State);
        var progress = TuningJobs.Progress(account, record);
        var template = job.Template;
        return new DescribeHyperParameterTuningJobResponse
        {
            HyperParameterTuningJobName = job.Name,
            HyperParameterTuningJobArn = job.Arn,
            HyperParameterTuningJobConfig = new HyperParameterTuningJobConfig
            {
                Strategy = job.Strategy,
                StrategyConfig = job.MinResource is null && job.MaxResource is null ? null
                    : new HyperParameterTuningJobStrategyConfig { HyperbandStrategyConfig = new HyperbandStrategyConfig { MinResource = job.MinResource, MaxResource = job.MaxResource } },
                HyperParameterTuningJobObjective = new HyperParameterTuningJobObjective { Type = job.ObjectiveType, MetricName = job.ObjectiveMetric },
                ResourceLimits = new ResourceLimits
                {
                    MaxNumberOfTrainingJobs = job.Budget,
                    MaxParallelTrainingJobs = job.MaxParallelTrainingJobs,
                    MaxRuntimeInSeconds = job.MaxRuntimeInSeconds,
                },
                ParameterRanges = Ranges(job.Parameters),
                TrainingJobEarlyStoppingType = job.EarlyStopping,
                TuningJobCompletionCriteria = job.TargetObjectiveMetricValue is null && job.MaxNumberOfTrainingJobsNotImproving is null && job.CompleteOnConvergence is null ? null
                    : new TuningJobCompletionCriteria
                    {
                        TargetObjectiveMetricValue = job.TargetObjectiveMetricValue,
                        BestObjectiveNotImproving = job.MaxNumberOfTrainingJobsNotImproving is { } n ? new BestObjectiveNotImproving { MaxNumberOfTrainingJobsNotImproving = n } : null,
                        ConvergenceDetected = job.CompleteOnConvergence is { } c ? new ConvergenceDetected { CompleteOnConvergence = c } : null,
                    },
                RandomSeed = job.RandomSeed,
            },
            TrainingJobDefinition = new HyperParameterTrainingJobDefinition
            {
                DefinitionName = job.DefinitionName,
                StaticHyperParameters = template.HyperParameters,
                AlgorithmSpecification = new HyperParameterAlgorithmSpecification
                {
                    TrainingImage = template.Image,
                    TrainingInputMode = template.InputMode,
                    MetricDefinitions = template.MetricDefinitions.Count == 0 ? null : [.. template.MetricDefinitions.Select(d => new MetricDefinition { Name = d.Name, Regex = d.Regex })],
                },
                RoleArn = template.RoleArn,
                InputDataConfig = template.Channels.Count == 0 ? null : Channels(template),
                VpcConfig = Vpc(template),
                OutputDataConfig = Output(template),
                ResourceConfig = Resources(template),
                StoppingCondition = new StoppingCondition { MaxRuntimeInSeconds = template.MaxRuntimeInSeconds },
                EnableNetworkIsolation = template.EnableNetworkIsolation,
                EnableInterContainerTrafficEncryption = false,
                EnableManagedSpotTraining = false,
                CheckpointConfig = Checkpoint(template),
                Environment = template.Environment.Count == 0 ? null : template.Environment,
            },
            HyperParameterTuningJobStatus = state.Status,
            CreationTime = job.CreationTime,
            HyperParameterTuningEndTime = state.EndTime,
            LastModifiedTime = state.LastModifiedTime,
            TrainingJobStatusCounters = StatusCounters(progress),
            ObjectiveStatusCounters = ObjectiveCounters(progress),
            BestTrainingJob = progress.Best is { } best ? Summary(account, job, best) : null,
            FailureReason = state.FailureReason,
            TuningJobCompletionDetails = new HyperParameterTuningJobCompletionDetails { NumberOfTrainingJobsObjectiveNotImproving = progress.NotImproving },
            ConsumedResources = new HyperParameterTuningJobConsumedResources
            {
                RuntimeInSeconds = (int)Math.Max(0, ((state.EndTime ?? clock.GetUtcNow()) - job.CreationTime).TotalSeconds),
            },
        };
    }

    static ParameterRanges Ranges(List<TunedParameter> parameters) => new()
    {
        IntegerParameterRanges = [.. parameters.Where(p => p.Kind == TunedParameter.Integer)
            .Select(p => new IntegerParameterRange { Name = p.Name, MinValue = p.MinValue, MaxValue = p.MaxValue, ScalingType = p.ScalingType ?? "Auto" })],
        ContinuousParameterRanges = [.. parameters.Where(p => p.Kind == TunedParameter.Continuous)
            .Select(p => new ContinuousParameterRange { Name = p.Name, MinValue = p.MinValue, MaxValue = p.MaxValue, ScalingType = p.ScalingType ?? "Auto" })],
        CategoricalParameterRanges = [.. parameters.Where(p => p.Kind == TunedParameter.Categorical)
            .Select(p => new CategoricalParameterRange { Name = p.Name, Values = p.Values })],
    };

    static TrainingJobStatusCounters StatusCounters(TuningProgress p) => new()
    {
        Completed = p.Completed,
        InProgress = p.InProgress,
        RetryableError = p.RetryableError,
        NonRetryableError = p.NonRetryableError,
        Stopped = p.Stopped,
    };

    static ObjectiveStatusCounters ObjectiveCounters(TuningProgress p) => new() { Succeeded = p.Succeeded, Pending = p.Pending, Failed = p.Failed };

    /// <summary>A trial as ListTrainingJobsForHyperParameterTuningJob and BestTrainingJob show it.</summary>
    HyperParameterTrainingJobSummary Summary(string account, TuningJob job, TrialOutcome o) => new()
    {
        TrainingJobDefinitionName = job.DefinitionName,
        TrainingJobName = o.Trial.TrainingJobName,
        TrainingJobArn = o.Record?.Job.Arn ?? Arn(account, "training-job", o.Trial.TrainingJobName),
        TuningJobName = job.Name,
        CreationTime = o.Trial.CreationTime,
        TrainingStartTime = o.Record?.State.TrainingStartTime,
        TrainingEndTime = o.Record?.State.TrainingEndTime,
        TrainingJobStatus = o.Record?.State.Status ?? "InProgress",
        TunedHyperParameters = o.Trial.TunedHyperParameters,
        FailureReason = o.Record?.State.FailureReason,
        FinalHyperParameterTuningJobObjectiveMetric = o.Objective is { } value
            ? new FinalHyperParameterTuningJobObjectiveMetric { Type = job.ObjectiveType, MetricName = job.ObjectiveMetric, Value = (float)value }
            : null,
        ObjectiveStatus = o.ObjectiveStatus,
    };

    ListHyperParameterTuningJobsResponse ListHyperParameterTuningJobs(ListHyperParameterTuningJobsRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        // AWS's defaults here: by name, ascending.
        var (page, next) = ListRequests.Page(input, TuningJobs.List(account), j => j.Job.Name, j => j.Job.CreationTime, j => j.State.Status, j => j.State.LastModifiedTime,
            sortBy: "Name", sortOrder: "Ascending");
        return new ListHyperParameterTuningJobsResponse
        {
            HyperParameterTuningJobSummaries = [.. page.Select(j =>
            {
                var progress = TuningJobs.Progress(account, j);
                return new HyperParameterTuningJobSummary
                {
                    HyperParameterTuningJobName = j.Job.Name,
                    HyperParameterTuningJobArn = j.Job.Arn,
                    HyperParameterTuningJobStatus = j.State.Status,
                    Strategy = j.Job.Strategy,
                    CreationTime = j.Job.CreationTime,
                    HyperParameterTuningEndTime = j.State.EndTime,
                    LastModifiedTime = j.State.LastModifiedTime,
                    TrainingJobStatusCounters = StatusCounters(progress),
                    ObjectiveStatusCounters = ObjectiveCounters(progress),
                    ResourceLimits = new ResourceLimits
                    {
                        MaxNumberOfTrainingJobs = j.Job.Budget,
                        MaxParallelTrainingJobs = j.Job.MaxParallelTrainingJobs,
                        MaxRuntimeInSeconds = j.Job.MaxRuntimeInSeconds,
                    },
                };
            })],
            NextToken = next,
        };
    }

    ListTrainingJobsForHyperParameterTuningJobResponse ListTrainingJobsForHyperParameterTuningJob(ListTrainingJobsForHyperParameterTuningJobRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var record = RequireTuningJob(account, input.HyperParameterTuningJobName!);
        var job = record.Job;
        // A trial is recorded before its training job is created (so a restart never loses one it
        // launched); until that job exists it is not listed, as DescribeTrainingJob could not find it.
        var trials = TuningJobs.Progress(account, record).Trials
            .Where(o => o.Record is not null)
            .Where(o => input.StatusEquals is null || o.Record!.State.Status == input.StatusEquals);
        var descending = input.SortOrder == "Descending";
        // AWS: by name unless asked; by FinalObjectiveMetricValue, the jobs without an objective are left out.
        var sorted = (input.SortBy ?? "Name") switch
        {
            // Equal objectives keep the order in which the trials ran, either way round, so the best trial
            // (the first to reach its value) heads the list sorted towards its objective.
            "FinalObjectiveMetricValue" => [.. (descending
                ? trials.Where(o => o.Objective is not null).OrderByDescending(o => o.Objective!.Value)
                : trials.Where(o => o.Objective is not null).OrderBy(o => o.Objective!.Value)).ThenBy(o => o.Trial.Number)],
            "CreationTime" => Order(trials, o => o.Trial.CreationTime, descending, Comparer<DateTimeOffset>.Default),
            "Status" => Order(trials, o => o.Record?.State.Status ?? "InProgress", descending, StringComparer.Ordinal),
            _ => Order(trials, o => o.Trial.TrainingJobName, descending, StringComparer.Ordinal),
        };
        var (page, next) = PageToken.Page(sorted, input.NextToken, input.MaxResults);
        return new ListTrainingJobsForHyperParameterTuningJobResponse { TrainingJobSummaries = [.. page.Select(o => Summary(account, job, o))], NextToken = next };

        static List<TrialOutcome> Order<TKey>(IEnumerable<TrialOutcome> items, Func<TrialOutcome, TKey> key, bool descending, IComparer<TKey> comparer)
            => [.. descending ? items.OrderByDescending(key, comparer).ThenByDescending(o => o.Trial.Number) : items.OrderBy(key, comparer).ThenBy(o => o.Trial.Number)];
    }

    void StopHyperParameterTuningJob(StopHyperParameterTuningJobRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var record = RequireTuningJob(account, input.HyperParameterTuningJobName!);
        if (record.State.Status == "Stopping") return;
        if (!Tuner.Stop(account, record.Job.Name)) throw new TuningJobNotStoppable(TuningJobs.Get(account, record.Job.Name)?.State.Status ?? record.State.Status);
    }

    void DeleteHyperParameterTuningJob(DeleteHyperParameterTuningJobRequest input, RequestContext ctx)
    {
        var (account, name) = (ctx.Principal.AccountId, input.HyperParameterTuningJobName!);
        var record = TuningJobs.Get(account, name) ?? throw new DeletedTuningJobNotFound(name);
        if (!record.State.IsTerminal) throw new TuningJobNotDeletable(name, record.State.Status);
        TuningJobs.Delete(account, name);
    }
}
