using Strata.Server.Hosting;
using Strata.Server.Jobs.Transform;
using Strata.Server.Protocol;

namespace Strata.Server.Services.SageMaker;

/// <summary>Batch transform's API: CreateTransformJob validates what AWS validates at create time
/// (limits, enums, JSONPath filters) and starts the job; the job itself runs in
/// <see cref="TransformJobRunner"/>.</summary>
public sealed partial class SageMakerService
{
    /// <summary>AWS's cap: MaxConcurrentTransforms × MaxPayloadInMB may not exceed this.</summary>
    const int MaxPayloadProduct = 100;

    CreateTransformJobResponse CreateTransformJob(CreateTransformJobRequest input, RequestContext ctx)
    {
        var name = ValidName(input.TransformJobName, "TransformJobName");
        var modelName = input.ModelName!;
        var account = ctx.Principal.AccountId;
        RequireModel(account, modelName);

        // The model's validation has checked required members, enums (but the instance type's) and ranges.
        var transformInput = input.TransformInput!;
        var source = transformInput.DataSource!.S3DataSource!;
        if (source.S3DataType is not ("S3Prefix" or "ManifestFile"))
            throw JsonProtocol.Invalid("TransformInput.DataSource.S3DataSource.S3DataType", source.S3DataType, "Member must satisfy enum value set: [ManifestFile, S3Prefix]");
        S3Uri(source.S3Uri, "TransformInput.DataSource.S3DataSource.S3Uri");
        var split = transformInput.SplitType ?? "None";
        if (split == "TFRecord") throw SageMakerErrors.ValidationException("SplitType TFRecord is not supported by Strata.");
        var compression = transformInput.CompressionType ?? "None";

        var output = input.TransformOutput!;
        S3Uri(output.S3OutputPath, "TransformOutput.S3OutputPath");
        var assemble = output.AssembleWith ?? "None";

        var resources = input.TransformResources!;
        // Strata's instance types, not the model's (their value is not checked by the generated validation).
        if (InstanceType.Find(resources.InstanceType) is null)
            throw JsonProtocol.Invalid("TransformResources.InstanceType", resources.InstanceType, "Member must satisfy enum value set: [" + string.Join(", ", InstanceType.Names) + "]");
        var count = resources.InstanceCount!.Value;
        if (count > Limits.TransformInstances)
            throw SageMakerErrors.ResourceLimitExceeded($"The limit '{resources.InstanceType} for transform job usage' is {Limits.TransformInstances} Instances per transform job, and this one asks for {count} Instances. {SageMakerLimits.Raise("transform-instances")}");

        var strategy = input.BatchStrategy ?? "SingleRecord";
        var payload = input.MaxPayloadInMB ?? 6;
        if (payload > 100) throw JsonProtocol.Invalid("MaxPayloadInMB", payload, "Member must have value less than or equal to 100");
        var concurrent = input.MaxConcurrentTransforms ?? 1;
        if (Math.Max(1, concurrent) * Math.Max(1, payload) > MaxPayloadProduct)
            throw SageMakerErrors.ValidationException($"MaxConcurrentTransforms ({concurrent}) * MaxPayloadInMB ({payload}) must not exceed {MaxPayloadProduct} MB.");

        if (input.DataProcessing is { } processing)
        {
            foreach (var (member, filter) in new[] { ("InputFilter", processing.InputFilter), ("OutputFilter", processing.OutputFilter) })
            {
                if (filter is null) continue;
                try { JsonPathFilter.Parse(filter); }
                catch (FormatException e) { throw SageMakerErrors.ValidationException($"DataProcessing.{member} \"{filter}\" is not a valid JSONPath expression: {e.Message}"); }
            }
        }

        if (input.DataCaptureConfig is { } capture)
        {
            if (!capture.DestinationS3Uri!.StartsWith("s3://", StringComparison.Ordinal))
                throw SageMakerErrors.ValidationException($"DataCaptureConfig.DestinationS3Uri '{capture.DestinationS3Uri}' is not a valid S3 URI: Strata accepts s3://bucket/prefix.");
            // Appending an inference id and time to every output record is not built.
            if (capture.GenerateInferenceId == true)
                throw SageMakerErrors.ValidationException("DataCaptureConfig.GenerateInferenceId is not supported by Strata; capture the job's input and output without it.");
        }

        var now = clock.GetUtcNow();
        var job = new TransformJobRow
        {
            TransformJobName = name,
            TransformJobArn = Arn(account, "transform-job", name),
            TransformJobStatus = "InProgress",
            ModelName = modelName,
            MaxConcurrentTransforms = concurrent,
            ModelClientConfig = input.ModelClientConfig is { } client ? new ModelClientConfigRow(client.InvocationsTimeoutInSeconds, client.InvocationsMaxRetries) : null,
            MaxPayloadInMB = payload,
            BatchStrategy = strategy,
            Environment = input.Environment,
            TransformInput = new TransformInputRow(new TransformDataSourceRow(new TransformS3DataSourceRow(source.S3DataType, source.S3Uri)), transformInput.ContentType, compression, split),
            TransformOutput = new TransformOutputRow(output.S3OutputPath, output.Accept, assemble, output.KmsKeyId),
            TransformResources = new TransformResourcesRow(resources.InstanceType, resources.InstanceCount, resources.VolumeKmsKeyId),
            DataProcessing = input.DataProcessing is { } p ? new DataProcessingRow(p.InputFilter, p.OutputFilter, p.JoinSource) : null,
            DataCaptureConfig = input.DataCaptureConfig is { } dc ? new BatchDataCaptureRow(dc.DestinationS3Uri!, dc.KmsKeyId, dc.GenerateInferenceId) : null,
            CreationTime = now,
            LastModifiedTime = now,
        };
        if (!transformJobs.Create(account, job, TagRows(input.Tags))) throw new TransformJobAlreadyExists(job.TransformJobArn);
        transforms.Start(account, name);
        return new CreateTransformJobResponse { TransformJobArn = job.TransformJobArn };
    }

    static void S3Uri(string? uri, string member)
    {
        JsonProtocol.Required(uri, member);
        if (!uri!.StartsWith("s3://", StringComparison.Ordinal) || uri.Length < 6)
            throw JsonProtocol.Invalid(member, uri, "Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$");
    }

    TransformJobRow RequireJob(string account, string name) => transformJobs.Get(account, name) ?? throw new TransformJobNotFound(name);

    DescribeTransformJobResponse DescribeTransformJob(DescribeTransformJobRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var job = transformJobs.WithProgress(account, RequireJob(account, input.TransformJobName!));
        return new DescribeTransformJobResponse
        {
            TransformJobName = job.TransformJobName,
            TransformJobArn = job.TransformJobArn,
            TransformJobStatus = job.TransformJobStatus,
            FailureReason = job.FailureReason,
            ModelName = job.ModelName,
            MaxConcurrentTransforms = job.MaxConcurrentTransforms,
            ModelClientConfig = job.ModelClientConfig is { } client
                ? new ModelClientConfig { InvocationsTimeoutInSeconds = client.InvocationsTimeoutInSeconds, InvocationsMaxRetries = client.InvocationsMaxRetries }
                : null,
            MaxPayloadInMB = job.MaxPayloadInMB,
            BatchStrategy = job.BatchStrategy,
            Environment = job.Environment,
            TransformInput = new TransformInput
            {
                DataSource = job.TransformInput.DataSource is { } data
                    ? new TransformDataSource
                    {
                        S3DataSource = data.S3DataSource is { } s3 ? new TransformS3DataSource { S3DataType = s3.S3DataType, S3Uri = s3.S3Uri } : null,
                    }
                    : null,
                ContentType = job.TransformInput.ContentType,
                CompressionType = job.TransformInput.CompressionType,
                SplitType = job.TransformInput.SplitType,
            },
            TransformOutput = new TransformOutput
            {
                S3OutputPath = job.TransformOutput.S3OutputPath,
                Accept = job.TransformOutput.Accept,
                AssembleWith = job.TransformOutput.AssembleWith,
                KmsKeyId = job.TransformOutput.KmsKeyId,
            },
            TransformResources = new TransformResources
            {
                InstanceType = job.TransformResources.InstanceType,
                InstanceCount = job.TransformResources.InstanceCount,
                VolumeKmsKeyId = job.TransformResources.VolumeKmsKeyId,
            },
            DataProcessing = job.DataProcessing is { } p ? new DataProcessing { InputFilter = p.InputFilter, OutputFilter = p.OutputFilter, JoinSource = p.JoinSource } : null,
            DataCaptureConfig = job.DataCaptureConfig is { } dc
                ? new BatchDataCaptureConfig { DestinationS3Uri = dc.DestinationS3Uri, KmsKeyId = dc.KmsKeyId, GenerateInferenceId = dc.GenerateInferenceId }
                : null,
            CreationTime = job.CreationTime,
            TransformStartTime = job.TransformStartTime,
            TransformEndTime = job.TransformEndTime,
            StrataProgress = job.StrataProgress,
        };
    }

    ListTransformJobsResponse ListTransformJobs(ListTransformJobsRequest input, RequestContext ctx)
    {
        var (page, next) = ListRequests.Page(input, transformJobs.List(ctx.Principal.AccountId), j => j.TransformJobName, j => j.CreationTime, j => j.TransformJobStatus, j => j.LastModifiedTime);
        return new ListTransformJobsResponse
        {
            TransformJobSummaries = page.Select(j => new TransformJobSummary
            {
                TransformJobName = j.TransformJobName,
                TransformJobArn = j.TransformJobArn,
                CreationTime = j.CreationTime,
                TransformEndTime = j.TransformEndTime,
                LastModifiedTime = j.LastModifiedTime,
                TransformJobStatus = j.TransformJobStatus,
                FailureReason = j.FailureReason,
            }).ToList(),
            NextToken = next,
        };
    }

    void StopTransformJob(StopTransformJobRequest input, RequestContext ctx)
    {
        var job = RequireJob(ctx.Principal.AccountId, input.TransformJobName!);
        if (job.TransformJobStatus is "InProgress") transforms.Stop(ctx.Principal.AccountId, job.TransformJobName);
        else if (job.TransformJobStatus is not "Stopping") throw new TransformJobNotStoppable(job.TransformJobName, job.TransformJobStatus);
    }
}
