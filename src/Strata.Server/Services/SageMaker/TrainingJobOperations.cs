using System.Text.Json;
using Strata.Server.Auth;
using Strata.Server.Hosting;
using Strata.Server.Jobs.Containers;
using Strata.Server.Jobs.Training;
using Strata.Server.Protocol;

namespace Strata.Server.Services.SageMaker;

/// <summary>Training jobs' API: CreateTrainingJob checks what AWS checks when a job is created
/// (the image, the role, the channels, the instance type, the limits) and starts it; the job runs
/// in <see cref="TrainingJobRunner"/>.</summary>
public sealed partial class SageMakerService
{
    /// <summary>AWS's longest training job: 28 days.</summary>
    const int MaxTrainingRuntime = 28 * 24 * 3600;

    CreateTrainingJobResponse CreateTrainingJob(CreateTrainingJobRequest input, RequestContext ctx)
    {
        var job = NewTrainingJob(input, ctx);
        LaunchTrainingJob(trainingJobs, training, ctx.Principal.AccountId, job, TagRows(input.Tags));
        return new CreateTrainingJobResponse { TrainingJobArn = job.Arn };
    }

    /// <summary>The training job a request asks for, checked as AWS checks it when a job is created
    /// (the image, the role and the caller's right to pass it, the channels, the instance type, the
    /// limits). A tuning job's TrainingJobDefinition is checked by the same, as the request for its
    /// training jobs.</summary>
    TrainingJob NewTrainingJob(CreateTrainingJobRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = input.TrainingJobName!;
        var algorithm = input.AlgorithmSpecification ?? throw SageMakerErrors.ValidationException("1 validation error detected: Value null at 'algorithmSpecification' failed to satisfy constraint: Member must not be null");
        if (algorithm.AlgorithmName is not null)
            throw SageMakerErrors.ValidationException("AlgorithmName (an algorithm resource from AWS Marketplace) is not supported by Strata: give AlgorithmSpecification.TrainingImage.");
        var image = algorithm.TrainingImage ?? throw SageMakerErrors.ValidationException("Either AlgorithmName or TrainingImage must be specified in AlgorithmSpecification.");
        // The image catalogue, which only the installation's administrator writes, says what runs:
        // an entry point given in the request would be any command on the host.
        if (algorithm.ContainerEntrypoint is { Count: > 0 })
            throw SageMakerErrors.ValidationException("ContainerEntrypoint is not supported by Strata: the image catalogue's command is the container's entry point (ContainerArguments are passed to it).");
        if (BuiltInAlgorithms.Of(image) is null && images.CommandFor(image) is null)
            throw SageMakerErrors.ValidationException($"The training image {image} is neither one of the built-in algorithms Strata trains (sagemaker-xgboost, linear-learner, kmeans, pca) nor in the image catalogue (strata images add {image} -- COMMAND).");
        // Script mode's hyperparameters name a file of an S3 tarball (checked here, read when the job runs).
        try { _ = ScriptMode.Of(input.HyperParameters ?? []); }
        catch (TrainingException e) { throw SageMakerErrors.ValidationException(e.Message["ClientError: ".Length..]); }
        var mode = algorithm.TrainingInputMode ?? "File";
        if (algorithm.MetricDefinitions is { Count: > 0 } && BuiltInAlgorithms.Of(image) is not null)
            throw SageMakerErrors.ValidationException("MetricDefinitions cannot be given for a built-in algorithm: its metrics are predefined.");
        foreach (var d in algorithm.MetricDefinitions ?? [])
        {
            try { _ = new System.Text.RegularExpressions.Regex(d.Regex!); }
            catch (ArgumentException e) { throw SageMakerErrors.ValidationException($"The regular expression of metric {d.Name} is not valid: {e.Message}"); }
        }

        var role = PassedExecutionRole(input.RoleArn!, ctx);

        var channels = new List<TrainingChannel>();
        foreach (var c in input.InputDataConfig ?? [])
        {
            if (c.ChannelName is "." or "..") throw SageMakerErrors.ValidationException($"Channel name {c.ChannelName} is not valid: a channel is a directory under /opt/ml/input/data.");
            if (channels.Any(x => x.Name == c.ChannelName)) throw SageMakerErrors.ValidationException($"Channel names must be unique: {c.ChannelName} appears more than once.");
            var s3 = c.DataSource?.S3DataSource ?? throw SageMakerErrors.ValidationException($"Channel {c.ChannelName}: only S3DataSource is supported by Strata.");
            var channelMode = c.InputMode ?? mode;
            // Strata's built-in algorithms read their channels' files.
            if (channelMode == "Pipe" && BuiltInAlgorithms.Of(image) is { } fileReader)
                throw SageMakerErrors.ValidationException($"Channel {c.ChannelName}: Strata's built-in {fileReader} reads its channels in File mode; Pipe input mode is not supported for it.");
            if (s3.S3DataType == "Converse")
                throw SageMakerErrors.ValidationException($"Channel {c.ChannelName}: S3DataType Converse is not supported by Strata: use S3Prefix, ManifestFile or AugmentedManifestFile.");
            if (s3.S3DataType == "AugmentedManifestFile")
            {
                if (s3.AttributeNames is not { Count: > 0 })
                    throw SageMakerErrors.ValidationException($"AttributeNames must be specified for channel {c.ChannelName}, whose S3DataType is AugmentedManifestFile: name the attributes of each JSON line to pass to the algorithm.");
                if (channelMode != "Pipe")
                    throw SageMakerErrors.ValidationException($"Channel {c.ChannelName}: AugmentedManifestFile is supported only for channels using Pipe input mode, not {channelMode}.");
            }
            S3Uri(s3.S3Uri, $"InputDataConfig.{c.ChannelName}.DataSource.S3DataSource.S3Uri");
            channels.Add(new TrainingChannel
            {
                Name = c.ChannelName!,
                S3DataType = s3.S3DataType!,
                S3Uri = s3.S3Uri!,
                S3DataDistributionType = s3.S3DataDistributionType ?? "FullyReplicated",
                ContentType = c.ContentType,
                CompressionType = c.CompressionType ?? "None",
                RecordWrapperType = c.RecordWrapperType ?? "None",
                InputMode = c.InputMode,
                ShuffleSeed = c.ShuffleConfig?.Seed,
                AttributeNames = s3.AttributeNames is { Count: > 0 } names ? names : null,
            });
        }
        var output = input.OutputDataConfig!;
        S3Uri(output.S3OutputPath, "OutputDataConfig.S3OutputPath");
        var resources = input.ResourceConfig ?? throw SageMakerErrors.ValidationException("ResourceConfig is required.");
        if (InstanceType.Find(resources.InstanceType) is null)
            throw JsonProtocol.Invalid("ResourceConfig.InstanceType", resources.InstanceType, "Member must satisfy enum value set: [" + string.Join(", ", InstanceType.Names) + "]");
        if (resources.InstanceGroups is { Count: > 0 })
            throw SageMakerErrors.ValidationException("ResourceConfig.InstanceGroups (heterogeneous clusters) is not supported by Strata: give InstanceType and InstanceCount.");
        // The model allows 0 (for InstanceGroups); a job of InstanceType and InstanceCount needs one instance at least.
        var instances = resources.InstanceCount ?? 1;
        if (instances < 1)
            throw JsonProtocol.Invalid("ResourceConfig.InstanceCount", instances, "Member must have value greater than or equal to 1");
        if (instances > Limits.TrainingInstances)
            throw SageMakerErrors.ResourceLimitExceeded($"The limit '{resources.InstanceType} for training job usage' is {Limits.TrainingInstances} Instances per training job, and this one asks for {instances} Instances. {SageMakerLimits.Raise("training-instances")}");
        if (instances > 1 && BuiltInAlgorithms.Of(image) is { } builtIn)
            throw SageMakerErrors.ValidationException($"Strata's built-in algorithms train on one instance: InstanceCount must be 1 for {builtIn} ({image}). Distributed training is for training images of one's own.");
        // Each host's Pipe channel streams every object: sharding is done by downloading (File mode).
        if (instances > 1 && channels.FirstOrDefault(c => c.S3DataDistributionType == "ShardedByS3Key" && (c.InputMode ?? mode) == "Pipe") is { } sharded)
            throw SageMakerErrors.ValidationException($"Channel {sharded.Name}: Strata streams a Pipe channel whole to every host; S3DataDistributionType ShardedByS3Key needs File or FastFile input mode.");
        if (ContainerCluster.Refusal(instances, input.EnableNetworkIsolation ?? false) is { } refusal)
            throw SageMakerErrors.ValidationException(refusal);
        var stopping = input.StoppingCondition ?? throw SageMakerErrors.ValidationException("StoppingCondition is required.");
        if (stopping.MaxRuntimeInSeconds > MaxTrainingRuntime)
            throw JsonProtocol.Invalid("StoppingCondition.MaxRuntimeInSeconds", stopping.MaxRuntimeInSeconds, $"Member must have value less than or equal to {MaxTrainingRuntime}");
        if (input.EnableManagedSpotTraining == true)
            throw SageMakerErrors.ValidationException("EnableManagedSpotTraining is not supported by Strata: its instances are never interrupted.");
        if (input.CheckpointConfig is { } checkpoint)
        {
            S3Uri(checkpoint.S3Uri, "CheckpointConfig.S3Uri");
            if (checkpoint.LocalPath is { } local && local != "/opt/ml/checkpoints")
                throw SageMakerErrors.ValidationException("CheckpointConfig.LocalPath other than /opt/ml/checkpoints is not supported by Strata.");
        }

        return new TrainingJob
        {
            Name = name,
            Arn = Arn(account, "training-job", name),
            RoleArn = role,
            Image = image,
            InputMode = mode,
            HyperParameters = input.HyperParameters ?? [],
            Channels = channels,
            OutputPath = output.S3OutputPath!,
            OutputKmsKeyId = output.KmsKeyId,
            OutputCompression = output.CompressionType,
            InstanceType = resources.InstanceType!,
            InstanceCount = instances,
            VolumeSizeInGB = resources.VolumeSizeInGB ?? 1,
            MaxRuntimeInSeconds = stopping.MaxRuntimeInSeconds ?? 86400,
            Environment = input.Environment ?? [],
            EnableNetworkIsolation = input.EnableNetworkIsolation ?? false,
            CheckpointS3Uri = input.CheckpointConfig?.S3Uri,
            CheckpointLocalPath = input.CheckpointConfig is null ? null : input.CheckpointConfig.LocalPath ?? "/opt/ml/checkpoints",
            MetricDefinitions = [.. (algorithm.MetricDefinitions ?? []).Select(d => new TrainingMetricDefinition(d.Name!, d.Regex!))],
            ContainerEntrypoint = algorithm.ContainerEntrypoint,
            ContainerArguments = algorithm.ContainerArguments,
            VpcConfigJson = input.VpcConfig is { } vpc ? JsonSerializer.Serialize(vpc, SageMakerJson.Default.VpcConfig) : null,
            CreationTime = clock.GetUtcNow(),
        };
    }

    /// <summary>Makes a training job: its record (Starting, with its tags) and its run. The one way a
    /// training job comes to be, for CreateTrainingJob and for a tuning job's trials.</summary>
    internal static void LaunchTrainingJob(TrainingJobStore jobs, TrainingJobRunner runner, string account, TrainingJob job, List<TagRow> tags)
    {
        var state = new TrainingJobState
        {
            LastModifiedTime = job.CreationTime,
            Transitions = [new TrainingStatusTransition("Starting", job.CreationTime, null, "Launching requested ML instances")],
        };
        if (!jobs.Create(account, new TrainingJobRecord(job, state), tags)) throw new TrainingJobAlreadyExists(job.Arn);
        runner.Start(account, job.Name);
    }

    /// <summary>A job's RoleArn: SageMaker acts as the role, so the caller must be allowed to pass
    /// it (iam:PassRole, iam:PassedToService sagemaker.amazonaws.com), it must be the account's own,
    /// and SageMaker must be able to assume it.</summary>
    string PassedExecutionRole(string role, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        ctx.ConditionKeys["iam:PassedToService"] = [ExecutionRoles.SageMaker];
        ctx.Authorize("iam:PassRole", role);
        if (role.Split(':') is not [_, _, _, _, var roleAccount, _] || roleAccount != account)
            throw SageMakerErrors.ValidationException($"The role {role} is not in the account {account}.");
        if (roles.CannotAssume(role, ExecutionRoles.SageMaker) is { } reason) throw SageMakerErrors.ValidationException(reason);
        return role;
    }

    TrainingJobRecord RequireTrainingJob(string account, string name) => trainingJobs.Get(account, name) ?? throw new TrainingJobNotFound();

    DescribeTrainingJobResponse DescribeTrainingJob(DescribeTrainingJobRequest input, RequestContext ctx)
    {
        var (job, state) = RequireTrainingJob(ctx.Principal.AccountId, input.TrainingJobName!);
        return new DescribeTrainingJobResponse
        {
            TrainingJobName = job.Name,
            TrainingJobArn = job.Arn,
            TuningJobArn = job.TuningJobArn,
            ModelArtifacts = new ModelArtifacts { S3ModelArtifacts = state.S3ModelArtifacts ?? "" },
            TrainingJobStatus = state.Status,
            SecondaryStatus = state.SecondaryStatus,
            FailureReason = state.FailureReason,
            HyperParameters = job.HyperParameters,
            AlgorithmSpecification = new AlgorithmSpecification
            {
                TrainingImage = job.Image,
                TrainingInputMode = job.InputMode,
                MetricDefinitions = job.MetricDefinitions.Count == 0 ? null : [.. job.MetricDefinitions.Select(d => new MetricDefinition { Name = d.Name, Regex = d.Regex })],
                EnableSageMakerMetricsTimeSeries = false,
                ContainerEntrypoint = job.ContainerEntrypoint,
                ContainerArguments = job.ContainerArguments,
            },
            RoleArn = job.RoleArn,
            InputDataConfig = Channels(job),
            OutputDataConfig = Output(job),
            ResourceConfig = Resources(job),
            VpcConfig = Vpc(job),
            StoppingCondition = new StoppingCondition { MaxRuntimeInSeconds = job.MaxRuntimeInSeconds },
            CreationTime = job.CreationTime,
            TrainingStartTime = state.TrainingStartTime,
            TrainingEndTime = state.TrainingEndTime,
            LastModifiedTime = state.LastModifiedTime,
            SecondaryStatusTransitions = [.. state.Transitions.Select(t => new SecondaryStatusTransition { Status = t.Status, StartTime = t.StartTime, EndTime = t.EndTime, StatusMessage = t.StatusMessage })],
            FinalMetricDataList = state.FinalMetrics.Count == 0 ? null : [.. state.FinalMetrics.Select(m => new MetricData { MetricName = m.MetricName, Value = (float)m.Value, Timestamp = m.Timestamp })],
            EnableNetworkIsolation = job.EnableNetworkIsolation,
            EnableInterContainerTrafficEncryption = false,
            EnableManagedSpotTraining = false,
            CheckpointConfig = Checkpoint(job),
            TrainingTimeInSeconds = state.TrainingTimeInSeconds,
            // Wall-clock seconds, however many instances: AWS bills BillableTimeInSeconds × InstanceCount.
            BillableTimeInSeconds = state.TrainingTimeInSeconds,
            Environment = job.Environment.Count == 0 ? null : job.Environment,
            ProfilingStatus = "Disabled",
        };
    }

    // A training job's parts as DescribeTrainingJob answers them (and a tuning job's TrainingJobDefinition).
    static List<Channel> Channels(TrainingJob job) => [.. job.Channels.Select(c => new Channel
    {
        ChannelName = c.Name,
        DataSource = new DataSource { S3DataSource = new S3DataSource { S3DataType = c.S3DataType, S3Uri = c.S3Uri, S3DataDistributionType = c.S3DataDistributionType, AttributeNames = c.AttributeNames } },
        ContentType = c.ContentType,
        CompressionType = c.CompressionType,
        RecordWrapperType = c.RecordWrapperType,
        InputMode = c.InputMode,
        ShuffleConfig = c.ShuffleSeed is { } seed ? new ShuffleConfig { Seed = seed } : null,
    })];

    static OutputDataConfig Output(TrainingJob job) => new() { KmsKeyId = job.OutputKmsKeyId ?? "", S3OutputPath = job.OutputPath, CompressionType = job.OutputCompression };

    static ResourceConfig Resources(TrainingJob job) => new() { InstanceType = job.InstanceType, InstanceCount = job.InstanceCount, VolumeSizeInGB = job.VolumeSizeInGB };

    static VpcConfig? Vpc(TrainingJob job) => job.VpcConfigJson is { } vpc ? JsonSerializer.Deserialize(vpc, SageMakerJson.Default.VpcConfig) : null;

    static CheckpointConfig? Checkpoint(TrainingJob job) => job.CheckpointS3Uri is { } checkpoint ? new CheckpointConfig { S3Uri = checkpoint, LocalPath = job.CheckpointLocalPath } : null;

    ListTrainingJobsResponse ListTrainingJobs(ListTrainingJobsRequest input, RequestContext ctx)
    {
        var (page, next) = ListRequests.Page(input, trainingJobs.List(ctx.Principal.AccountId), j => j.Job.Name, j => j.Job.CreationTime, j => j.State.Status, j => j.State.LastModifiedTime);
        return new ListTrainingJobsResponse
        {
            TrainingJobSummaries = [.. page.Select(j => new TrainingJobSummary
            {
                TrainingJobName = j.Job.Name,
                TrainingJobArn = j.Job.Arn,
                CreationTime = j.Job.CreationTime,
                TrainingEndTime = j.State.TrainingEndTime,
                LastModifiedTime = j.State.LastModifiedTime,
                TrainingJobStatus = j.State.Status,
                SecondaryStatus = j.State.SecondaryStatus,
            })],
            NextToken = next,
        };
    }

    void StopTrainingJob(StopTrainingJobRequest input, RequestContext ctx)
    {
        var (job, state) = RequireTrainingJob(ctx.Principal.AccountId, input.TrainingJobName!);
        if (state.Status == "InProgress") training.Stop(ctx.Principal.AccountId, job.Name);
        else if (state.Status != "Stopping") throw new TrainingJobNotStoppable(state.Status);
    }
}
