using System.Text.RegularExpressions;
using Strata.Server.Auth;
using Strata.Server.Hosting;
using Strata.Server.Jobs.Processing;
using Strata.Server.Jobs.Training;
using Strata.Server.Jobs.Transform;
using Strata.Server.Protocol;

namespace Strata.Server.Services.SageMaker;

/// <summary>
/// The SageMaker control plane (JSON 1.1, <c>X-Amz-Target: SageMaker.*</c>) for hosting: models,
/// endpoint configurations and endpoints, and batch transform. Inputs and outputs are the
/// generated shapes (SageMaker.g.cs), read and checked against the model before authorization;
/// what is stored are Strata's rows (SageMakerRows.cs). Errors are AWS's: a name that does not
/// exist is a <c>ValidationException</c> ("Could not find …"), which the CLI's waiters rely on
/// (the domain errors and their table: SageMakerErrorTable.cs).
/// </summary>
public sealed partial class SageMakerService(SageMakerStore store, HostingService hosting, EndpointHosting endpoints, ImageCatalogue images, ExecutionRoles roles,
    TimeProvider clock, string region, TransformJobStore transformJobs, TransformJobRunner transforms, TrainingJobStore trainingJobs, TrainingJobRunner training,
    ModelRegistryStore registry, ProcessingJobStore processingJobs, ProcessingJobRunner processing)
{
    /// <summary>How long CreateEndpoint waits for a quick deployment before answering, so that a
    /// waiter's first DescribeEndpoint already sees InService (the status stays truthful either way).</summary>
    static readonly TimeSpan CreateWait = TimeSpan.FromSeconds(3);

    /// <summary>Strata's service limits (<c>strata serve --limit</c>); the composition root sets them.</summary>
    public SageMakerLimits Limits { get; init; } = new();

    public IEnumerable<Operation> Operations =>
    [
        SageMakerOperations.CreateModel.Bind("sagemaker:CreateModel",
            Named<CreateModelInput>("model", r => r.ModelName, r => new(r.Tags, NetworkIsolation: r.EnableNetworkIsolation)), CreateModel),
        SageMakerOperations.DescribeModel.Bind("sagemaker:DescribeModel", Named<DescribeModelInput>("model", r => r.ModelName), DescribeModel),
        SageMakerOperations.ListModels.Bind("sagemaker:ListModels", Anywhere, ListModels),
        SageMakerOperations.DeleteModel.Bind("sagemaker:DeleteModel", Named<DeleteModelInput>("model", r => r.ModelName), DeleteModel),
        .. ModelRegistryOperations,
        SageMakerOperations.CreateEndpointConfig.Bind("sagemaker:CreateEndpointConfig",
            Named<CreateEndpointConfigInput>("endpoint-config", r => r.EndpointConfigName,
                r => new(r.Tags, NetworkIsolation: r.EnableNetworkIsolation, Variants: r.ProductionVariants)), CreateEndpointConfig),
        SageMakerOperations.DescribeEndpointConfig.Bind("sagemaker:DescribeEndpointConfig",
            Named<DescribeEndpointConfigInput>("endpoint-config", r => r.EndpointConfigName), DescribeEndpointConfig),
        SageMakerOperations.ListEndpointConfigs.Bind("sagemaker:ListEndpointConfigs", Anywhere, ListEndpointConfigs),
        SageMakerOperations.DeleteEndpointConfig.Bind("sagemaker:DeleteEndpointConfig",
            Named<DeleteEndpointConfigInput>("endpoint-config", r => r.EndpointConfigName), DeleteEndpointConfig),
        SageMakerOperations.CreateEndpoint.Bind("sagemaker:CreateEndpoint", Named<CreateEndpointInput>("endpoint", r => r.EndpointName, r => new(r.Tags)), CreateEndpoint),
        SageMakerOperations.DescribeEndpoint.Bind("sagemaker:DescribeEndpoint", Named<DescribeEndpointInput>("endpoint", r => r.EndpointName), DescribeEndpoint),
        SageMakerOperations.ListEndpoints.Bind("sagemaker:ListEndpoints", Anywhere, ListEndpoints),
        SageMakerOperations.DeleteEndpoint.Bind("sagemaker:DeleteEndpoint", Named<DeleteEndpointInput>("endpoint", r => r.EndpointName), DeleteEndpoint),
        SageMakerOperations.UpdateEndpoint.Bind("sagemaker:UpdateEndpoint", Named<UpdateEndpointInput>("endpoint", r => r.EndpointName), UpdateEndpoint),
        SageMakerOperations.UpdateEndpointWeightsAndCapacities.Bind("sagemaker:UpdateEndpointWeightsAndCapacities",
            Named<UpdateEndpointWeightsAndCapacitiesInput>("endpoint", r => r.EndpointName), UpdateEndpointWeightsAndCapacities),
        SageMakerOperations.CreateTransformJob.Bind("sagemaker:CreateTransformJob",
            Named<CreateTransformJobRequest>("transform-job", r => r.TransformJobName, r => new(r.Tags)), CreateTransformJob),
        SageMakerOperations.DescribeTransformJob.Bind("sagemaker:DescribeTransformJob",
            Named<DescribeTransformJobRequest>("transform-job", r => r.TransformJobName), DescribeTransformJob),
        SageMakerOperations.ListTransformJobs.Bind("sagemaker:ListTransformJobs", Anywhere, ListTransformJobs),
        SageMakerOperations.StopTransformJob.Bind("sagemaker:StopTransformJob", Named<StopTransformJobRequest>("transform-job", r => r.TransformJobName), StopTransformJob),
        SageMakerOperations.CreateTrainingJob.Bind("sagemaker:CreateTrainingJob",
            Named<CreateTrainingJobRequest>("training-job", r => r.TrainingJobName, r => new(r.Tags, NetworkIsolation: r.EnableNetworkIsolation)), CreateTrainingJob),
        SageMakerOperations.DescribeTrainingJob.Bind("sagemaker:DescribeTrainingJob",
            Named<DescribeTrainingJobRequest>("training-job", r => r.TrainingJobName), DescribeTrainingJob),
        SageMakerOperations.ListTrainingJobs.Bind("sagemaker:ListTrainingJobs", Anywhere, ListTrainingJobs),
        SageMakerOperations.StopTrainingJob.Bind("sagemaker:StopTrainingJob", Named<StopTrainingJobRequest>("training-job", r => r.TrainingJobName), StopTrainingJob),
        SageMakerOperations.CreateProcessingJob.Bind("sagemaker:CreateProcessingJob",
            Named<CreateProcessingJobRequest>("processing-job", r => r.ProcessingJobName, r => new(r.Tags, NetworkIsolation: r.NetworkConfig?.EnableNetworkIsolation)), CreateProcessingJob),
        SageMakerOperations.DescribeProcessingJob.Bind("sagemaker:DescribeProcessingJob",
            Named<DescribeProcessingJobRequest>("processing-job", r => r.ProcessingJobName), DescribeProcessingJob),
        SageMakerOperations.ListProcessingJobs.Bind("sagemaker:ListProcessingJobs", Anywhere, ListProcessingJobs),
        SageMakerOperations.StopProcessingJob.Bind("sagemaker:StopProcessingJob", Named<StopProcessingJobRequest>("processing-job", r => r.ProcessingJobName), StopProcessingJob),
        SageMakerOperations.CreateHyperParameterTuningJob.Bind("sagemaker:CreateHyperParameterTuningJob",
            Named<CreateHyperParameterTuningJobRequest>("hyper-parameter-tuning-job", r => r.HyperParameterTuningJobName, r => new(r.Tags)), CreateHyperParameterTuningJob),
        SageMakerOperations.DescribeHyperParameterTuningJob.Bind("sagemaker:DescribeHyperParameterTuningJob",
            Named<DescribeHyperParameterTuningJobRequest>("hyper-parameter-tuning-job", r => r.HyperParameterTuningJobName), DescribeHyperParameterTuningJob),
        SageMakerOperations.ListHyperParameterTuningJobs.Bind("sagemaker:ListHyperParameterTuningJobs", Anywhere, ListHyperParameterTuningJobs),
        SageMakerOperations.ListTrainingJobsForHyperParameterTuningJob.Bind("sagemaker:ListTrainingJobsForHyperParameterTuningJob",
            Named<ListTrainingJobsForHyperParameterTuningJobRequest>("hyper-parameter-tuning-job", r => r.HyperParameterTuningJobName), ListTrainingJobsForHyperParameterTuningJob),
        SageMakerOperations.StopHyperParameterTuningJob.Bind("sagemaker:StopHyperParameterTuningJob",
            Named<StopHyperParameterTuningJobRequest>("hyper-parameter-tuning-job", r => r.HyperParameterTuningJobName), StopHyperParameterTuningJob),
        SageMakerOperations.DeleteHyperParameterTuningJob.Bind("sagemaker:DeleteHyperParameterTuningJob",
            Named<DeleteHyperParameterTuningJobRequest>("hyper-parameter-tuning-job", r => r.HyperParameterTuningJobName), DeleteHyperParameterTuningJob),
        .. MonitoringOperations,
        .. MonitoringAlertOperations,
        SageMakerOperations.AddTags.Bind("sagemaker:AddTags", Tagged<AddTagsInput>(r => r.ResourceArn, r => new(r.Tags)), AddTags),
        SageMakerOperations.ListTags.Bind("sagemaker:ListTags", Tagged<ListTagsInput>(r => r.ResourceArn), ListTags),
        SageMakerOperations.DeleteTags.Bind("sagemaker:DeleteTags", Tagged<DeleteTagsInput>(r => r.ResourceArn), DeleteTags),
    ];

    // ---- resources and condition keys (computed from the typed input; no side effects) ----

    /// <summary>What a request says about itself for the condition keys: the tags it adds
    /// (<c>aws:RequestTag/*</c>, <c>aws:TagKeys</c>) and SageMaker's keys
    /// (<c>sagemaker:NetworkIsolation</c>, <c>sagemaker:InstanceTypes</c>).</summary>
    readonly record struct RequestKeys(List<Tag>? Tags, bool? NetworkIsolation = null, List<ProductionVariant>? Variants = null);

    static string Anywhere<TIn>(TIn request, RequestContext ctx) => "*";

    /// <summary>The ARN of the resource a request names, with its condition keys.</summary>
    Func<TIn, RequestContext, string> Named<TIn>(string type, Func<TIn, string?> name, Func<TIn, RequestKeys>? keys = null)
        => (request, ctx) => WithConditionKeys(ctx, Arn(ctx.Principal.AccountId, type, name(request) ?? ""), keys?.Invoke(request));

    /// <summary>The tagging operations name their resource by ARN.</summary>
    Func<TIn, RequestContext, string> Tagged<TIn>(Func<TIn, string?> arn, Func<TIn, RequestKeys>? keys = null)
        => (request, ctx) => WithConditionKeys(ctx, arn(request) ?? "*", keys?.Invoke(request));

    /// <summary>Sets the condition keys of a request on <paramref name="arn"/>: the resource's tags
    /// (<c>aws:ResourceTag/*</c>) and what the request says (<see cref="RequestKeys"/>).</summary>
    string WithConditionKeys(RequestContext ctx, string arn, RequestKeys? keys)
    {
        foreach (var tag in store.GetTags(arn)) ctx.ConditionKeys["aws:ResourceTag/" + tag.Key] = [tag.Value];
        if (keys is not { } request) return arn;
        if (request.Tags is { } tags)
        {
            var tagKeys = new List<string>();
            foreach (var tag in tags)
            {
                if (tag.Key is not { } key) continue;
                tagKeys.Add(key);
                if (tag.Value is { } value) ctx.ConditionKeys["aws:RequestTag/" + key] = [value];
            }
            ctx.ConditionKeys["aws:TagKeys"] = tagKeys;
        }
        if (request.NetworkIsolation is { } isolation) ctx.ConditionKeys["sagemaker:NetworkIsolation"] = [isolation ? "true" : "false"];
        if (request.Variants is { } variants)
            ctx.ConditionKeys["sagemaker:InstanceTypes"] = variants.Select(v => v.InstanceType).OfType<string>().Distinct().ToList();
        return arn;
    }

    /// <summary>SageMaker ARNs carry resource names in lower case.</summary>
    string Arn(string account, string type, string name) => $"arn:aws:sagemaker:{region}:{account}:{type}/{name.ToLowerInvariant()}";

    [GeneratedRegex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]
    private static partial Regex NamePattern();

    /// <summary>The model's name pattern (the generated validation checks lengths, not patterns).</summary>
    static string ValidName(string? name, string member)
    {
        JsonProtocol.Required(name, member);
        if (!NamePattern().IsMatch(name!))
            throw JsonProtocol.Invalid(member, name, "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}");
        return name!;
    }

    ModelRow RequireModel(string account, string name) => store.GetModel(account, name) ?? throw new ModelNotFound(Arn(account, "model", name));

    EndpointConfigRow RequireEndpointConfig(string account, string name)
        => store.GetEndpointConfig(account, name) ?? throw new EndpointConfigNotFound(Arn(account, "endpoint-config", name));

    EndpointRow RequireEndpoint(string account, string name) => store.GetEndpoint(account, name) ?? throw new EndpointNotFound(Arn(account, "endpoint", name));

    // ---- tags ----

    /// <summary>The resource an ARN names must exist in the caller's account.</summary>
    string RequireResource(RequestContext ctx, string arn)
    {
        var account = ctx.Principal.AccountId;
        var prefix = $"arn:aws:sagemaker:{region}:{account}:";
        var rest = arn.StartsWith(prefix, StringComparison.Ordinal) ? arn[prefix.Length..] : "";
        var slash = rest.IndexOf('/');
        var (type, name) = slash > 0 ? (rest[..slash], rest[(slash + 1)..]) : ("", "");
        var exists = type switch
        {
            "model" => store.ListModels(account).Any(m => m.ModelArn == arn),
            "endpoint-config" => store.ListEndpointConfigs(account).Any(c => c.EndpointConfigArn == arn),
            "endpoint" => store.ListEndpoints(account).Any(e => e.EndpointArn == arn),
            "transform-job" => transformJobs.List(account).Any(j => j.TransformJobArn == arn),
            "model-package-group" => GroupRef(account, arn).Name is { } group && registry.GetGroup(account, group)?.ModelPackageGroupArn == arn,
            "model-package" => PackageRef(account, arn).Key is { } package && registry.GetPackage(package)?.ModelPackageArn == arn,
            "processing-job" => processingJobs.List(account).Any(j => j.Job.Arn == arn),
            "training-job" => trainingJobs.List(account).Any(j => j.Job.Arn == arn),
            "hyper-parameter-tuning-job" => TuningJobs.List(account).Any(j => j.Job.Arn == arn),
            "data-quality-job-definition" => Monitoring.ListDefinitions(MonitoringStore.DataQuality, account).Any(d => d.JobDefinitionArn == arn),
            "model-quality-job-definition" => Monitoring.ListDefinitions(MonitoringStore.ModelQuality, account).Any(d => d.JobDefinitionArn == arn),
            "model-bias-job-definition" => Monitoring.ListDefinitions(MonitoringStore.ModelBias, account).Any(d => d.JobDefinitionArn == arn),
            "model-explainability-job-definition" => Monitoring.ListDefinitions(MonitoringStore.ModelExplainability, account).Any(d => d.JobDefinitionArn == arn),
            "monitoring-schedule" => Monitoring.ListSchedules(account).Any(m => m.MonitoringScheduleArn == arn),
            _ => false,
        };
        return exists ? arn : throw new TaggedResourceNotFound(arn);
    }

    void SaveTags(string arn, List<Tag>? tags)
    {
        if (tags is not { Count: > 0 }) return;
        var rows = TagRows(tags);
        store.UpdateTags(arn, current => [.. current.Where(c => rows.All(t => t.Key != c.Key)), .. rows]);
    }

    static List<TagRow> TagRows(List<Tag>? tags) => tags?.Select(t => new TagRow(t.Key!, t.Value!)).ToList() ?? [];

    static List<Tag> Wire(List<TagRow> tags) => tags.Select(t => new Tag { Key = t.Key, Value = t.Value }).ToList();

    AddTagsOutput AddTags(AddTagsInput input, RequestContext ctx)
    {
        var arn = RequireResource(ctx, input.ResourceArn!);
        var tags = input.Tags!;
        SaveTags(arn, tags);
        return new AddTagsOutput { Tags = tags };
    }

    ListTagsOutput ListTags(ListTagsInput input, RequestContext ctx)
    {
        var arn = RequireResource(ctx, input.ResourceArn!);
        var (page, next) = PageToken.Page(store.GetTags(arn), input.NextToken, input.MaxResults, defaultMax: 50, limit: 100);
        return new ListTagsOutput { Tags = Wire(page), NextToken = next };
    }

    DeleteTagsOutput DeleteTags(DeleteTagsInput input, RequestContext ctx)
    {
        var arn = RequireResource(ctx, input.ResourceArn!);
        var keys = input.TagKeys!;
        store.UpdateTags(arn, current => current.Where(c => !keys.Contains(c.Key)).ToList());
        return new DeleteTagsOutput();
    }

    // ---- models ----

    CreateModelOutput CreateModel(CreateModelInput input, RequestContext ctx)
    {
        var name = ValidName(input.ModelName, "ModelName");
        var account = ctx.Principal.AccountId;
        // A container may name a model package instead of an image (ModelRegistryOperations.cs).
        var primaryContainer = input.PrimaryContainer is { } given ? FromPackage(account, given) : null;
        var containers = input.Containers?.Select(c => FromPackage(account, c)).ToList();
        var container = primaryContainer ?? containers?.FirstOrDefault()
            ?? throw SageMakerErrors.ValidationException("Either PrimaryContainer or Containers must be specified.");
        var image = JsonProtocol.Required(container.Image, "PrimaryContainer.Image");
        if (!Images.IsBuiltIn(image) && images.CommandFor(image) is null)
            throw SageMakerErrors.ValidationException($"Image {image} cannot be run by Strata: use an image whose repository is {Images.BuiltInRepository} (the built-in ONNX Runtime container), or add it to the image catalogue with `strata images add {image} -- COMMAND`.");
        if (container.Mode == "MultiModel")
        {
            if (!Images.IsBuiltIn(image))
                throw SageMakerErrors.ValidationException($"Multi-model endpoints run on the built-in container ({Images.BuiltInRepository}); {image} does not implement the multi-model API here.");
            if (container.ModelDataUrl is not { } prefix || !prefix.EndsWith('/'))
                throw SageMakerErrors.ValidationException("A multi-model container's ModelDataUrl must be an S3 prefix ending with '/', under which the TargetModel of each request is found.");
        }
        if (container.ModelDataUrl is { } url && !url.StartsWith("s3://", StringComparison.Ordinal))
            throw JsonProtocol.Invalid("PrimaryContainer.ModelDataUrl", url, "Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$");
        // SageMaker acts as the execution role: the caller must be allowed to pass it to SageMaker,
        // and the role must trust SageMaker.
        var role = JsonProtocol.Required(input.ExecutionRoleArn, "ExecutionRoleArn");
        ctx.ConditionKeys["iam:PassedToService"] = [ExecutionRoles.SageMaker];
        ctx.Authorize("iam:PassRole", role);
        if (roles.CannotAssume(role, ExecutionRoles.SageMaker) is { } reason) throw SageMakerErrors.ValidationException(reason);
        var row = new ModelRow
        {
            ModelName = name,
            ModelArn = Arn(account, "model", name),
            PrimaryContainer = primaryContainer is { } primary ? Row(primary) : null,
            Containers = containers?.Select(Row).ToList(),
            ExecutionRoleArn = input.ExecutionRoleArn,
            CreationTime = clock.GetUtcNow(),
            EnableNetworkIsolation = input.EnableNetworkIsolation ?? false,
        };
        if (!store.CreateModel(account, row)) throw new ModelAlreadyExists(row.ModelArn);
        SaveTags(row.ModelArn, input.Tags);
        return new CreateModelOutput { ModelArn = row.ModelArn };
    }

    static ContainerRow Row(ContainerDefinition c) => new()
    {
        ContainerHostname = c.ContainerHostname,
        Image = c.Image,
        Mode = c.Mode,
        ModelDataUrl = c.ModelDataUrl,
        Environment = c.Environment,
        ModelPackageName = c.ModelPackageName,
    };

    static ContainerDefinition Wire(ContainerRow c) => new()
    {
        ContainerHostname = c.ContainerHostname,
        Image = c.Image,
        Mode = c.Mode,
        ModelDataUrl = c.ModelDataUrl,
        Environment = c.Environment,
        ModelPackageName = c.ModelPackageName,
    };

    DescribeModelOutput DescribeModel(DescribeModelInput input, RequestContext ctx)
    {
        var model = RequireModel(ctx.Principal.AccountId, input.ModelName!);
        return new DescribeModelOutput
        {
            ModelName = model.ModelName,
            ModelArn = model.ModelArn,
            PrimaryContainer = model.PrimaryContainer is { } primary ? Wire(primary) : null,
            Containers = model.Containers?.Select(Wire).ToList(),
            ExecutionRoleArn = model.ExecutionRoleArn,
            CreationTime = model.CreationTime,
            EnableNetworkIsolation = model.EnableNetworkIsolation,
        };
    }

    ListModelsOutput ListModels(ListModelsInput input, RequestContext ctx)
    {
        var (page, next) = ListRequests.Page(input, store.ListModels(ctx.Principal.AccountId), m => m.ModelName, m => m.CreationTime);
        return new ListModelsOutput
        {
            Models = page.Select(m => new ModelSummary { ModelName = m.ModelName, ModelArn = m.ModelArn, CreationTime = m.CreationTime }).ToList(),
            NextToken = next,
        };
    }

    void DeleteModel(DeleteModelInput input, RequestContext ctx)
    {
        var (account, name) = (ctx.Principal.AccountId, input.ModelName!);
        if (!store.DeleteModel(account, name)) throw new ModelNotFound(Arn(account, "model", name));
        store.UpdateTags(Arn(account, "model", name), _ => []);
    }

    // ---- endpoint configurations ----

    CreateEndpointConfigOutput CreateEndpointConfig(CreateEndpointConfigInput input, RequestContext ctx)
    {
        var name = ValidName(input.EndpointConfigName, "EndpointConfigName");
        var variants = input.ProductionVariants!;
        var account = ctx.Principal.AccountId;
        foreach (var v in variants)
        {
            ValidName(v.VariantName, "ProductionVariants.VariantName");
            var model = RequireModel(account, JsonProtocol.Required(v.ModelName, "ProductionVariants.ModelName"));
            if (v.ServerlessConfig is { } serverless)
            {
                if (model.PrimaryContainer?.Mode == "MultiModel")
                    throw SageMakerErrors.ValidationException("Serverless endpoints do not support multi-model containers.");
                ValidateServerless(serverless, v, variants.Count, input.DataCaptureConfig is not null);
                continue;
            }
            // Strata's instance types, not the model's (their value is not checked by the generated validation).
            if (InstanceType.Find(v.InstanceType) is null)
                throw JsonProtocol.Invalid("ProductionVariants.InstanceType", v.InstanceType, $"Member must satisfy enum value set: [{string.Join(", ", InstanceType.Names)}]");
            // Its instance count is held against the limit when instances are asked for (CreateEndpoint,
            // UpdateEndpoint), as AWS holds it against the quota then, not when the configuration is made.
            if (v.InitialInstanceCount is null)
                throw JsonProtocol.Invalid("ProductionVariants.InitialInstanceCount", null, "Member must have value greater than or equal to 1");
        }
        if (variants.Select(v => v.VariantName).Distinct().Count() != variants.Count)
            throw SageMakerErrors.ValidationException("The variant names in ProductionVariants must be unique.");
        var capture = DataCaptureConfigs.Row(input.DataCaptureConfig);
        var asyncInference = input.AsyncInferenceConfig is { } asyncConfig ? ValidateAsyncInference(account, asyncConfig, variants) : null;
        var row = new EndpointConfigRow
        {
            EndpointConfigName = name,
            EndpointConfigArn = Arn(account, "endpoint-config", name),
            ProductionVariants = variants.Select(v => new VariantRow
            {
                VariantName = v.VariantName,
                ModelName = v.ModelName,
                InitialInstanceCount = v.InitialInstanceCount,
                InstanceType = v.InstanceType,
                InitialVariantWeight = v.InitialVariantWeight ?? 1f,
                RoutingConfig = v.RoutingConfig is { } routing ? new RoutingRow(routing.RoutingStrategy) : null,
                ServerlessConfig = v.ServerlessConfig is { } s ? new ServerlessRow(s.MemorySizeInMB, s.MaxConcurrency, s.ProvisionedConcurrency) : null,
            }).ToList(),
            KmsKeyId = input.KmsKeyId,
            DataCaptureConfig = capture,
            CreationTime = clock.GetUtcNow(),
            AsyncInferenceConfig = asyncInference,
        };
        if (!store.CreateEndpointConfig(account, row)) throw new EndpointConfigAlreadyExists(row.EndpointConfigArn);
        SaveTags(row.EndpointConfigArn, input.Tags);
        return new CreateEndpointConfigOutput { EndpointConfigArn = row.EndpointConfigArn };
    }

    /// <summary>What AWS accepts for an asynchronous endpoint, beyond the model's patterns: an
    /// output path (where every answer goes), instance-backed variants only (no serverless, no
    /// multi-model container), and topics in the configuration's own region.</summary>
    AsyncInferenceRow ValidateAsyncInference(string account, AsyncInferenceConfig c, List<ProductionVariant> variants)
    {
        var output = c.OutputConfig!;
        var outputPath = output.S3OutputPath;
        if (string.IsNullOrEmpty(outputPath))
            throw JsonProtocol.Invalid("AsyncInferenceConfig.OutputConfig.S3OutputPath", null, "Member must not be null");
        foreach (var (member, path) in new[] { ("S3OutputPath", outputPath), ("S3FailurePath", output.S3FailurePath) })
            if (path is not null && !path.StartsWith("s3://", StringComparison.Ordinal))
                throw SageMakerErrors.ValidationException($"{member} {path} is not a valid S3 URI: it must start with s3://.");
        if (variants.Any(v => v.ServerlessConfig is not null))
            throw SageMakerErrors.ValidationException("AsyncInferenceConfig is not supported for serverless endpoints.");
        if (variants.Any(v => store.GetModel(account, v.ModelName!)?.PrimaryContainer?.Mode == "MultiModel"))
            throw SageMakerErrors.ValidationException("AsyncInferenceConfig is not supported for multi-model endpoints.");
        var notification = output.NotificationConfig;
        foreach (var (member, topic) in new[] { ("SuccessTopic", notification?.SuccessTopic), ("ErrorTopic", notification?.ErrorTopic) })
            if (topic is not null && topic.Split(':') is [_, _, _, var topicRegion, ..] && topicRegion != region)
                throw SageMakerErrors.ValidationException($"The {member} {topic} must be in the same region as the endpoint ({region}).");
        return new AsyncInferenceRow(c.ClientConfig?.MaxConcurrentInvocationsPerInstance, outputPath, output.S3FailurePath, output.KmsKeyId,
            notification?.SuccessTopic, notification?.ErrorTopic, notification?.IncludeInferenceResponseIn);
    }

    /// <summary>What AWS accepts for a serverless variant, beyond the model's ranges.</summary>
    static void ValidateServerless(ProductionVariantServerlessConfig c, ProductionVariant v, int variants, bool dataCapture)
    {
        if (c.MemorySizeInMB is not { } memory || memory is < 1024 or > 6144 || memory % 1024 != 0)
            throw SageMakerErrors.ValidationException($"Value '{c.MemorySizeInMB}' at 'productionVariants.1.member.serverlessConfig.memorySizeInMB' failed to satisfy constraint: MemorySizeInMB must be one of 1024, 2048, 3072, 4096, 5120 or 6144.");
        if (c.MaxConcurrency is not { } max || max is < 1 or > 200)
            throw JsonProtocol.Invalid("ProductionVariants.ServerlessConfig.MaxConcurrency", c.MaxConcurrency, "Member must have value between 1 and 200");
        if (c.ProvisionedConcurrency is { } provisioned && (provisioned < 1 || provisioned > max))
            throw SageMakerErrors.ValidationException($"ProvisionedConcurrency ({provisioned}) must be between 1 and MaxConcurrency ({max}).");
        if (v.InstanceType is not null || v.InitialInstanceCount is not null)
            throw SageMakerErrors.ValidationException("A serverless production variant cannot also specify InstanceType or InitialInstanceCount.");
        if (variants > 1)
            throw SageMakerErrors.ValidationException("Serverless endpoints support only one production variant.");
        if (dataCapture)
            throw SageMakerErrors.ValidationException("DataCaptureConfig is not supported for serverless endpoints.");
    }

    DescribeEndpointConfigOutput DescribeEndpointConfig(DescribeEndpointConfigInput input, RequestContext ctx)
    {
        var config = RequireEndpointConfig(ctx.Principal.AccountId, input.EndpointConfigName!);
        return new DescribeEndpointConfigOutput
        {
            EndpointConfigName = config.EndpointConfigName,
            EndpointConfigArn = config.EndpointConfigArn,
            ProductionVariants = config.ProductionVariants.Select(v => new ProductionVariant
            {
                VariantName = v.VariantName,
                ModelName = v.ModelName,
                InitialInstanceCount = v.InitialInstanceCount,
                InstanceType = v.InstanceType,
                InitialVariantWeight = v.InitialVariantWeight,
                RoutingConfig = v.RoutingConfig is { } routing ? new ProductionVariantRoutingConfig { RoutingStrategy = routing.RoutingStrategy } : null,
                ServerlessConfig = Wire(v.ServerlessConfig),
            }).ToList(),
            KmsKeyId = config.KmsKeyId,
            DataCaptureConfig = DataCaptureConfigs.Wire(config.DataCaptureConfig),
            CreationTime = config.CreationTime,
            AsyncInferenceConfig = Wire(config.AsyncInferenceConfig),
        };
    }

    static AsyncInferenceConfig? Wire(AsyncInferenceRow? a) => a is null ? null : new()
    {
        ClientConfig = a.MaxConcurrentInvocationsPerInstance is { } max ? new AsyncInferenceClientConfig { MaxConcurrentInvocationsPerInstance = max } : null,
        OutputConfig = new AsyncInferenceOutputConfig
        {
            S3OutputPath = a.S3OutputPath,
            S3FailurePath = a.S3FailurePath,
            KmsKeyId = a.KmsKeyId,
            NotificationConfig = a.SuccessTopic is null && a.ErrorTopic is null && a.IncludeInferenceResponseIn is null ? null
                : new AsyncInferenceNotificationConfig { SuccessTopic = a.SuccessTopic, ErrorTopic = a.ErrorTopic, IncludeInferenceResponseIn = a.IncludeInferenceResponseIn },
        },
    };

    static ProductionVariantServerlessConfig? Wire(ServerlessRow? s)
        => s is null ? null : new() { MemorySizeInMB = s.MemorySizeInMB, MaxConcurrency = s.MaxConcurrency, ProvisionedConcurrency = s.ProvisionedConcurrency };

    ListEndpointConfigsOutput ListEndpointConfigs(ListEndpointConfigsInput input, RequestContext ctx)
    {
        var (page, next) = ListRequests.Page(input, store.ListEndpointConfigs(ctx.Principal.AccountId), c => c.EndpointConfigName, c => c.CreationTime);
        return new ListEndpointConfigsOutput
        {
            EndpointConfigs = page.Select(c => new EndpointConfigSummary { EndpointConfigName = c.EndpointConfigName, EndpointConfigArn = c.EndpointConfigArn, CreationTime = c.CreationTime })
                .ToList(),
            NextToken = next,
        };
    }

    void DeleteEndpointConfig(DeleteEndpointConfigInput input, RequestContext ctx)
    {
        var (account, name) = (ctx.Principal.AccountId, input.EndpointConfigName!);
        if (!store.DeleteEndpointConfig(account, name)) throw new EndpointConfigNotFound(Arn(account, "endpoint-config", name));
        store.UpdateTags(Arn(account, "endpoint-config", name), _ => []);
    }

    // ---- endpoints ----

    async Task<CreateEndpointOutput> CreateEndpoint(CreateEndpointInput input, RequestContext ctx)
    {
        var name = ValidName(input.EndpointName, "EndpointName");
        var configName = input.EndpointConfigName!;
        var account = ctx.Principal.AccountId;
        WithinInstanceLimit(RequireEndpointConfig(account, configName));
        var now = clock.GetUtcNow();
        var row = new EndpointRow
        {
            EndpointName = name,
            EndpointArn = Arn(account, "endpoint", name),
            EndpointConfigName = configName,
            EndpointStatus = "Creating",
            CreationTime = now,
            LastModifiedTime = now,
        };
        if (!store.CreateEndpoint(account, row, TagRows(input.Tags))) throw new EndpointAlreadyExists(row.EndpointArn);
        var deploy = hosting.DeployAsync(account, name, () => endpoints.PlanOf(account, name));
        await Task.WhenAny(deploy, Task.Delay(CreateWait));
        return new CreateEndpointOutput { EndpointArn = row.EndpointArn };
    }

    DescribeEndpointOutput DescribeEndpoint(DescribeEndpointInput input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var endpoint = RequireEndpoint(account, input.EndpointName!);
        // Where each instance runs now (instances come and go: replacements, autoscaling).
        var runtime = hosting.Find(account, endpoint.EndpointName);
        return new DescribeEndpointOutput
        {
            EndpointName = endpoint.EndpointName,
            EndpointArn = endpoint.EndpointArn,
            EndpointConfigName = endpoint.EndpointConfigName,
            ProductionVariants = endpoint.ProductionVariants?.Select(v => Describe(v, runtime?.Variants.FirstOrDefault(r => r.Name == v.VariantName))).ToList(),
            EndpointStatus = endpoint.EndpointStatus,
            FailureReason = endpoint.FailureReason,
            CreationTime = endpoint.CreationTime,
            LastModifiedTime = endpoint.LastModifiedTime,
            DataCaptureConfig = DataCaptureConfigs.Summary(store.GetEndpointConfig(account, endpoint.EndpointConfigName)?.DataCaptureConfig),
        };
    }

    /// <summary>A variant as stored, with what runs now when it runs (instances, counts, usage).</summary>
    static ProductionVariantSummary Describe(VariantSummaryRow v, VariantRuntime? live) => new()
    {
        VariantName = v.VariantName,
        DeployedImages = v.DeployedImages?.Select(d => new DeployedImage { SpecifiedImage = d.SpecifiedImage, ResolvedImage = d.ResolvedImage, ResolutionTime = d.ResolutionTime })
            .ToList(),
        CurrentWeight = v.CurrentWeight,
        DesiredWeight = v.DesiredWeight,
        CurrentInstanceCount = live?.Instances.Count ?? v.CurrentInstanceCount,
        DesiredInstanceCount = live?.DesiredInstanceCount ?? v.DesiredInstanceCount,
        CurrentServerlessConfig = Wire(v.CurrentServerlessConfig),
        DesiredServerlessConfig = Wire(v.DesiredServerlessConfig),
        StrataInstances = live?.Instances.Select(i => new InstanceSummary(i.Id[(i.Id.LastIndexOf('/') + 1)..], i.Zone)).ToList(),
        StrataUsage = live?.Serverless?.Usage,
    };

    ListEndpointsOutput ListEndpoints(ListEndpointsInput input, RequestContext ctx)
    {
        var (page, next) = ListRequests.Page(input, store.ListEndpoints(ctx.Principal.AccountId), e => e.EndpointName, e => e.CreationTime, e => e.EndpointStatus, e => e.LastModifiedTime);
        return new ListEndpointsOutput
        {
            Endpoints = page.Select(e => new EndpointSummary
            {
                EndpointName = e.EndpointName,
                EndpointArn = e.EndpointArn,
                CreationTime = e.CreationTime,
                LastModifiedTime = e.LastModifiedTime,
                EndpointStatus = e.EndpointStatus,
            }).ToList(),
            NextToken = next,
        };
    }

    EndpointRow RequireInService(string account, string name)
    {
        var endpoint = RequireEndpoint(account, name);
        return endpoint.EndpointStatus == "InService" ? endpoint : throw new EndpointNotInService(endpoint.EndpointArn);
    }

    async Task<UpdateEndpointOutput> UpdateEndpoint(UpdateEndpointInput input, RequestContext ctx)
    {
        var (account, name) = (ctx.Principal.AccountId, input.EndpointName!);
        var endpoint = RequireInService(account, name);
        var config = WithinInstanceLimit(RequireEndpointConfig(account, input.EndpointConfigName!));
        store.UpdateEndpoint(account, name, e => e with { EndpointStatus = "Updating", LastModifiedTime = clock.GetUtcNow() });
        await Task.WhenAny(hosting.UpdateAsync(account, name, () => endpoints.Plan(account, name, config)), Task.Delay(CreateWait));
        return new UpdateEndpointOutput { EndpointArn = endpoint.EndpointArn };
    }

    async Task<UpdateEndpointWeightsAndCapacitiesOutput> UpdateEndpointWeightsAndCapacities(UpdateEndpointWeightsAndCapacitiesInput input, RequestContext ctx)
    {
        var (account, name) = (ctx.Principal.AccountId, input.EndpointName!);
        var desired = input.DesiredWeightsAndCapacities!;
        var endpoint = RequireInService(account, name);
        var known = endpoint.ProductionVariants?.Select(v => v.VariantName).ToHashSet() ?? [];
        foreach (var d in desired)
        {
            var variant = d.VariantName!;
            if (!known.Contains(variant)) throw new VariantNotFound(variant, endpoint.EndpointArn);
            // An asynchronous endpoint may have no instance at all (its requests wait in the queue).
            if (d.DesiredInstanceCount is < 1 && !(d.DesiredInstanceCount == 0 && IsAsync(account, endpoint)))
                throw JsonProtocol.Invalid("DesiredWeightsAndCapacities.DesiredInstanceCount", d.DesiredInstanceCount, "Member must have value greater than or equal to 1");
            if (d.DesiredInstanceCount is { } count)
                WithinInstanceLimit(InstanceTypeOf(account, endpoint, variant), variant, count);
        }
        store.UpdateEndpoint(account, name, e => e with { EndpointStatus = "Updating", LastModifiedTime = clock.GetUtcNow() });
        var update = Task.Run(async () =>
        {
            try
            {
                await hosting.UpdateWeightsAndCapacitiesAsync(account, name, desired.Select(d => (d.VariantName!, d.DesiredWeight, d.DesiredInstanceCount)).ToList());
            }
            catch (Exception e) when (e is HostingException or OperationCanceledException)
            {
                store.UpdateEndpoint(account, name, row => row with { EndpointStatus = "InService", FailureReason = e.Message, LastModifiedTime = clock.GetUtcNow() });
            }
        });
        await Task.WhenAny(update, Task.Delay(CreateWait));
        return new UpdateEndpointWeightsAndCapacitiesOutput { EndpointArn = endpoint.EndpointArn };
    }

    bool IsAsync(string account, EndpointRow endpoint) => store.GetEndpointConfig(account, endpoint.EndpointConfigName)?.AsyncInferenceConfig is not null;

    /// <summary>Refuses a configuration with a variant of more instances than the limit allows.</summary>
    EndpointConfigRow WithinInstanceLimit(EndpointConfigRow config)
    {
        foreach (var v in config.ProductionVariants)
            if (v.InitialInstanceCount is { } count) WithinInstanceLimit(v.InstanceType!, v.VariantName!, count);
        return config;
    }

    /// <summary>The instance type a variant of a running endpoint was deployed with (its configuration
    /// may have been deleted since: any type, then).</summary>
    string InstanceTypeOf(string account, EndpointRow endpoint, string variant)
        => store.GetEndpointConfig(account, endpoint.EndpointConfigName)?.ProductionVariants.FirstOrDefault(v => v.VariantName == variant)?.InstanceType ?? "ml.*";

    void WithinInstanceLimit(string instanceType, string variant, int count)
    {
        if (count > Limits.InstancesPerVariant)
            throw SageMakerErrors.ResourceLimitExceeded($"The limit '{instanceType} for endpoint usage' is {Limits.InstancesPerVariant} Instances per production variant, and variant {variant} asks for {count} Instances. {SageMakerLimits.Raise("instances-per-variant")}");
    }

    async Task<Empty> DeleteEndpoint(DeleteEndpointInput input, RequestContext ctx)
    {
        var (account, name) = (ctx.Principal.AccountId, input.EndpointName!);
        if (!store.DeleteEndpoint(account, name, clock.GetUtcNow())) throw new EndpointNotFound(Arn(account, "endpoint", name));
        await hosting.StopEndpointAsync(account, name);
        return Empty.Instance;
    }
}
