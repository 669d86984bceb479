using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Server.Protocol;
using Strata.Server.Services.SageMaker;
using Strata.Server.Storage;

namespace Strata.Server.Services.AutoScaling;

// The rows Application Auto Scaling keeps in the state store. They are not the wire shapes (those
// are generated in ApplicationAutoScaling.g.cs): their JSON is what data directories already
// hold, so their member names stay as they were written, whatever the model says next.

public sealed record SuspendedStateRow(bool? DynamicScalingInSuspended, bool? DynamicScalingOutSuspended, bool? ScheduledScalingSuspended);
public sealed record MetricDimensionRow(string? Name, string? Value);
public sealed record PredefinedMetricRow(string? PredefinedMetricType, string? ResourceLabel);
public sealed record CustomizedMetricRow(string? MetricName, string? Namespace, List<MetricDimensionRow>? Dimensions, string? Statistic, string? Unit);
public sealed record TargetTrackingConfigRow(double? TargetValue, PredefinedMetricRow? PredefinedMetricSpecification,
    CustomizedMetricRow? CustomizedMetricSpecification, int? ScaleOutCooldown, int? ScaleInCooldown, bool? DisableScaleIn);
public sealed record AlarmRow(string AlarmName, string AlarmARN);

public sealed record ScalableTargetRow
{
    public required string ServiceNamespace { get; init; }
    public required string ResourceId { get; init; }
    public required string ScalableDimension { get; init; }
    public required int MinCapacity { get; init; }
    public required int MaxCapacity { get; init; }
    public required string RoleARN { get; init; }
    [JsonConverter(typeof(EpochSecondsConverter))] public required DateTimeOffset CreationTime { get; init; }
    public SuspendedStateRow? SuspendedState { get; init; }
    public required string ScalableTargetARN { get; init; }
}

public sealed record ScalingPolicyRow
{
    public required string PolicyARN { get; init; }
    public required string PolicyName { get; init; }
    public required string ServiceNamespace { get; init; }
    public required string ResourceId { get; init; }
    public required string ScalableDimension { get; init; }
    public required string PolicyType { get; init; }
    /// <summary>A TargetTrackingScaling policy's configuration; null for a StepScaling policy.</summary>
    public TargetTrackingConfigRow? TargetTrackingScalingPolicyConfiguration { get; init; }
    /// <summary>A StepScaling policy's configuration (a CloudWatch alarm whose action names the policy invokes it).</summary>
    public StepConfigRow? StepScalingPolicyConfiguration { get; init; }
    public List<AlarmRow> Alarms { get; init; } = [];
    [JsonConverter(typeof(EpochSecondsConverter))] public required DateTimeOffset CreationTime { get; init; }
}

public sealed record ScalingActivityRow
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
/// <summary>When the target last scaled out and last scaled at all, and the capacity before that
/// scale-out (what a step-scaling policy's next scale-out in its cooldown counts from).</summary>
public sealed record ScalingState(DateTimeOffset? LastScaleOut, DateTimeOffset? LastScaling, int? ScaleOutBase = null);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ScalableTargetRow))]
[JsonSerializable(typeof(ScalingPolicyRow))]
[JsonSerializable(typeof(ScalingActivityRow))]
[JsonSerializable(typeof(ScalingState))]
internal sealed partial class AutoScalingStoreJson : JsonSerializerContext;

/// <summary>Scalable targets, policies, activities and scaling state, in the state store.</summary>
public sealed class AutoScalingStore(IStateStore state)
{
    const string Targets = "aas-targets";
    const string Policies = "aas-policies";
    const string Activities = "aas-activities";
    const string States = "aas-state";

    static string Key(string account, string resourceId) => $"{account}/{resourceId}";

    public ScalableTargetRow? GetTarget(string account, string resourceId)
        => state.Read(r => r.Get(Targets, Key(account, resourceId))) is { } json ? JsonSerializer.Deserialize(json, AutoScalingStoreJson.Default.ScalableTargetRow) : null;

    public List<ScalableTargetRow> TargetsOf(string account)
        => state.Read(r => r.Scan(Targets, account + "/", null, int.MaxValue)).Select(kv => JsonSerializer.Deserialize(kv.Value, AutoScalingStoreJson.Default.ScalableTargetRow)!).ToList();

    public List<(string Account, ScalableTargetRow Target)> AllTargets()
        => state.Read(r => r.Scan(Targets, "", null, int.MaxValue))
            .Select(kv => (kv.Key[..kv.Key.IndexOf('/')], JsonSerializer.Deserialize(kv.Value, AutoScalingStoreJson.Default.ScalableTargetRow)!)).ToList();

    public void PutTarget(string account, ScalableTargetRow target) => state.Write(w =>
    {
        w.Put(Targets, Key(account, target.ResourceId), JsonSerializer.Serialize(target, AutoScalingStoreJson.Default.ScalableTargetRow));
        return 0;
    });

    /// <summary>Removes a target with its policies.</summary>
    public bool DeleteTarget(string account, string resourceId) => state.Write(w =>
    {
        foreach (var (key, _) in w.Scan(Policies, Key(account, resourceId) + "/", null, int.MaxValue)) w.Delete(Policies, key);
        w.Delete(States, Key(account, resourceId));
        return w.Delete(Targets, Key(account, resourceId));
    });

    public List<ScalingPolicyRow> PoliciesOf(string account, string? resourceId)
        => state.Read(r => r.Scan(Policies, resourceId is null ? account + "/" : Key(account, resourceId) + "/", null, int.MaxValue))
            .Select(kv => JsonSerializer.Deserialize(kv.Value, AutoScalingStoreJson.Default.ScalingPolicyRow)!).ToList();

    public void PutPolicy(string account, ScalingPolicyRow policy) => state.Write(w =>
    {
        w.Put(Policies, $"{Key(account, policy.ResourceId)}/{policy.PolicyName}", JsonSerializer.Serialize(policy, AutoScalingStoreJson.Default.ScalingPolicyRow));
        return 0;
    });

    public bool DeletePolicy(string account, string resourceId, string name) => state.Write(w => w.Delete(Policies, $"{Key(account, resourceId)}/{name}"));

    public void AddActivity(string account, ScalingActivityRow activity) => state.Write(w =>
    {
        // Newest first when scanned: the key orders by inverted time.
        var order = (long.MaxValue - activity.StartTime.ToUnixTimeMilliseconds()).ToString("D19");
        w.Put(Activities, $"{Key(account, activity.ResourceId)}/{order}-{activity.ActivityId}", JsonSerializer.Serialize(activity, AutoScalingStoreJson.Default.ScalingActivityRow));
        return 0;
    });

    public List<ScalingActivityRow> ActivitiesOf(string account, string? resourceId)
        => state.Read(r => r.Scan(Activities, resourceId is null ? account + "/" : Key(account, resourceId) + "/", null, int.MaxValue))
            .Select(kv => JsonSerializer.Deserialize(kv.Value, AutoScalingStoreJson.Default.ScalingActivityRow)!).OrderByDescending(a => a.StartTime).ToList();

    public ScalingState GetState(string account, string resourceId)
        => state.Read(r => r.Get(States, Key(account, resourceId))) is { } json ? JsonSerializer.Deserialize(json, AutoScalingStoreJson.Default.ScalingState)! : new ScalingState(null, null);

    public void PutState(string account, string resourceId, ScalingState s) => state.Write(w =>
    {
        w.Put(States, Key(account, resourceId), JsonSerializer.Serialize(s, AutoScalingStoreJson.Default.ScalingState));
        return 0;
    });
}
