using System.Text.Json;
using Strata.Server.Jobs.Containers;
using Strata.Server.Jobs.Processing;
using Strata.Server.Protocol;

namespace Strata.Server.Services.SageMaker;

/// <summary>Processing jobs' API: CreateProcessingJob checks what AWS checks when a job is created
/// (the image, the role, the inputs' and outputs' paths, the cluster) and starts it; the job runs
/// in <see cref="ProcessingJobRunner"/>.</summary>
public sealed partial class SageMakerService
{
    CreateProcessingJobResponse CreateProcessingJob(CreateProcessingJobRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = input.ProcessingJobName!;
        var app = input.AppSpecification!;
        var image = app.ImageUri!;
        if (Hosting.Images.IsModelMonitorAnalyzer(image))
        {
            // The built-in analyzer is a program of Strata's, not an interpreter for a script of the job's.
            if (app.ContainerEntrypoint is { Count: > 0 })
                throw SageMakerErrors.ValidationException($"The model monitor analyzer image {image} runs its own analysis: ContainerEntrypoint is not supported with it (configure it with the Environment dataset_format, dataset_source and output_path).");
        }
        else
        {
            var command = images.CommandFor(image)
                ?? throw SageMakerErrors.ValidationException(Hosting.Images.IsClarifyImage(image)
                    ? $"The processing image {image} is not in the image catalogue: SageMaker Clarify processing jobs are not supported by Strata; use a ModelBias monitoring schedule (CreateModelBiasJobDefinition), whose executions compute Clarify's bias metrics."
                    : $"The processing image {image} is not in the image catalogue (strata images add {image} -- COMMAND).");
            if (app.ContainerEntrypoint is { Count: > 0 } entrypoint && ContainerCommand.EntrypointRefusal(command, entrypoint) is { } refusal)
                throw SageMakerErrors.ValidationException(refusal);
        }
        var role = PassedExecutionRole(input.RoleArn!, ctx);

        var localPaths = new HashSet<string>(StringComparer.Ordinal);
        string? LocalPath(string? path, bool appManaged, string what)
        {
            if (path is null && appManaged) return null;
            var checkedPath = ProcessingLayout.CheckLocalPath(path)
                ?? throw SageMakerErrors.ValidationException($"LocalPath {path ?? "null"} of {what} is not valid: it must be an absolute path that begins with {ProcessingLayout.LocalPathPrefix} and names a directory below it.");
            if (!localPaths.Add(checkedPath))
                throw SageMakerErrors.ValidationException($"LocalPath {checkedPath} of {what} is already the LocalPath of another input or output: each must be unique.");
            return checkedPath;
        }

        List<ProcessingJobInput> inputs = [];
        foreach (var i in input.ProcessingInputs ?? [])
        {
            var what = $"ProcessingInput {i.InputName}";
            if (inputs.Any(x => x.InputName == i.InputName)) throw SageMakerErrors.ValidationException($"ProcessingInput names must be unique: {i.InputName} appears more than once.");
            if (i.DatasetDefinition is not null)
                throw SageMakerErrors.ValidationException($"{what}: DatasetDefinition (Athena and Redshift) is not supported by Strata: use S3Input.");
            var s3 = i.S3Input ?? throw SageMakerErrors.ValidationException($"{what} must specify exactly one of either S3Input or DatasetDefinition.");
            S3Uri(s3.S3Uri, $"ProcessingInputs.{i.InputName}.S3Input.S3Uri");
            var mode = s3.S3InputMode ?? "File";
            if (mode == "Pipe") throw SageMakerErrors.ValidationException($"{what}: S3InputMode Pipe is not supported by Strata yet: use File.");
            // AWS decompresses only what it streams (Pipe mode); File mode copies objects as they are.
            if (s3.S3CompressionType is "Gzip")
                throw SageMakerErrors.ValidationException($"Invalid compression type for {what}: File mode only supports None, got Gzip instead.");
            inputs.Add(new ProcessingJobInput
            {
                InputName = i.InputName!,
                AppManaged = i.AppManaged ?? false,
                S3Uri = s3.S3Uri!,
                LocalPath = LocalPath(s3.LocalPath, i.AppManaged ?? false, what),
                S3DataType = s3.S3DataType!,
                S3InputMode = mode,
                S3DataDistributionType = s3.S3DataDistributionType ?? "FullyReplicated",
                S3CompressionType = s3.S3CompressionType ?? "None",
            });
        }

        var outputConfig = input.ProcessingOutputConfig;
        List<ProcessingJobOutput> outputs = [];
        foreach (var o in outputConfig?.Outputs ?? [])
        {
            var what = $"ProcessingOutput {o.OutputName}";
            if (outputs.Any(x => x.OutputName == o.OutputName)) throw SageMakerErrors.ValidationException($"ProcessingOutput names must be unique: {o.OutputName} appears more than once.");
            if (o.FeatureStoreOutput is not null)
                throw SageMakerErrors.ValidationException($"{what}: FeatureStoreOutput is not supported by Strata: use S3Output.");
            var s3 = o.S3Output ?? throw SageMakerErrors.ValidationException($"{what} must specify exactly one of either S3Output or FeatureStoreOutput.");
            S3Uri(s3.S3Uri, $"ProcessingOutputConfig.Outputs.{o.OutputName}.S3Output.S3Uri");
            outputs.Add(new ProcessingJobOutput
            {
                OutputName = o.OutputName!,
                AppManaged = o.AppManaged ?? false,
                S3Uri = s3.S3Uri!,
                LocalPath = LocalPath(s3.LocalPath, o.AppManaged ?? false, what),
                S3UploadMode = s3.S3UploadMode!,
            });
        }

        var cluster = input.ProcessingResources!.ClusterConfig!;
        if (cluster.InstanceCount != 1)
            throw SageMakerErrors.ValidationException("Strata processes on one instance: ProcessingResources.ClusterConfig.InstanceCount must be 1 (distributed processing is not supported yet).");

        var now = clock.GetUtcNow();
        var job = new ProcessingJob
        {
            Name = name,
            Arn = Arn(account, "processing-job", name),
            RoleArn = role,
            ImageUri = image,
            ContainerEntrypoint = app.ContainerEntrypoint,
            ContainerArguments = app.ContainerArguments,
            Environment = input.Environment ?? [],
            Inputs = input.ProcessingInputs is null ? null : inputs,
            Outputs = outputConfig is null ? null : outputs,
            OutputKmsKeyId = outputConfig?.KmsKeyId,
            InstanceType = cluster.InstanceType!,
            InstanceCount = cluster.InstanceCount ?? 1,
            VolumeSizeInGB = cluster.VolumeSizeInGB ?? 1,
            VolumeKmsKeyId = cluster.VolumeKmsKeyId,
            MaxRuntimeInSeconds = input.StoppingCondition?.MaxRuntimeInSeconds,
            EnableNetworkIsolation = input.NetworkConfig?.EnableNetworkIsolation ?? false,
            NetworkConfigJson = input.NetworkConfig is { } network ? JsonSerializer.Serialize(network, SageMakerJson.Default.NetworkConfig) : null,
            ExperimentConfigJson = input.ExperimentConfig is { } experiment ? JsonSerializer.Serialize(experiment, SageMakerJson.Default.ExperimentConfig) : null,
            CreationTime = now,
        };
        if (!processingJobs.Create(account, new ProcessingJobRecord(job, new ProcessingJobState { LastModifiedTime = now }), TagRows(input.Tags)))
            throw new ProcessingJobAlreadyExists(job.Arn);
        processing.Start(account, name);
        return new CreateProcessingJobResponse { ProcessingJobArn = job.Arn };
    }

    ProcessingJobRecord RequireProcessingJob(string account, string name) => processingJobs.Get(account, name) ?? throw new ProcessingJobNotFound(name);

    DescribeProcessingJobResponse DescribeProcessingJob(DescribeProcessingJobRequest input, RequestContext ctx)
    {
        var (job, state) = RequireProcessingJob(ctx.Principal.AccountId, input.ProcessingJobName!);
        return new DescribeProcessingJobResponse
        {
            ProcessingInputs = job.Inputs?.Select(i => new ProcessingInput
            {
                InputName = i.InputName,
                AppManaged = i.AppManaged,
                S3Input = new ProcessingS3Input
                {
                    S3Uri = i.S3Uri,
                    LocalPath = i.LocalPath,
                    S3DataType = i.S3DataType,
                    S3InputMode = i.S3InputMode,
                    S3DataDistributionType = i.S3DataDistributionType,
                    S3CompressionType = i.S3CompressionType,
                },
            }).ToList(),
            ProcessingOutputConfig = job.Outputs is { } outputs ? new ProcessingOutputConfig
            {
                Outputs = [.. outputs.Select(o => new ProcessingOutput
                {
                    OutputName = o.OutputName,
                    S3Output = new ProcessingS3Output { S3Uri = o.S3Uri, LocalPath = o.LocalPath, S3UploadMode = o.S3UploadMode },
                    AppManaged = o.AppManaged,
                })],
                KmsKeyId = job.OutputKmsKeyId,
            } : null,
            ProcessingJobName = job.Name,
            ProcessingResources = new ProcessingResources
            {
                ClusterConfig = new ProcessingClusterConfig
                {
                    InstanceCount = job.InstanceCount,
                    InstanceType = job.InstanceType,
                    VolumeSizeInGB = job.VolumeSizeInGB,
                    VolumeKmsKeyId = job.VolumeKmsKeyId,
                },
            },
            StoppingCondition = job.MaxRuntimeInSeconds is { } runtime ? new ProcessingStoppingCondition { MaxRuntimeInSeconds = runtime } : null,
            AppSpecification = new AppSpecification { ImageUri = job.ImageUri, ContainerEntrypoint = job.ContainerEntrypoint, ContainerArguments = job.ContainerArguments },
            Environment = job.Environment.Count == 0 ? null : job.Environment,
            NetworkConfig = job.NetworkConfigJson is { } network ? JsonSerializer.Deserialize(network, SageMakerJson.Default.NetworkConfig) : null,
            RoleArn = job.RoleArn,
            ExperimentConfig = job.ExperimentConfigJson is { } experiment ? JsonSerializer.Deserialize(experiment, SageMakerJson.Default.ExperimentConfig) : null,
            ProcessingJobArn = job.Arn,
            ProcessingJobStatus = state.Status,
            ExitMessage = state.ExitMessage,
            FailureReason = state.FailureReason,
            ProcessingEndTime = state.ProcessingEndTime,
            ProcessingStartTime = state.ProcessingStartTime,
            LastModifiedTime = state.LastModifiedTime,
            CreationTime = job.CreationTime,
        };
    }

    ListProcessingJobsResponse ListProcessingJobs(ListProcessingJobsRequest input, RequestContext ctx)
    {
        var (page, next) = ListRequests.Page(input, processingJobs.List(ctx.Principal.AccountId), j => j.Job.Name, j => j.Job.CreationTime, j => j.State.Status, j => j.State.LastModifiedTime);
        return new ListProcessingJobsResponse
        {
            ProcessingJobSummaries = [.. page.Select(j => new ProcessingJobSummary
            {
                ProcessingJobName = j.Job.Name,
                ProcessingJobArn = j.Job.Arn,
                CreationTime = j.Job.CreationTime,
                ProcessingEndTime = j.State.ProcessingEndTime,
                LastModifiedTime = j.State.LastModifiedTime,
                ProcessingJobStatus = j.State.Status,
                FailureReason = j.State.FailureReason,
                ExitMessage = j.State.ExitMessage,
            })],
            NextToken = next,
        };
    }

    void StopProcessingJob(StopProcessingJobRequest input, RequestContext ctx)
    {
        var (job, state) = RequireProcessingJob(ctx.Principal.AccountId, input.ProcessingJobName!);
        if (state.Status == "InProgress") processing.Stop(ctx.Principal.AccountId, job.Name);
        else if (state.Status != "Stopping") throw new ProcessingJobNotStoppable(state.Status);
    }
}
