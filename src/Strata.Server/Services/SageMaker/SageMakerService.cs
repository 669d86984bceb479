using System.Text.Json;
using System.Text.RegularExpressions;
using Strata.Server.Auth;
using Strata.Server.Hosting;
using Strata.Server.Jobs.Transform;
using Strata.Server.Protocol;

namespace Strata.Server.Services.SageMaker;

/// <summary>
/// The SageMaker control plane (JSON 1.1, <c>X-Amz-Target: SageMaker.*</c>) for hosting: models,
/// endpoint configurations and endpoints. Errors are AWS's: a name that does not exist is a
/// <c>ValidationException</c> ("Could not find …"), which the CLI's waiters rely on.
/// </summary>
public sealed partial class SageMakerService(SageMakerStore store, HostingService hosting, EndpointHosting endpoints, ImageCatalogue images, ExecutionRoles roles,
    TimeProvider clock, string region, TransformJobStore transformJobs, TransformJobRunner transforms)
{
    /// <summary>How long CreateEndpoint waits for a quick deployment before answering, so that a
    /// waiter's first DescribeEndpoint already sees InService (the status stays truthful either way).</summary>
    static readonly TimeSpan CreateWait = TimeSpan.FromSeconds(3);

    /// <summary>Instances one variant may ask for: each is a process on this machine.</summary>
    public const int MaxInstancesPerVariant = 32;

    public IEnumerable<Operation> Operations =>
    [
        Op("CreateModel", "model", "ModelName", CreateModel),
        Op("DescribeModel", "model", "ModelName", DescribeModel),
        Op("ListModels", null, null, ListModels),
        Op("DeleteModel", "model", "ModelName", DeleteModel),
        Op("CreateEndpointConfig", "endpoint-config", "EndpointConfigName", CreateEndpointConfig),
        Op("DescribeEndpointConfig", "endpoint-config", "EndpointConfigName", DescribeEndpointConfig),
        Op("ListEndpointConfigs", null, null, ListEndpointConfigs),
        Op("DeleteEndpointConfig", "endpoint-config", "EndpointConfigName", DeleteEndpointConfig),
        Op("CreateEndpoint", "endpoint", "EndpointName", CreateEndpoint),
        Op("DescribeEndpoint", "endpoint", "EndpointName", DescribeEndpoint),
        Op("ListEndpoints", null, null, ListEndpoints),
        Op("DeleteEndpoint", "endpoint", "EndpointName", DeleteEndpoint),
        Op("UpdateEndpoint", "endpoint", "EndpointName", UpdateEndpoint),
        Op("UpdateEndpointWeightsAndCapacities", "endpoint", "EndpointName", UpdateEndpointWeightsAndCapacities),
        Op("CreateTransformJob", "transform-job", "TransformJobName", CreateTransformJob),
        Op("DescribeTransformJob", "transform-job", "TransformJobName", DescribeTransformJob),
        Op("ListTransformJobs", null, null, ListTransformJobs),
        Op("StopTransformJob", "transform-job", "TransformJobName", StopTransformJob),
        new("AddTags", "sagemaker:AddTags", ResourceArnOf, AddTags),
        new("ListTags", "sagemaker:ListTags", ResourceArnOf, ListTags),
        new("DeleteTags", "sagemaker:DeleteTags", ResourceArnOf, DeleteTags),
    ];

    string ResourceArnOf(RequestContext ctx)
    {
        var arn = ctx.JsonInput.TryGetProperty("ResourceArn", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : "*";
        SetConditionKeys(ctx, arn);
        return arn;
    }

    Operation Op(string name, string? resourceType, string? nameMember, Func<RequestContext, Task> handler)
        => new(name, "sagemaker:" + name, ctx =>
        {
            if (resourceType is null || nameMember is null) return "*";
            var arn = Arn(ctx.Principal.AccountId, resourceType, ctx.JsonInput.TryGetProperty(nameMember, out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "");
            SetConditionKeys(ctx, arn);
            return arn;
        }, handler);

    /// <summary>The condition keys SageMaker requests carry: the resource's tags
    /// (<c>aws:ResourceTag/*</c>), the tags a create request adds (<c>aws:RequestTag/*</c>,
    /// <c>aws:TagKeys</c>), and the SageMaker keys of the request (<c>sagemaker:NetworkIsolation</c>,
    /// <c>sagemaker:InstanceTypes</c>).</summary>
    void SetConditionKeys(RequestContext ctx, string arn)
    {
        foreach (var tag in store.GetTags(arn)) ctx.ConditionKeys["aws:ResourceTag/" + tag.Key] = [tag.Value];
        var input = ctx.JsonInput;
        if (input.ValueKind != JsonValueKind.Object) return;
        if (input.TryGetProperty("Tags", out var tags) && tags.ValueKind == JsonValueKind.Array)
        {
            var keys = new List<string>();
            foreach (var t in tags.EnumerateArray())
                if (t.TryGetProperty("Key", out var k) && k.ValueKind == JsonValueKind.String)
                {
                    keys.Add(k.GetString()!);
                    if (t.TryGetProperty("Value", out var v) && v.ValueKind == JsonValueKind.String) ctx.ConditionKeys["aws:RequestTag/" + k.GetString()] = [v.GetString()!];
                }
            ctx.ConditionKeys["aws:TagKeys"] = keys;
        }
        if (input.TryGetProperty("EnableNetworkIsolation", out var isolation) && isolation.ValueKind is JsonValueKind.True or JsonValueKind.False)
            ctx.ConditionKeys["sagemaker:NetworkIsolation"] = [isolation.ValueKind == JsonValueKind.True ? "true" : "false"];
        if (input.TryGetProperty("ProductionVariants", out var variants) && variants.ValueKind == JsonValueKind.Array)
            ctx.ConditionKeys["sagemaker:InstanceTypes"] = variants.EnumerateArray()
                .Select(v => v.TryGetProperty("InstanceType", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : null)
                .OfType<string>().Distinct().ToList();
    }

    /// <summary>SageMaker ARNs carry resource names in lower case.</summary>
    string Arn(string account, string type, string name) => $"arn:aws:sagemaker:{region}:{account}:{type}/{name.ToLowerInvariant()}";

    [GeneratedRegex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]
    private static partial Regex NamePattern();

    static string ValidName(string? name, string member)
    {
        JsonProtocol.Required(name, member);
        if (!NamePattern().IsMatch(name!))
            throw JsonProtocol.Invalid(member, name, "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}");
        return name!;
    }

    static AwsException NotFound(string what, string arn) => new("ValidationException", 400, $"Could not find {what} \"{arn}\".");
    static AwsException Exists(string what, string arn) => new("ValidationException", 400, $"Cannot create already existing {what} \"{arn}\".");

    // ---- tags ----

    /// <summary>The resource an ARN names must exist in the caller's account.</summary>
    string RequireResource(RequestContext ctx, string? arn)
    {
        JsonProtocol.Required(arn, "ResourceArn");
        var account = ctx.Principal.AccountId;
        var prefix = $"arn:aws:sagemaker:{region}:{account}:";
        var rest = arn!.StartsWith(prefix, StringComparison.Ordinal) ? arn[prefix.Length..] : "";
        var slash = rest.IndexOf('/');
        var (type, name) = slash > 0 ? (rest[..slash], rest[(slash + 1)..]) : ("", "");
        var exists = type switch
        {
            "model" => store.ListModels(account).Any(m => m.ModelArn == arn),
            "endpoint-config" => store.ListEndpointConfigs(account).Any(c => c.EndpointConfigArn == arn),
            "endpoint" => store.ListEndpoints(account).Any(e => e.EndpointArn == arn),
            "transform-job" => transformJobs.List(account).Any(j => j.TransformJobArn == arn),
            _ => false,
        };
        if (!exists) throw new AwsException("ValidationException", 400, $"Resource {arn} does not exist.");
        return arn;
    }

    static void ValidateTags(List<Tag> tags)
    {
        if (tags.Count > 50) throw JsonProtocol.Invalid("Tags", null, "Member must have length less than or equal to 50");
        foreach (var tag in tags)
        {
            if (tag.Key is not { Length: >= 1 and <= 128 }) throw JsonProtocol.Invalid("Tags.Key", tag.Key, "Member must have length between 1 and 128");
            if (tag.Value is not { Length: <= 256 }) throw JsonProtocol.Invalid("Tags.Value", tag.Value, "Member must have length less than or equal to 256");
        }
    }

    void SaveTags(string arn, List<Tag>? tags)
    {
        if (tags is not { Count: > 0 }) return;
        ValidateTags(tags);
        store.UpdateTags(arn, current => [.. current.Where(c => tags.All(t => t.Key != c.Key)), .. tags]);
    }

    async Task AddTags(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, SageMakerJson.Default.AddTagsInput);
        var arn = RequireResource(ctx, input.ResourceArn);
        var tags = JsonProtocol.Required(input.Tags, "Tags");
        ValidateTags(tags);
        store.UpdateTags(arn, current => [.. current.Where(c => tags.All(t => t.Key != c.Key)), .. tags]);
        await JsonProtocol.WriteAsync(ctx, new AddTagsOutput(tags), SageMakerJson.Default.AddTagsOutput);
    }

    async Task ListTags(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, SageMakerJson.Default.ListTagsInput);
        var arn = RequireResource(ctx, input.ResourceArn);
        var (page, next) = PageToken.Page(store.GetTags(arn), input.NextToken, input.MaxResults, defaultMax: 50, limit: 100);
        await JsonProtocol.WriteAsync(ctx, new ListTagsOutput(page, next), SageMakerJson.Default.ListTagsOutput);
    }

    async Task DeleteTags(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, SageMakerJson.Default.DeleteTagsInput);
        var arn = RequireResource(ctx, input.ResourceArn);
        var keys = JsonProtocol.Required(input.TagKeys, "TagKeys");
        store.UpdateTags(arn, current => current.Where(c => !keys.Contains(c.Key)).ToList());
        await JsonProtocol.WriteEmptyAsync(ctx);
    }

    // ---- models ----

    async Task CreateModel(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, SageMakerJson.Default.CreateModelInput);
        var name = ValidName(input.ModelName, "ModelName");
        var container = input.PrimaryContainer ?? input.Containers?.FirstOrDefault()
            ?? throw new AwsException("ValidationException", 400, "Either PrimaryContainer or Containers must be specified.");
        var image = JsonProtocol.Required(container.Image, "PrimaryContainer.Image");
        if (!Images.IsBuiltIn(image) && images.CommandFor(image) is null)
            throw new AwsException("ValidationException", 400, $"Image {image} cannot be run by Strata: use an image whose repository is {Images.BuiltInRepository} (the built-in ONNX Runtime container), or add it to the image catalogue with `strata images add {image} -- COMMAND`.");
        if (container.Mode is not (null or "SingleModel" or "MultiModel"))
            throw JsonProtocol.Invalid("PrimaryContainer.Mode", container.Mode, "Member must satisfy enum value set: [SingleModel, MultiModel]");
        if (container.Mode == "MultiModel")
        {
            if (!Images.IsBuiltIn(image))
                throw new AwsException("ValidationException", 400, $"Multi-model endpoints run on the built-in container ({Images.BuiltInRepository}); {image} does not implement the multi-model API here.");
            if (container.ModelDataUrl is not { } prefix || !prefix.EndsWith('/'))
                throw new AwsException("ValidationException", 400, "A multi-model container's ModelDataUrl must be an S3 prefix ending with '/', under which the TargetModel of each request is found.");
        }
        if (container.ModelDataUrl is { } url && !url.StartsWith("s3://", StringComparison.Ordinal))
            throw JsonProtocol.Invalid("PrimaryContainer.ModelDataUrl", url, "Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$");
        var account = ctx.Principal.AccountId;
        // SageMaker acts as the execution role: the caller must be allowed to pass it to SageMaker,
        // and the role must trust SageMaker.
        var role = JsonProtocol.Required(input.ExecutionRoleArn, "ExecutionRoleArn");
        ctx.ConditionKeys["iam:PassedToService"] = [ExecutionRoles.SageMaker];
        ctx.Authorize("iam:PassRole", role);
        if (roles.CannotAssume(role, ExecutionRoles.SageMaker) is { } reason) throw new AwsException("ValidationException", 400, reason);
        var record = new ModelRecord
        {
            ModelName = name,
            ModelArn = Arn(account, "model", name),
            PrimaryContainer = input.PrimaryContainer,
            Containers = input.Containers,
            ExecutionRoleArn = input.ExecutionRoleArn,
            CreationTime = clock.GetUtcNow(),
            EnableNetworkIsolation = input.EnableNetworkIsolation ?? false,
        };
        if (input.Tags is { } modelTags) ValidateTags(modelTags);
        if (!store.CreateModel(account, record)) throw Exists("model", record.ModelArn);
        SaveTags(record.ModelArn, input.Tags);
        await JsonProtocol.WriteAsync(ctx, new CreateModelOutput(record.ModelArn), SageMakerJson.Default.CreateModelOutput);
    }

    async Task DescribeModel(RequestContext ctx)
    {
        var name = JsonProtocol.Required(JsonProtocol.Input(ctx, SageMakerJson.Default.NameInput).ModelName, "ModelName");
        var model = store.GetModel(ctx.Principal.AccountId, name) ?? throw NotFound("model", Arn(ctx.Principal.AccountId, "model", name));
        await JsonProtocol.WriteAsync(ctx, model, SageMakerJson.Default.ModelRecord);
    }

    async Task ListModels(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, SageMakerJson.Default.ListInput);
        var items = Filter(store.ListModels(ctx.Principal.AccountId), input, m => m.ModelName, m => m.CreationTime, _ => "");
        var (page, next) = PageToken.Page(items, input.NextToken, input.MaxResults);
        await JsonProtocol.WriteAsync(ctx, new ListModelsOutput(page.Select(m => new ModelSummary(m.ModelName, m.ModelArn, m.CreationTime)).ToList(), next),
            SageMakerJson.Default.ListModelsOutput);
    }

    async Task DeleteModel(RequestContext ctx)
    {
        var name = JsonProtocol.Required(JsonProtocol.Input(ctx, SageMakerJson.Default.NameInput).ModelName, "ModelName");
        if (!store.DeleteModel(ctx.Principal.AccountId, name)) throw NotFound("model", Arn(ctx.Principal.AccountId, "model", name));
        store.UpdateTags(Arn(ctx.Principal.AccountId, "model", name), _ => []);
        await JsonProtocol.WriteEmptyAsync(ctx);
    }

    // ---- endpoint configurations ----

    async Task CreateEndpointConfig(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, SageMakerJson.Default.CreateEndpointConfigInput);
        var name = ValidName(input.EndpointConfigName, "EndpointConfigName");
        var variants = JsonProtocol.Required(input.ProductionVariants, "ProductionVariants");
        if (variants.Count is < 1 or > 10)
            throw JsonProtocol.Invalid("ProductionVariants", null, "Member must have length between 1 and 10");
        var account = ctx.Principal.AccountId;
        foreach (var v in variants)
        {
            ValidName(v.VariantName, "ProductionVariants.VariantName");
            var model = JsonProtocol.Required(v.ModelName, "ProductionVariants.ModelName");
            if (store.GetModel(account, model) is null) throw NotFound("model", Arn(account, "model", model));
            if (v.ServerlessConfig is { } serverless)
            {
                if (store.GetModel(account, model)!.PrimaryContainer?.Mode == "MultiModel")
                    throw new AwsException("ValidationException", 400, "Serverless endpoints do not support multi-model containers.");
                ValidateServerless(serverless, v, variants.Count, input.DataCaptureConfig is not null);
                continue;
            }
            if (InstanceType.Find(v.InstanceType) is null)
                throw JsonProtocol.Invalid("ProductionVariants.InstanceType", v.InstanceType, $"Member must satisfy enum value set: [{string.Join(", ", InstanceType.Names)}]");
            if (v.InitialInstanceCount is not { } count || count < 1)
                throw JsonProtocol.Invalid("ProductionVariants.InitialInstanceCount", v.InitialInstanceCount, "Member must have value greater than or equal to 1");
            if (v.RoutingConfig?.RoutingStrategy is { } strategy && strategy is not ("LEAST_OUTSTANDING_REQUESTS" or "RANDOM"))
                throw JsonProtocol.Invalid("ProductionVariants.RoutingConfig.RoutingStrategy", strategy, "Member must satisfy enum value set: [LEAST_OUTSTANDING_REQUESTS, RANDOM]");
            if (count > MaxInstancesPerVariant)
                throw new AwsException("ResourceLimitExceeded", 400, $"The account-level service limit '{v.InstanceType} for endpoint usage' is {MaxInstancesPerVariant} Instances, with current utilization of 0 Instances and a request delta of {count} Instances. Please use AWS Service Quotas to request an increase for this quota.");
            if (v.InitialVariantWeight is < 0)
                throw JsonProtocol.Invalid("ProductionVariants.InitialVariantWeight", v.InitialVariantWeight, "Member must have value greater than or equal to 0");
        }
        if (variants.Select(v => v.VariantName).Distinct().Count() != variants.Count)
            throw new AwsException("ValidationException", 400, "The variant names in ProductionVariants must be unique.");
        var record = new EndpointConfigRecord
        {
            EndpointConfigName = name,
            EndpointConfigArn = Arn(account, "endpoint-config", name),
            ProductionVariants = variants.Select(v => v with { InitialVariantWeight = v.InitialVariantWeight ?? 1f }).ToList(),
            KmsKeyId = input.KmsKeyId,
            CreationTime = clock.GetUtcNow(),
        };
        if (input.Tags is { } configTags) ValidateTags(configTags);
        if (!store.CreateEndpointConfig(account, record)) throw Exists("endpoint configuration", record.EndpointConfigArn);
        SaveTags(record.EndpointConfigArn, input.Tags);
        await JsonProtocol.WriteAsync(ctx, new CreateEndpointConfigOutput(record.EndpointConfigArn), SageMakerJson.Default.CreateEndpointConfigOutput);
    }

    /// <summary>What AWS accepts for a serverless variant.</summary>
    static void ValidateServerless(ServerlessConfig c, ProductionVariant v, int variants, bool dataCapture)
    {
        if (c.MemorySizeInMB is not { } memory || memory is < 1024 or > 6144 || memory % 1024 != 0)
            throw new AwsException("ValidationException", 400, $"Value '{c.MemorySizeInMB}' at 'productionVariants.1.member.serverlessConfig.memorySizeInMB' failed to satisfy constraint: MemorySizeInMB must be one of 1024, 2048, 3072, 4096, 5120 or 6144.");
        if (c.MaxConcurrency is not { } max || max is < 1 or > 200)
            throw JsonProtocol.Invalid("ProductionVariants.ServerlessConfig.MaxConcurrency", c.MaxConcurrency, "Member must have value between 1 and 200");
        if (c.ProvisionedConcurrency is { } provisioned && (provisioned < 1 || provisioned > max))
            throw new AwsException("ValidationException", 400, $"ProvisionedConcurrency ({provisioned}) must be between 1 and MaxConcurrency ({max}).");
        if (v.InstanceType is not null || v.InitialInstanceCount is not null)
            throw new AwsException("ValidationException", 400, "A serverless production variant cannot also specify InstanceType or InitialInstanceCount.");
        if (variants > 1)
            throw new AwsException("ValidationException", 400, "Serverless endpoints support only one production variant.");
        if (dataCapture)
            throw new AwsException("ValidationException", 400, "DataCaptureConfig is not supported for serverless endpoints.");
    }

    async Task DescribeEndpointConfig(RequestContext ctx)
    {
        var name = JsonProtocol.Required(JsonProtocol.Input(ctx, SageMakerJson.Default.NameInput).EndpointConfigName, "EndpointConfigName");
        var config = store.GetEndpointConfig(ctx.Principal.AccountId, name) ?? throw NotFound("endpoint configuration", Arn(ctx.Principal.AccountId, "endpoint-config", name));
        await JsonProtocol.WriteAsync(ctx, config, SageMakerJson.Default.EndpointConfigRecord);
    }

    async Task ListEndpointConfigs(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, SageMakerJson.Default.ListInput);
        var items = Filter(store.ListEndpointConfigs(ctx.Principal.AccountId), input, c => c.EndpointConfigName, c => c.CreationTime, _ => "");
        var (page, next) = PageToken.Page(items, input.NextToken, input.MaxResults);
        await JsonProtocol.WriteAsync(ctx, new ListEndpointConfigsOutput(page.Select(c => new EndpointConfigSummary(c.EndpointConfigName, c.EndpointConfigArn, c.CreationTime)).ToList(), next),
            SageMakerJson.Default.ListEndpointConfigsOutput);
    }

    async Task DeleteEndpointConfig(RequestContext ctx)
    {
        var name = JsonProtocol.Required(JsonProtocol.Input(ctx, SageMakerJson.Default.NameInput).EndpointConfigName, "EndpointConfigName");
        if (!store.DeleteEndpointConfig(ctx.Principal.AccountId, name)) throw NotFound("endpoint configuration", Arn(ctx.Principal.AccountId, "endpoint-config", name));
        store.UpdateTags(Arn(ctx.Principal.AccountId, "endpoint-config", name), _ => []);
        await JsonProtocol.WriteEmptyAsync(ctx);
    }

    // ---- endpoints ----

    async Task CreateEndpoint(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, SageMakerJson.Default.CreateEndpointInput);
        var name = ValidName(input.EndpointName, "EndpointName");
        var configName = JsonProtocol.Required(input.EndpointConfigName, "EndpointConfigName");
        var account = ctx.Principal.AccountId;
        if (store.GetEndpointConfig(account, configName) is null)
            throw NotFound("endpoint configuration", Arn(account, "endpoint-config", configName));
        var now = clock.GetUtcNow();
        var record = new EndpointRecord
        {
            EndpointName = name,
            EndpointArn = Arn(account, "endpoint", name),
            EndpointConfigName = configName,
            EndpointStatus = "Creating",
            CreationTime = now,
            LastModifiedTime = now,
        };
        if (input.Tags is { } endpointTags) ValidateTags(endpointTags);
        if (!store.CreateEndpoint(account, record)) throw Exists("endpoint", record.EndpointArn);
        SaveTags(record.EndpointArn, input.Tags);
        var deploy = hosting.DeployAsync(account, name, () => endpoints.PlanOf(account, name));
        await Task.WhenAny(deploy, Task.Delay(CreateWait));
        await JsonProtocol.WriteAsync(ctx, new CreateEndpointOutput(record.EndpointArn), SageMakerJson.Default.CreateEndpointOutput);
    }

    async Task DescribeEndpoint(RequestContext ctx)
    {
        var name = JsonProtocol.Required(JsonProtocol.Input(ctx, SageMakerJson.Default.NameInput).EndpointName, "EndpointName");
        var endpoint = store.GetEndpoint(ctx.Principal.AccountId, name) ?? throw NotFound("endpoint", Arn(ctx.Principal.AccountId, "endpoint", name));
        // Where each instance runs now (instances come and go: replacements, autoscaling).
        if (hosting.Find(ctx.Principal.AccountId, name) is { } runtime && endpoint.ProductionVariants is { } variants)
            endpoint = endpoint with
            {
                ProductionVariants = variants.Select(v => runtime.Variants.FirstOrDefault(r => r.Name == v.VariantName) is { } live
                    ? v with
                    {
                        StrataInstances = live.Instances.Select(i => new InstanceSummary(i.Id[(i.Id.LastIndexOf('/') + 1)..], i.Zone)).ToList(),
                        CurrentInstanceCount = live.Instances.Count,
                        DesiredInstanceCount = live.DesiredInstanceCount,
                        StrataUsage = live.Serverless?.Usage,
                    }
                    : v).ToList(),
            };
        await JsonProtocol.WriteAsync(ctx, endpoint, SageMakerJson.Default.EndpointRecord);
    }

    async Task ListEndpoints(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, SageMakerJson.Default.ListInput);
        var items = Filter(store.ListEndpoints(ctx.Principal.AccountId), input, e => e.EndpointName, e => e.CreationTime, e => e.EndpointStatus)
            .Where(e => input.StatusEquals is null || e.EndpointStatus == input.StatusEquals).ToList();
        var (page, next) = PageToken.Page(items, input.NextToken, input.MaxResults);
        await JsonProtocol.WriteAsync(ctx, new ListEndpointsOutput(page.Select(e => new EndpointSummary(e.EndpointName, e.EndpointArn, e.CreationTime, e.LastModifiedTime, e.EndpointStatus)).ToList(), next),
            SageMakerJson.Default.ListEndpointsOutput);
    }

    EndpointRecord RequireInService(string account, string name)
    {
        var endpoint = store.GetEndpoint(account, name) ?? throw NotFound("endpoint", Arn(account, "endpoint", name));
        if (endpoint.EndpointStatus != "InService")
            throw new AwsException("ValidationException", 400, $"Cannot update in-progress endpoint \"{endpoint.EndpointArn}\".");
        return endpoint;
    }

    async Task UpdateEndpoint(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, SageMakerJson.Default.UpdateEndpointInput);
        var name = JsonProtocol.Required(input.EndpointName, "EndpointName");
        var configName = JsonProtocol.Required(input.EndpointConfigName, "EndpointConfigName");
        var account = ctx.Principal.AccountId;
        var endpoint = RequireInService(account, name);
        var config = store.GetEndpointConfig(account, configName) ?? throw NotFound("endpoint configuration", Arn(account, "endpoint-config", configName));
        store.UpdateEndpoint(account, name, e => e with { EndpointStatus = "Updating", LastModifiedTime = clock.GetUtcNow() });
        await Task.WhenAny(hosting.UpdateAsync(account, name, () => endpoints.Plan(account, name, config)), Task.Delay(CreateWait));
        await JsonProtocol.WriteAsync(ctx, new CreateEndpointOutput(endpoint.EndpointArn), SageMakerJson.Default.CreateEndpointOutput);
    }

    async Task UpdateEndpointWeightsAndCapacities(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, SageMakerJson.Default.UpdateEndpointWeightsAndCapacitiesInput);
        var name = JsonProtocol.Required(input.EndpointName, "EndpointName");
        var desired = JsonProtocol.Required(input.DesiredWeightsAndCapacities, "DesiredWeightsAndCapacities");
        if (desired.Count == 0) throw JsonProtocol.Invalid("DesiredWeightsAndCapacities", null, "Member must have length greater than or equal to 1");
        var account = ctx.Principal.AccountId;
        var endpoint = RequireInService(account, name);
        var known = endpoint.ProductionVariants?.Select(v => v.VariantName).ToHashSet() ?? [];
        foreach (var d in desired)
        {
            var variant = JsonProtocol.Required(d.VariantName, "DesiredWeightsAndCapacities.VariantName");
            if (!known.Contains(variant))
                throw new AwsException("ValidationException", 400, $"The variant name(s) \"[{variant}]\" is/are not present in the endpoint \"{endpoint.EndpointArn}\".");
            if (d.DesiredWeight is < 0) throw JsonProtocol.Invalid("DesiredWeightsAndCapacities.DesiredWeight", d.DesiredWeight, "Member must have value greater than or equal to 0");
            if (d.DesiredInstanceCount is < 1) throw JsonProtocol.Invalid("DesiredWeightsAndCapacities.DesiredInstanceCount", d.DesiredInstanceCount, "Member must have value greater than or equal to 1");
            if (d.DesiredInstanceCount > MaxInstancesPerVariant)
                throw new AwsException("ResourceLimitExceeded", 400, $"The account-level service limit for endpoint usage is {MaxInstancesPerVariant} Instances per variant; a request delta of {d.DesiredInstanceCount} Instances exceeds it.");
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
                store.UpdateEndpoint(account, name, rec => rec with { EndpointStatus = "InService", FailureReason = e.Message, LastModifiedTime = clock.GetUtcNow() });
            }
        });
        await Task.WhenAny(update, Task.Delay(CreateWait));
        await JsonProtocol.WriteAsync(ctx, new CreateEndpointOutput(endpoint.EndpointArn), SageMakerJson.Default.CreateEndpointOutput);
    }

    async Task DeleteEndpoint(RequestContext ctx)
    {
        var name = JsonProtocol.Required(JsonProtocol.Input(ctx, SageMakerJson.Default.NameInput).EndpointName, "EndpointName");
        var account = ctx.Principal.AccountId;
        if (!store.DeleteEndpoint(account, name)) throw NotFound("endpoint", Arn(account, "endpoint", name));
        store.UpdateTags(Arn(account, "endpoint", name), _ => []);
        await hosting.StopEndpointAsync(account, name);
        await JsonProtocol.WriteEmptyAsync(ctx);
    }

    /// <summary>The List operations' shared filters and order: NameContains, CreationTimeBefore/
    /// After, SortBy (Name | CreationTime | Status), SortOrder (default: newest first).</summary>
    internal static List<T> Filter<T>(List<T> items, ListInput input, Func<T, string> name, Func<T, DateTimeOffset> created, Func<T, string> status)
    {
        IEnumerable<T> q = items;
        if (input.NameContains is { } contains) q = q.Where(i => name(i).Contains(contains, StringComparison.OrdinalIgnoreCase));
        if (input.CreationTimeBefore is { } before) q = q.Where(i => created(i).ToUnixTimeMilliseconds() / 1000.0 < before);
        if (input.CreationTimeAfter is { } after) q = q.Where(i => created(i).ToUnixTimeMilliseconds() / 1000.0 > after);
        var descending = input.SortOrder switch
        {
            null or "Descending" => true,
            "Ascending" => false,
            var other => throw JsonProtocol.Invalid("SortOrder", other, "Member must satisfy enum value set: [Ascending, Descending]"),
        };
        Func<T, IComparable> key = input.SortBy switch
        {
            null or "CreationTime" => i => created(i),
            "Name" => i => name(i),
            "Status" => i => status(i),
            var other => throw JsonProtocol.Invalid("SortBy", other, "Member must satisfy enum value set: [Name, CreationTime, Status]"),
        };
        return (descending ? q.OrderByDescending(key) : q.OrderBy(key)).ToList();
    }
}
