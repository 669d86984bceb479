using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Server.Protocol;
using Strata.Server.Services.SageMaker;
using Strata.Server.Storage;

namespace Strata.Server.Services.AutoScaling;

public sealed record SuspendedState(bool? DynamicScalingInSuspended, bool? DynamicScalingOutSuspended, bool? ScheduledScalingSuspended);
public sealed record MetricDimension(string? Name, string? Value);
public sealed record PredefinedMetricSpecification(string? PredefinedMetricType, string? ResourceLabel);
public sealed record CustomizedMetricSpecification(string? MetricName, string? Namespace, List<MetricDimension>? Dimensions, string? Statistic, string? Unit);
public sealed record TargetTrackingScalingPolicyConfiguration(double? TargetValue, PredefinedMetricSpecification? PredefinedMetricSpecification,
    CustomizedMetricSpecification? CustomizedMetricSpecification, int? ScaleOutCooldown, int? ScaleInCooldown, bool? DisableScaleIn);
public sealed record Alarm(string AlarmName, string AlarmARN);

public sealed record ScalableTarget
{
    public required string ServiceNamespace { get; init; }
    public required string ResourceId { get; init; }
    public required string ScalableDimension { get; init; }
    public required int MinCapacity { get; init; }
    public required int MaxCapacity { get; init; }
    public required string RoleARN { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public required DateTimeOffset CreationTime { get; init; }
    public SuspendedState? SuspendedState { get; init; }
    public required string ScalableTargetARN { get; init; }
}

public sealed record ScalingPolicy
{
    public required string PolicyARN { get; init; }
    public required string PolicyName { get; init; }
    public required string ServiceNamespace { get; init; }
    public required string ResourceId { get; init; }
    public required string ScalableDimension { get; init; }
    public required string PolicyType { get; init; }
    public required TargetTrackingScalingPolicyConfiguration TargetTrackingScalingPolicyConfiguration { get; init; }
    public List<Alarm> Alarms { get; init; } = [];
    [JsonConverter(typeof(EpochSecondsConverter))] public required DateTimeOffset CreationTime { get; init; }
}

public sealed record ScalingActivity
{
    public required string ActivityId { get; init; }
    public required string ServiceNamespace { get; init; }
    public required string ResourceId { get; init; }
    public required string ScalableDimension { get; init; }
    public required string Description { get; init; }
    public required string Cause { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public required DateTimeOffset StartTime { get; init; }
    [JsonConverter(typeof(NullableEpochSecondsConverter))] public DateTimeOffset? EndTime { get; init; }
    public required string StatusCode { get; init; }
    public string? StatusMessage { get; init; }
}

/// <summary>A target's scaling history the scaler needs (not part of any API answer).</summary>
public sealed record ScalingState(DateTimeOffset? LastScaleOut, DateTimeOffset? LastScaling);

public sealed record RegisterScalableTargetInput(string? ServiceNamespace, string? ResourceId, string? ScalableDimension, int? MinCapacity, int? MaxCapacity,
    string? RoleARN, SuspendedState? SuspendedState);
public sealed record TargetKeyInput(string? ServiceNamespace, string? ResourceId, string? ScalableDimension, List<string>? ResourceIds, List<string>? PolicyNames,
    string? PolicyName, int? MaxResults, string? NextToken);
public sealed record PutScalingPolicyInput(string? PolicyName, string? ServiceNamespace, string? ResourceId, string? ScalableDimension, string? PolicyType,
    TargetTrackingScalingPolicyConfiguration? TargetTrackingScalingPolicyConfiguration, JsonElement? StepScalingPolicyConfiguration);
public sealed record RegisterScalableTargetOutput(string ScalableTargetARN);
public sealed record PutScalingPolicyOutput(string PolicyARN, List<Alarm> Alarms);
public sealed record DescribeScalableTargetsOutput(List<ScalableTarget> ScalableTargets, string? NextToken);
public sealed record DescribeScalingPoliciesOutput(List<ScalingPolicy> ScalingPolicies, string? NextToken);
public sealed record DescribeScalingActivitiesOutput(List<ScalingActivity> ScalingActivities, string? NextToken);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ScalableTarget))]
[JsonSerializable(typeof(ScalingPolicy))]
[JsonSerializable(typeof(ScalingActivity))]
[JsonSerializable(typeof(ScalingState))]
[JsonSerializable(typeof(RegisterScalableTargetInput))]
[JsonSerializable(typeof(TargetKeyInput))]
[JsonSerializable(typeof(PutScalingPolicyInput))]
[JsonSerializable(typeof(RegisterScalableTargetOutput))]
[JsonSerializable(typeof(PutScalingPolicyOutput))]
[JsonSerializable(typeof(DescribeScalableTargetsOutput))]
[JsonSerializable(typeof(DescribeScalingPoliciesOutput))]
[JsonSerializable(typeof(DescribeScalingActivitiesOutput))]
internal sealed partial class AutoScalingJson : JsonSerializerContext;

/// <summary>Scalable targets, policies, activities and scaling state, in the state store.</summary>
public sealed class AutoScalingStore(IStateStore state)
{
    const string Targets = "aas-targets";
    const string Policies = "aas-policies";
    const string Activities = "aas-activities";
    const string States = "aas-state";

    static string Key(string account, string resourceId) => $"{account}/{resourceId}";

    public ScalableTarget? GetTarget(string account, string resourceId)
        => state.Read(r => r.Get(Targets, Key(account, resourceId))) is { } json ? JsonSerializer.Deserialize(json, AutoScalingJson.Default.ScalableTarget) : null;

    public List<ScalableTarget> TargetsOf(string account)
        => state.Read(r => r.Scan(Targets, account + "/", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, AutoScalingJson.Default.ScalableTarget)!).ToList();

    public List<(string Account, ScalableTarget Target)> AllTargets()
        => state.Read(r => r.Scan(Targets, "", null, int.MaxValue))
            .Select(kv => (kv.Key[..kv.Key.IndexOf('/')], JsonSerializer.Deserialize(kv.Value, AutoScalingJson.Default.ScalableTarget)!)).ToList();

    public void PutTarget(string account, ScalableTarget target) => state.Write(w =>
    {
        w.Put(Targets, Key(account, target.ResourceId), JsonSerializer.Serialize(target, AutoScalingJson.Default.ScalableTarget));
        return 0;
    });

    /// <summary>Removes a target with its policies.</summary>
    public bool DeleteTarget(string account, string resourceId) => state.Write(w =>
    {
        foreach (var (key, _) in w.Scan(Policies, Key(account, resourceId) + "/", null, int.MaxValue)) w.Delete(Policies, key);
        w.Delete(States, Key(account, resourceId));
        return w.Delete(Targets, Key(account, resourceId));
    });

    public List<ScalingPolicy> PoliciesOf(string account, string? resourceId)
        => state.Read(r => r.Scan(Policies, resourceId is null ? account + "/" : Key(account, resourceId) + "/", null, int.MaxValue))
            .Select(kv => JsonSerializer.Deserialize(kv.Value, AutoScalingJson.Default.ScalingPolicy)!).ToList();

    public void PutPolicy(string account, ScalingPolicy policy) => state.Write(w =>
    {
        w.Put(Policies, $"{Key(account, policy.ResourceId)}/{policy.PolicyName}", JsonSerializer.Serialize(policy, AutoScalingJson.Default.ScalingPolicy));
        return 0;
    });

    public bool DeletePolicy(string account, string resourceId, string name) => state.Write(w => w.Delete(Policies, $"{Key(account, resourceId)}/{name}"));

    public void AddActivity(string account, ScalingActivity activity) => state.Write(w =>
    {
        // Newest first when scanned: the key orders by inverted time.
        var order = (long.MaxValue - activity.StartTime.ToUnixTimeMilliseconds()).ToString("D19");
        w.Put(Activities, $"{Key(account, activity.ResourceId)}/{order}-{activity.ActivityId}", JsonSerializer.Serialize(activity, AutoScalingJson.Default.ScalingActivity));
        return 0;
    });

    public List<ScalingActivity> ActivitiesOf(string account, string? resourceId)
        => state.Read(r => r.Scan(Activities, resourceId is null ? account + "/" : Key(account, resourceId) + "/", null, int.MaxValue))
            .Select(kv => JsonSerializer.Deserialize(kv.Value, AutoScalingJson.Default.ScalingActivity)!).OrderByDescending(a => a.StartTime).ToList();

    public ScalingState GetState(string account, string resourceId)
        => state.Read(r => r.Get(States, Key(account, resourceId))) is { } json ? JsonSerializer.Deserialize(json, AutoScalingJson.Default.ScalingState)! : new ScalingState(null, null);

    public void PutState(string account, string resourceId, ScalingState s) => state.Write(w =>
    {
        w.Put(States, Key(account, resourceId), JsonSerializer.Serialize(s, AutoScalingJson.Default.ScalingState));
        return 0;
    });
}

/// <summary>
/// Application Auto Scaling (JSON 1.1, <c>AnyScaleFrontendService</c>) for SageMaker variants:
/// <c>endpoint/{name}/variant/{variant}</c> and <c>sagemaker:variant:DesiredInstanceCount</c>,
/// with target-tracking policies that the <see cref="Scaler"/> applies.
/// </summary>
public sealed class ApplicationAutoScalingService(AutoScalingStore store, SageMakerStore sageMaker, TimeProvider clock, string region)
{
    public const string Namespace = "sagemaker";
    public const string Dimension = "sagemaker:variant:DesiredInstanceCount";
    public const string PredefinedInvocations = "SageMakerVariantInvocationsPerInstance";
    public const int DefaultCooldownSeconds = 300;

    public IEnumerable<Operation> Operations =>
    [
        Op("RegisterScalableTarget", RegisterScalableTarget),
        Op("DeregisterScalableTarget", DeregisterScalableTarget),
        Op("DescribeScalableTargets", DescribeScalableTargets),
        Op("PutScalingPolicy", PutScalingPolicy),
        Op("DeleteScalingPolicy", DeleteScalingPolicy),
        Op("DescribeScalingPolicies", DescribeScalingPolicies),
        Op("DescribeScalingActivities", DescribeScalingActivities),
    ];

    Operation Op(string name, Func<RequestContext, Task> handler)
        => new(name, "application-autoscaling:" + name, ctx => $"arn:aws:application-autoscaling:{region}:{ctx.Principal.AccountId}:scalable-target/*", handler);

    static AwsException Invalid(string message) => new("ValidationException", 400, message);

    /// <summary>The namespace, resource and dimension Strata scales: SageMaker variants.</summary>
    (string Endpoint, string Variant) CheckTarget(string account, string? ns, string? resourceId, string? dimension)
    {
        JsonProtocol.Required(ns, "ServiceNamespace");
        JsonProtocol.Required(resourceId, "ResourceId");
        JsonProtocol.Required(dimension, "ScalableDimension");
        if (ns != Namespace) throw Invalid($"Strata scales SageMaker variants only; ServiceNamespace {ns} is not supported.");
        if (dimension != Dimension) throw Invalid($"Unsupported scalable dimension {dimension} for service namespace {ns}; use {Dimension}.");
        var parts = resourceId!.Split('/');
        if (parts is not ["endpoint", var endpoint, "variant", var variant])
            throw Invalid($"Unsupported resource ID {resourceId}: SageMaker variants are endpoint/{{endpoint name}}/variant/{{variant name}}.");
        var record = sageMaker.GetEndpoint(account, endpoint);
        if (record is null || record.ProductionVariants?.Any(v => v.VariantName == variant) != true)
            throw Invalid($"The endpoint {endpoint} with variant {variant} does not exist.");
        return (endpoint, variant);
    }

    async Task RegisterScalableTarget(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, AutoScalingJson.Default.RegisterScalableTargetInput);
        var account = ctx.Principal.AccountId;
        CheckTarget(account, input.ServiceNamespace, input.ResourceId, input.ScalableDimension);
        var existing = store.GetTarget(account, input.ResourceId!);
        var min = input.MinCapacity ?? existing?.MinCapacity ?? throw Invalid("MinCapacity and MaxCapacity are required to register a new scalable target.");
        var max = input.MaxCapacity ?? existing?.MaxCapacity ?? throw Invalid("MinCapacity and MaxCapacity are required to register a new scalable target.");
        if (min < 0) throw JsonProtocol.Invalid("MinCapacity", min, "Member must have value greater than or equal to 0");
        if (max < min) throw Invalid($"Maximum capacity cannot be less than minimum capacity");
        if (max > SageMakerService.MaxInstancesPerVariant) throw Invalid($"Maximum capacity {max} exceeds the {SageMakerService.MaxInstancesPerVariant} instances a variant may have.");
        if (min < 1) throw Invalid("SageMaker variants need at least one instance: MinCapacity must be at least 1.");
        var target = new ScalableTarget
        {
            ServiceNamespace = Namespace,
            ResourceId = input.ResourceId!,
            ScalableDimension = Dimension,
            MinCapacity = min,
            MaxCapacity = max,
            RoleARN = input.RoleARN ?? existing?.RoleARN ?? $"arn:aws:iam::{account}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
            CreationTime = existing?.CreationTime ?? clock.GetUtcNow(),
            SuspendedState = input.SuspendedState ?? existing?.SuspendedState ?? new SuspendedState(false, false, false),
            ScalableTargetARN = existing?.ScalableTargetARN ?? $"arn:aws:application-autoscaling:{region}:{account}:scalable-target/{Guid.NewGuid():N}",
        };
        store.PutTarget(account, target);
        await JsonProtocol.WriteAsync(ctx, new RegisterScalableTargetOutput(target.ScalableTargetARN), AutoScalingJson.Default.RegisterScalableTargetOutput);
    }

    AwsException NoTarget(TargetKeyInput input) => new("ObjectNotFoundException", 400,
        $"No scalable target registered for service namespace: {input.ServiceNamespace}, resource ID: {input.ResourceId}, scalable dimension: {input.ScalableDimension}");

    Task DeregisterScalableTarget(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, AutoScalingJson.Default.TargetKeyInput);
        JsonProtocol.Required(input.ResourceId, "ResourceId");
        if (!store.DeleteTarget(ctx.Principal.AccountId, input.ResourceId!)) throw NoTarget(input);
        return JsonProtocol.WriteEmptyAsync(ctx);
    }

    Task DescribeScalableTargets(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, AutoScalingJson.Default.TargetKeyInput);
        JsonProtocol.Required(input.ServiceNamespace, "ServiceNamespace");
        var targets = input.ServiceNamespace != Namespace ? [] : store.TargetsOf(ctx.Principal.AccountId)
            .Where(t => input.ResourceIds is not { Count: > 0 } ids || ids.Contains(t.ResourceId))
            .Where(t => input.ScalableDimension is null || t.ScalableDimension == input.ScalableDimension).ToList();
        var (page, next) = PageToken.Page(targets, input.NextToken, input.MaxResults);
        return JsonProtocol.WriteAsync(ctx, new DescribeScalableTargetsOutput(page, next), AutoScalingJson.Default.DescribeScalableTargetsOutput);
    }

    async Task PutScalingPolicy(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, AutoScalingJson.Default.PutScalingPolicyInput);
        var account = ctx.Principal.AccountId;
        var name = JsonProtocol.Required(input.PolicyName, "PolicyName");
        CheckTarget(account, input.ServiceNamespace, input.ResourceId, input.ScalableDimension);
        if (store.GetTarget(account, input.ResourceId!) is null)
            throw NoTarget(new TargetKeyInput(input.ServiceNamespace, input.ResourceId, input.ScalableDimension, null, null, null, null, null));
        var type = input.PolicyType ?? "StepScaling";
        if (type != "TargetTrackingScaling")
            throw Invalid($"Strata supports TargetTrackingScaling policies; {type} is not supported.");
        var config = input.TargetTrackingScalingPolicyConfiguration ?? throw Invalid("TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy.");
        if (config.TargetValue is not { } target || target <= 0) throw Invalid("The target value must be greater than 0.");
        if (config.PredefinedMetricSpecification is { } predefined)
        {
            if (predefined.PredefinedMetricType != PredefinedInvocations)
                throw Invalid($"Unsupported predefined metric type {predefined.PredefinedMetricType} for a SageMaker variant; use {PredefinedInvocations}.");
        }
        else if (config.CustomizedMetricSpecification is { } custom)
        {
            if (custom.MetricName is null || custom.Namespace is null || custom.Statistic is null)
                throw Invalid("A customized metric needs MetricName, Namespace and Statistic.");
            if (custom.Statistic is not ("Average" or "Sum" or "SampleCount" or "Minimum" or "Maximum"))
                throw Invalid($"Unsupported statistic {custom.Statistic}.");
        }
        else throw Invalid("Either PredefinedMetricSpecification or CustomizedMetricSpecification is required.");
        foreach (var (member, value) in new[] { ("ScaleOutCooldown", config.ScaleOutCooldown), ("ScaleInCooldown", config.ScaleInCooldown) })
            if (value is < 0) throw JsonProtocol.Invalid($"TargetTrackingScalingPolicyConfiguration.{member}", value, "Member must have value greater than or equal to 0");

        var existing = store.PoliciesOf(account, input.ResourceId).FirstOrDefault(p => p.PolicyName == name);
        var policy = new ScalingPolicy
        {
            PolicyARN = existing?.PolicyARN ?? $"arn:aws:autoscaling:{region}:{account}:scalingPolicy:{Guid.NewGuid()}:resource/{Namespace}/{input.ResourceId}:policyName/{name}",
            PolicyName = name,
            ServiceNamespace = Namespace,
            ResourceId = input.ResourceId!,
            ScalableDimension = Dimension,
            PolicyType = type,
            TargetTrackingScalingPolicyConfiguration = config with
            {
                ScaleOutCooldown = config.ScaleOutCooldown ?? DefaultCooldownSeconds,
                ScaleInCooldown = config.ScaleInCooldown ?? DefaultCooldownSeconds,
                DisableScaleIn = config.DisableScaleIn ?? false,
            },
            CreationTime = existing?.CreationTime ?? clock.GetUtcNow(),
        };
        store.PutPolicy(account, policy);
        await JsonProtocol.WriteAsync(ctx, new PutScalingPolicyOutput(policy.PolicyARN, policy.Alarms), AutoScalingJson.Default.PutScalingPolicyOutput);
    }

    Task DeleteScalingPolicy(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, AutoScalingJson.Default.TargetKeyInput);
        var name = JsonProtocol.Required(input.PolicyName, "PolicyName");
        JsonProtocol.Required(input.ResourceId, "ResourceId");
        if (!store.DeletePolicy(ctx.Principal.AccountId, input.ResourceId!, name))
            throw new AwsException("ObjectNotFoundException", 400, $"No scaling policy found for service namespace: {input.ServiceNamespace}, resource ID: {input.ResourceId}, scalable dimension: {input.ScalableDimension}, policy name: {name}");
        return JsonProtocol.WriteEmptyAsync(ctx);
    }

    Task DescribeScalingPolicies(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, AutoScalingJson.Default.TargetKeyInput);
        JsonProtocol.Required(input.ServiceNamespace, "ServiceNamespace");
        var policies = input.ServiceNamespace != Namespace ? [] : store.PoliciesOf(ctx.Principal.AccountId, input.ResourceId)
            .Where(p => input.PolicyNames is not { Count: > 0 } names || names.Contains(p.PolicyName)).ToList();
        var (page, next) = PageToken.Page(policies, input.NextToken, input.MaxResults);
        return JsonProtocol.WriteAsync(ctx, new DescribeScalingPoliciesOutput(page, next), AutoScalingJson.Default.DescribeScalingPoliciesOutput);
    }

    Task DescribeScalingActivities(RequestContext ctx)
    {
        var input = JsonProtocol.Input(ctx, AutoScalingJson.Default.TargetKeyInput);
        JsonProtocol.Required(input.ServiceNamespace, "ServiceNamespace");
        var activities = input.ServiceNamespace != Namespace ? [] : store.ActivitiesOf(ctx.Principal.AccountId, input.ResourceId);
        var (page, next) = PageToken.Page(activities, input.NextToken, input.MaxResults);
        return JsonProtocol.WriteAsync(ctx, new DescribeScalingActivitiesOutput(page, next), AutoScalingJson.Default.DescribeScalingActivitiesOutput);
    }
}
