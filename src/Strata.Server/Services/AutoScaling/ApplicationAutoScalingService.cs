using Strata.Server.Protocol;
using Strata.Server.Services.SageMaker;

namespace Strata.Server.Services.AutoScaling;

/// <summary>
/// Application Auto Scaling (JSON 1.1, <c>AnyScaleFrontendService</c>) for SageMaker variants:
/// <c>endpoint/{name}/variant/{variant}</c> and <c>sagemaker:variant:DesiredInstanceCount</c>,
/// with target-tracking policies that the <see cref="Scaler"/> applies. Requests and answers are
/// the generated wire shapes; what is kept is <see cref="AutoScalingStore"/>'s rows.
/// </summary>
public sealed class ApplicationAutoScalingService(AutoScalingStore store, SageMakerStore sageMaker, TimeProvider clock, string region)
{
    public const string Namespace = "sagemaker";
    public const string Dimension = "sagemaker:variant:DesiredInstanceCount";
    public const string PredefinedInvocations = "SageMakerVariantInvocationsPerInstance";
    public const int DefaultCooldownSeconds = 300;

    /// <summary>Where target-tracking policies keep their alarms; set by the composition root once
    /// CloudWatch exists (without it a policy has no alarms).</summary>
    public IScalingAlarms? Alarms { get; set; }

    /// <summary>Strata's service limits: a MaxCapacity may not exceed the instances a variant may have.</summary>
    public SageMakerLimits Limits { get; init; } = new();

    public IEnumerable<Operation> Operations =>
    [
        ApplicationAutoScalingOperations.RegisterScalableTarget.Bind("application-autoscaling:RegisterScalableTarget", ScalableTargets, RegisterScalableTarget),
        ApplicationAutoScalingOperations.DeregisterScalableTarget.Bind("application-autoscaling:DeregisterScalableTarget", ScalableTargets, DeregisterScalableTarget),
        ApplicationAutoScalingOperations.DescribeScalableTargets.Bind("application-autoscaling:DescribeScalableTargets", ScalableTargets, DescribeScalableTargets),
        ApplicationAutoScalingOperations.PutScalingPolicy.Bind("application-autoscaling:PutScalingPolicy", ScalableTargets, PutScalingPolicy),
        ApplicationAutoScalingOperations.DeleteScalingPolicy.Bind("application-autoscaling:DeleteScalingPolicy", ScalableTargets, DeleteScalingPolicy),
        ApplicationAutoScalingOperations.DescribeScalingPolicies.Bind("application-autoscaling:DescribeScalingPolicies", ScalableTargets, DescribeScalingPolicies),
        ApplicationAutoScalingOperations.DescribeScalingActivities.Bind("application-autoscaling:DescribeScalingActivities", ScalableTargets, DescribeScalingActivities),
    ];

    /// <summary>Every operation acts on the account's scalable targets.</summary>
    string ScalableTargets<TIn>(TIn request, RequestContext ctx) => $"arn:aws:application-autoscaling:{region}:{ctx.Principal.AccountId}:scalable-target/*";

    /// <summary>The namespace, resource and dimension Strata scales: SageMaker variants (the model
    /// has already required all three).</summary>
    (string Endpoint, string Variant) CheckTarget(string account, string? ns, string? resourceId, string? dimension)
    {
        if (ns != Namespace) throw new UnsupportedScalableTarget($"Strata scales SageMaker variants only; ServiceNamespace {ns} is not supported.");
        if (dimension != Dimension) throw new UnsupportedScalableTarget($"Unsupported scalable dimension {dimension} for service namespace {ns}; use {Dimension}.");
        var parts = resourceId!.Split('/');
        if (parts is not ["endpoint", var endpoint, "variant", var variant])
            throw new UnsupportedScalableTarget($"Unsupported resource ID {resourceId}: SageMaker variants are endpoint/{{endpoint name}}/variant/{{variant name}}.");
        var record = sageMaker.GetEndpoint(account, endpoint);
        if (record is null || record.ProductionVariants?.Any(v => v.VariantName == variant) != true)
            throw new ScalableVariantNotFound(endpoint, variant);
        return (endpoint, variant);
    }

    bool IsAsync(string account, string endpointName)
        => sageMaker.GetEndpoint(account, endpointName) is { } endpoint && sageMaker.GetEndpointConfig(account, endpoint.EndpointConfigName)?.AsyncInferenceConfig is not null;

    RegisterScalableTargetResponse RegisterScalableTarget(RegisterScalableTargetRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var (endpointName, _) = CheckTarget(account, input.ServiceNamespace, input.ResourceId, input.ScalableDimension);
        var existing = store.GetTarget(account, input.ResourceId!);
        var min = input.MinCapacity ?? existing?.MinCapacity ?? throw new InvalidCapacity("MinCapacity and MaxCapacity are required to register a new scalable target.");
        var max = input.MaxCapacity ?? existing?.MaxCapacity ?? throw new InvalidCapacity("MinCapacity and MaxCapacity are required to register a new scalable target.");
        if (min < 0) throw JsonProtocol.Invalid("MinCapacity", min, "Member must have value greater than or equal to 0");
        if (max < min) throw new InvalidCapacity("Maximum capacity cannot be less than minimum capacity");
        if (max > Limits.InstancesPerVariant)
            throw new InvalidCapacity($"Maximum capacity {max} exceeds the {Limits.InstancesPerVariant} instances a variant may have. {SageMakerLimits.Raise("instances-per-variant")}");
        // Only an asynchronous endpoint may scale to no instance: its requests wait in its queue.
        if (min < 1 && !IsAsync(account, endpointName))
            throw new InvalidCapacity("SageMaker variants need at least one instance: MinCapacity must be at least 1 (0 only for an asynchronous inference endpoint).");
        var target = new ScalableTargetRow
        {
            ServiceNamespace = Namespace,
            ResourceId = input.ResourceId!,
            ScalableDimension = Dimension,
            MinCapacity = min,
            MaxCapacity = max,
            RoleARN = input.RoleARN ?? existing?.RoleARN ?? $"arn:aws:iam::{account}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
            CreationTime = existing?.CreationTime ?? clock.GetUtcNow(),
            SuspendedState = Row(input.SuspendedState) ?? existing?.SuspendedState ?? new SuspendedStateRow(false, false, false),
            ScalableTargetARN = existing?.ScalableTargetARN ?? $"arn:aws:application-autoscaling:{region}:{account}:scalable-target/{Guid.NewGuid():N}",
        };
        store.PutTarget(account, target);
        return new RegisterScalableTargetResponse { ScalableTargetARN = target.ScalableTargetARN };
    }

    DeregisterScalableTargetResponse DeregisterScalableTarget(DeregisterScalableTargetRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var policies = store.PoliciesOf(account, input.ResourceId!);
        if (!store.DeleteTarget(account, input.ResourceId!))
            throw new ScalableTargetNotFound(input.ServiceNamespace, input.ResourceId, input.ScalableDimension);
        // Its policies go with it, and their alarms with them.
        Alarms?.Delete(account, policies.SelectMany(p => p.Alarms).Select(a => a.AlarmName).ToList());
        return new DeregisterScalableTargetResponse();
    }

    DescribeScalableTargetsResponse DescribeScalableTargets(DescribeScalableTargetsRequest input, RequestContext ctx)
    {
        var targets = input.ServiceNamespace != Namespace ? [] : store.TargetsOf(ctx.Principal.AccountId)
            .Where(t => input.ResourceIds is not { Count: > 0 } ids || ids.Contains(t.ResourceId))
            .Where(t => input.ScalableDimension is null || t.ScalableDimension == input.ScalableDimension).ToList();
        var (page, next) = PageToken.Page(targets, input.NextToken, input.MaxResults);
        return new DescribeScalableTargetsResponse { ScalableTargets = page.Select(Wire).ToList(), NextToken = next };
    }

    PutScalingPolicyResponse PutScalingPolicy(PutScalingPolicyRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var name = input.PolicyName!;
        CheckTarget(account, input.ServiceNamespace, input.ResourceId, input.ScalableDimension);
        if (store.GetTarget(account, input.ResourceId!) is null)
            throw new ScalableTargetNotFound(input.ServiceNamespace, input.ResourceId, input.ScalableDimension);
        var type = input.PolicyType ?? "StepScaling";
        if (type is not ("TargetTrackingScaling" or "StepScaling"))
            throw new UnsupportedScalingPolicy($"Strata supports TargetTrackingScaling and StepScaling policies; {type} is not supported.");
        var existing = store.PoliciesOf(account, input.ResourceId).FirstOrDefault(p => p.PolicyName == name);
        var policy = new ScalingPolicyRow
        {
            PolicyARN = existing?.PolicyARN ?? $"arn:aws:autoscaling:{region}:{account}:scalingPolicy:{Guid.NewGuid()}:resource/{Namespace}/{input.ResourceId}:policyName/{name}",
            PolicyName = name,
            ServiceNamespace = Namespace,
            ResourceId = input.ResourceId!,
            ScalableDimension = Dimension,
            PolicyType = type,
            TargetTrackingScalingPolicyConfiguration = type == "TargetTrackingScaling" ? TargetTrackingRow(input) : null,
            StepScalingPolicyConfiguration = type == "StepScaling" ? StepRow(input) : null,
            CreationTime = existing?.CreationTime ?? clock.GetUtcNow(),
        };
        if (Alarms is { } alarms)
        {
            // A target-tracking policy's alarms follow its configuration: made anew (same names) on
            // every put; one it no longer needs (AlarmLow once scale-in is disabled, all of them once
            // the policy is a step policy, whose alarms are the user's own) is deleted.
            var id = existing?.Alarms.FirstOrDefault()?.AlarmName[^36..] ?? Guid.NewGuid().ToString();
            var wanted = TargetTrackingAlarms.For(policy, id);
            alarms.Delete(account, existing?.Alarms.Select(a => a.AlarmName).Except(wanted.Select(w => w.AlarmName)).ToList() ?? []);
            policy = policy with { Alarms = wanted.Select(a => new AlarmRow(a.AlarmName, alarms.Put(account, a))).ToList() };
        }
        store.PutPolicy(account, policy);
        return new PutScalingPolicyResponse { PolicyARN = policy.PolicyARN, Alarms = policy.Alarms.Select(Wire).ToList() };
    }

    static TargetTrackingConfigRow TargetTrackingRow(PutScalingPolicyRequest input)
    {
        var config = input.TargetTrackingScalingPolicyConfiguration
            ?? throw new UnsupportedScalingPolicy("TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy.");
        if (input.StepScalingPolicyConfiguration is not null)
            throw new UnsupportedScalingPolicy("StepScalingPolicyConfiguration cannot be given for a TargetTrackingScaling policy.");
        if (config.TargetValue is not { } target || target <= 0) throw new UnsupportedScalingPolicy("The target value must be greater than 0.");
        if (config.PredefinedMetricSpecification is { } predefined)
        {
            if (predefined.PredefinedMetricType != PredefinedInvocations)
                throw new UnsupportedScalingPolicy($"Unsupported predefined metric type {predefined.PredefinedMetricType} for a SageMaker variant; use {PredefinedInvocations}.");
        }
        else if (config.CustomizedMetricSpecification is { } custom)
        {
            // The model allows only the five statistics; metric math (Metrics) is not applied.
            if (custom.MetricName is null || custom.Namespace is null || custom.Statistic is null)
                throw new UnsupportedScalingPolicy("A customized metric needs MetricName, Namespace and Statistic.");
        }
        else throw new UnsupportedScalingPolicy("Either PredefinedMetricSpecification or CustomizedMetricSpecification is required.");
        foreach (var (member, value) in new[] { ("ScaleOutCooldown", config.ScaleOutCooldown), ("ScaleInCooldown", config.ScaleInCooldown) })
            if (value is < 0) throw JsonProtocol.Invalid($"TargetTrackingScalingPolicyConfiguration.{member}", value, "Member must have value greater than or equal to 0");
        return new TargetTrackingConfigRow(config.TargetValue,
            config.PredefinedMetricSpecification is { } p ? new PredefinedMetricRow(p.PredefinedMetricType, p.ResourceLabel) : null,
            config.CustomizedMetricSpecification is { } c
                ? new CustomizedMetricRow(c.MetricName, c.Namespace, c.Dimensions?.Select(d => new MetricDimensionRow(d.Name, d.Value)).ToList(), c.Statistic, c.Unit)
                : null,
            config.ScaleOutCooldown ?? DefaultCooldownSeconds, config.ScaleInCooldown ?? DefaultCooldownSeconds, config.DisableScaleIn ?? false);
    }

    static StepConfigRow StepRow(PutScalingPolicyRequest input)
    {
        var config = input.StepScalingPolicyConfiguration
            ?? throw new UnsupportedScalingPolicy("StepScalingPolicyConfiguration is required for a StepScaling policy.");
        if (input.TargetTrackingScalingPolicyConfiguration is not null)
            throw new UnsupportedScalingPolicy("TargetTrackingScalingPolicyConfiguration cannot be given for a StepScaling policy.");
        var row = new StepConfigRow(config.AdjustmentType ?? throw new UnsupportedScalingPolicy("AdjustmentType is required for a StepScaling policy."),
            (config.StepAdjustments ?? []).Select(a => new StepRow(a.MetricIntervalLowerBound, a.MetricIntervalUpperBound, a.ScalingAdjustment ?? 0)).ToList(),
            config.MinAdjustmentMagnitude, config.Cooldown, config.MetricAggregationType);
        if (StepScaling.Refusal(row) is { } why) throw new UnsupportedScalingPolicy(why);
        return row;
    }

    DeleteScalingPolicyResponse DeleteScalingPolicy(DeleteScalingPolicyRequest input, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        var policy = store.PoliciesOf(account, input.ResourceId!).FirstOrDefault(p => p.PolicyName == input.PolicyName);
        if (!store.DeletePolicy(account, input.ResourceId!, input.PolicyName!))
            throw new ScalingPolicyNotFound(input.ServiceNamespace, input.ResourceId, input.ScalableDimension, input.PolicyName!);
        Alarms?.Delete(account, policy?.Alarms.Select(a => a.AlarmName).ToList() ?? []);
        return new DeleteScalingPolicyResponse();
    }

    DescribeScalingPoliciesResponse DescribeScalingPolicies(DescribeScalingPoliciesRequest input, RequestContext ctx)
    {
        var policies = input.ServiceNamespace != Namespace ? [] : store.PoliciesOf(ctx.Principal.AccountId, input.ResourceId)
            .Where(p => input.PolicyNames is not { Count: > 0 } names || names.Contains(p.PolicyName)).ToList();
        var (page, next) = PageToken.Page(policies, input.NextToken, input.MaxResults);
        return new DescribeScalingPoliciesResponse { ScalingPolicies = page.Select(Wire).ToList(), NextToken = next };
    }

    DescribeScalingActivitiesResponse DescribeScalingActivities(DescribeScalingActivitiesRequest input, RequestContext ctx)
    {
        var activities = input.ServiceNamespace != Namespace ? [] : store.ActivitiesOf(ctx.Principal.AccountId, input.ResourceId);
        var (page, next) = PageToken.Page(activities, input.NextToken, input.MaxResults);
        return new DescribeScalingActivitiesResponse { ScalingActivities = page.Select(Wire).ToList(), NextToken = next };
    }

    // ---- rows ↔ wire shapes ----

    static SuspendedStateRow? Row(SuspendedState? s)
        => s is null ? null : new SuspendedStateRow(s.DynamicScalingInSuspended, s.DynamicScalingOutSuspended, s.ScheduledScalingSuspended);

    static ScalableTarget Wire(ScalableTargetRow t) => new()
    {
        ServiceNamespace = t.ServiceNamespace,
        ResourceId = t.ResourceId,
        ScalableDimension = t.ScalableDimension,
        MinCapacity = t.MinCapacity,
        MaxCapacity = t.MaxCapacity,
        RoleARN = t.RoleARN,
        CreationTime = t.CreationTime,
        SuspendedState = t.SuspendedState is { } s
            ? new SuspendedState { DynamicScalingInSuspended = s.DynamicScalingInSuspended, DynamicScalingOutSuspended = s.DynamicScalingOutSuspended, ScheduledScalingSuspended = s.ScheduledScalingSuspended }
            : null,
        ScalableTargetARN = t.ScalableTargetARN,
    };

    static ScalingPolicy Wire(ScalingPolicyRow p) => new()
    {
        PolicyARN = p.PolicyARN,
        PolicyName = p.PolicyName,
        ServiceNamespace = p.ServiceNamespace,
        ResourceId = p.ResourceId,
        ScalableDimension = p.ScalableDimension,
        PolicyType = p.PolicyType,
        TargetTrackingScalingPolicyConfiguration = p.TargetTrackingScalingPolicyConfiguration is { } t ? Wire(t) : null,
        StepScalingPolicyConfiguration = p.StepScalingPolicyConfiguration is { } c ? new StepScalingPolicyConfiguration
        {
            AdjustmentType = c.AdjustmentType,
            StepAdjustments = c.StepAdjustments.Select(a => new StepAdjustment
            {
                MetricIntervalLowerBound = a.MetricIntervalLowerBound,
                MetricIntervalUpperBound = a.MetricIntervalUpperBound,
                ScalingAdjustment = a.ScalingAdjustment,
            }).ToList(),
            MinAdjustmentMagnitude = c.MinAdjustmentMagnitude,
            Cooldown = c.Cooldown,
            MetricAggregationType = c.MetricAggregationType,
        } : null,
        Alarms = p.Alarms.Select(Wire).ToList(),
        CreationTime = p.CreationTime,
    };

    static TargetTrackingScalingPolicyConfiguration Wire(TargetTrackingConfigRow c) => new()
    {
        TargetValue = c.TargetValue,
        PredefinedMetricSpecification = c.PredefinedMetricSpecification is { } p
            ? new PredefinedMetricSpecification { PredefinedMetricType = p.PredefinedMetricType, ResourceLabel = p.ResourceLabel }
            : null,
        CustomizedMetricSpecification = c.CustomizedMetricSpecification is { } m
            ? new CustomizedMetricSpecification
            {
                MetricName = m.MetricName,
                Namespace = m.Namespace,
                Dimensions = m.Dimensions?.Select(d => new MetricDimension { Name = d.Name, Value = d.Value }).ToList(),
                Statistic = m.Statistic,
                Unit = m.Unit,
            }
            : null,
        ScaleOutCooldown = c.ScaleOutCooldown,
        ScaleInCooldown = c.ScaleInCooldown,
        DisableScaleIn = c.DisableScaleIn,
    };

    static Alarm Wire(AlarmRow a) => new() { AlarmName = a.AlarmName, AlarmARN = a.AlarmARN };

    static ScalingActivity Wire(ScalingActivityRow a) => new()
    {
        ActivityId = a.ActivityId,
        ServiceNamespace = a.ServiceNamespace,
        ResourceId = a.ResourceId,
        ScalableDimension = a.ScalableDimension,
        Description = a.Description,
        Cause = a.Cause,
        StartTime = a.StartTime,
        EndTime = a.EndTime,
        StatusCode = a.StatusCode,
        StatusMessage = a.StatusMessage,
    };
}
