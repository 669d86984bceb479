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

    static readonly string[] SplitTypes = ["None", "Line", "RecordIO"];

    async Task CreateTransformJob(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, TransformJson.Default.CreateTransformJobInput);
        var name = ValidName(input.TransformJobName, "TransformJobName");
        var modelName = JsonProtocol.Required(input.ModelName, "ModelName");
        var account = ctx.Principal.AccountId;
        if (store.GetModel(account, modelName) is null) throw NotFound("model", Arn(account, "model", modelName));

        var transformInput = JsonProtocol.Required(input.TransformInput, "TransformInput");
        var source = JsonProtocol.Required(JsonProtocol.Required(transformInput.DataSource, "TransformInput.DataSource").S3DataSource, "TransformInput.DataSource.S3DataSource");
        if (source.S3DataType is not ("S3Prefix" or "ManifestFile"))
            throw JsonProtocol.Invalid("TransformInput.DataSource.S3DataSource.S3DataType", source.S3DataType, "Member must satisfy enum value set: [ManifestFile, S3Prefix]");
        S3Uri(source.S3Uri, "TransformInput.DataSource.S3DataSource.S3Uri");
        var split = transformInput.SplitType ?? "None";
        if (!SplitTypes.Contains(split))
            throw split == "TFRecord" ? new AwsException("ValidationException", 400, "SplitType TFRecord is not supported by Strata.")
                : JsonProtocol.Invalid("TransformInput.SplitType", split, "Member must satisfy enum value set: [None, Line, RecordIO, TFRecord]");
        var compression = transformInput.CompressionType ?? "None";
        if (compression is not ("None" or "Gzip")) throw JsonProtocol.Invalid("TransformInput.CompressionType", compression, "Member must satisfy enum value set: [None, Gzip]");

        var output = JsonProtocol.Required(input.TransformOutput, "TransformOutput");
        S3Uri(output.S3OutputPath, "TransformOutput.S3OutputPath");
        var assemble = output.AssembleWith ?? "None";
        if (assemble is not ("None" or "Line")) throw JsonProtocol.Invalid("TransformOutput.AssembleWith", assemble, "Member must satisfy enum value set: [None, Line]");

        var resources = JsonProtocol.Required(input.TransformResources, "TransformResources");
        if (InstanceType.Find(resources.InstanceType) is null)
            throw JsonProtocol.Invalid("TransformResources.InstanceType", resources.InstanceType, "Member must satisfy enum value set: [" + string.Join(", ", InstanceType.Names) + "]");
        var count = resources.InstanceCount ?? throw JsonProtocol.Invalid("TransformResources.InstanceCount", null, "Member must not be null");
        if (count < 1) throw JsonProtocol.Invalid("TransformResources.InstanceCount", count, "Member must have value greater than or equal to 1");
        if (count > MaxInstancesPerVariant)
            throw new AwsException("ResourceLimitExceeded", 400, $"The account-level service limit 'ml.* for transform job usage' is {MaxInstancesPerVariant} Instances, with current utilization of 0 Instances and a request delta of {count} Instances.");

        var strategy = input.BatchStrategy ?? "SingleRecord";
        if (strategy is not ("SingleRecord" or "MultiRecord")) throw JsonProtocol.Invalid("BatchStrategy", strategy, "Member must satisfy enum value set: [MultiRecord, SingleRecord]");
        var payload = input.MaxPayloadInMB ?? 6;
        if (payload is < 0 or > 100) throw JsonProtocol.Invalid("MaxPayloadInMB", payload, payload < 0 ? "Member must have value greater than or equal to 0" : "Member must have value less than or equal to 100");
        var concurrent = input.MaxConcurrentTransforms ?? 1;
        if (concurrent < 0) throw JsonProtocol.Invalid("MaxConcurrentTransforms", concurrent, "Member must have value greater than or equal to 0");
        if (Math.Max(1, concurrent) * Math.Max(1, payload) > MaxPayloadProduct)
            throw new AwsException("ValidationException", 400, $"MaxConcurrentTransforms ({concurrent}) * MaxPayloadInMB ({payload}) must not exceed {MaxPayloadProduct} MB.");

        if (input.DataProcessing is { } processing)
        {
            foreach (var (member, filter) in new[] { ("InputFilter", processing.InputFilter), ("OutputFilter", processing.OutputFilter) })
            {
                if (filter is null) continue;
                try { JsonPathFilter.Parse(filter); }
                catch (FormatException e) { throw new AwsException("ValidationException", 400, $"DataProcessing.{member} \"{filter}\" is not a valid JSONPath expression: {e.Message}"); }
            }
            if (processing.JoinSource is not (null or "None" or "Input"))
                throw JsonProtocol.Invalid("DataProcessing.JoinSource", processing.JoinSource, "Member must satisfy enum value set: [Input, None]");
        }
        if (input.Tags is { } jobTags) ValidateTags(jobTags);

        var now = clock.GetUtcNow();
        var job = new TransformJobRecord
        {
            TransformJobName = name,
            TransformJobArn = Arn(account, "transform-job", name),
            TransformJobStatus = "InProgress",
            ModelName = modelName,
            MaxConcurrentTransforms = concurrent,
            ModelClientConfig = input.ModelClientConfig,
            MaxPayloadInMB = payload,
            BatchStrategy = strategy,
            Environment = input.Environment,
            TransformInput = transformInput with { SplitType = split, CompressionType = compression },
            TransformOutput = output with { AssembleWith = assemble },
            TransformResources = resources,
            DataProcessing = input.DataProcessing,
            CreationTime = now,
            LastModifiedTime = now,
        };
        if (!transformJobs.Create(account, job))
            throw new AwsException("ResourceInUse", 400, $"Job name must be unique within an AWS account and region, and a job with this name already exists ({job.TransformJobArn})");
        SaveTags(job.TransformJobArn, input.Tags);
        transforms.Start(account, name);
        await JsonProtocol.WriteAsync(ctx, new CreateTransformJobOutput(job.TransformJobArn), TransformJson.Default.CreateTransformJobOutput);
    }

    static void S3Uri(string? uri, string member)
    {
        JsonProtocol.Required(uri, member);
        if (!uri!.StartsWith("s3://", StringComparison.Ordinal) || uri.Length < 6)
            throw JsonProtocol.Invalid(member, uri, "Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$");
    }

    TransformJobRecord RequireJob(RequestContext ctx)
    {
        var name = JsonProtocol.Required(JsonProtocol.Input(ctx, TransformJson.Default.TransformJobNameInput).TransformJobName, "TransformJobName");
        return transformJobs.Get(ctx.Principal.AccountId, name)
            ?? throw new AwsException("ValidationException", 400, $"Could not find requested job with name {name}");
    }

    Task DescribeTransformJob(RequestContext ctx)
        => JsonProtocol.WriteAsync(ctx, transformJobs.WithProgress(ctx.Principal.AccountId, RequireJob(ctx)), TransformJson.Default.TransformJobRecord);

    async Task ListTransformJobs(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, SageMakerJson.Default.ListInput);
        if (input.StatusEquals is { } status && status is not ("InProgress" or "Completed" or "Failed" or "Stopping" or "Stopped"))
            throw JsonProtocol.Invalid("StatusEquals", status, "Member must satisfy enum value set: [InProgress, Completed, Failed, Stopping, Stopped]");
        var items = Filter(transformJobs.List(ctx.Principal.AccountId), input, j => j.TransformJobName, j => j.CreationTime, j => j.TransformJobStatus)
            .Where(j => input.StatusEquals is null || j.TransformJobStatus == input.StatusEquals).ToList();
        var (page, next) = PageToken.Page(items, input.NextToken, input.MaxResults);
        await JsonProtocol.WriteAsync(ctx, new ListTransformJobsOutput(page.Select(j => new TransformJobSummary(j.TransformJobName, j.TransformJobArn, j.CreationTime,
            j.TransformEndTime, j.LastModifiedTime, j.TransformJobStatus, j.FailureReason)).ToList(), next), TransformJson.Default.ListTransformJobsOutput);
    }

    Task StopTransformJob(RequestContext ctx)
    {
        var job = RequireJob(ctx);
        if (job.TransformJobStatus is "InProgress") transforms.Stop(ctx.Principal.AccountId, job.TransformJobName);
        else if (job.TransformJobStatus is not "Stopping")
            throw new AwsException("ValidationException", 400, $"Transform job {job.TransformJobName} is {job.TransformJobStatus} and cannot be stopped.");
        return JsonProtocol.WriteEmptyAsync(ctx);
    }
}
