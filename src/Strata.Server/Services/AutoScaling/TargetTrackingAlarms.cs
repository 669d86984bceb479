namespace Strata.Server.Services.AutoScaling;

/// <summary>A CloudWatch alarm that a target-tracking policy owns: on one metric, one statistic,
/// one-minute periods, its action the policy.</summary>
public sealed record ScalingAlarm(string AlarmName, string AlarmDescription, string Namespace, string MetricName,
    IReadOnlyList<(string Name, string Value)> Dimensions, string Statistic, string? Unit, int EvaluationPeriods, double Threshold,
    string ComparisonOperator, string PolicyARN);

/// <summary>Where a policy's alarms are kept (the composition root plugs CloudWatch in).</summary>
public interface IScalingAlarms
{
    /// <summary>Creates or replaces the alarm; returns its ARN.</summary>
    string Put(string account, ScalingAlarm alarm);

    /// <summary>Deletes those of the alarms that still exist.</summary>
    void Delete(string account, IReadOnlyCollection<string> alarmNames);
}

/// <summary>
/// The two alarms Application Auto Scaling makes for a target-tracking policy, named and shaped as
/// AWS makes them: <c>TargetTracking-{resource}-AlarmHigh-{id}</c> (the metric above the target
/// for 3 one-minute periods: scale out) and <c>…-AlarmLow-{id}</c> (below 90 % of it for 15:
/// scale in; none when scale-in is disabled).
/// </summary>
public static class TargetTrackingAlarms
{
    public static IReadOnlyList<ScalingAlarm> For(ScalingPolicyRow policy, string id)
    {
        if (policy.TargetTrackingScalingPolicyConfiguration is not { } c) return [];
        var parts = policy.ResourceId.Split('/');
        string ns, name, statistic;
        string? unit = null;
        IReadOnlyList<(string, string)> dimensions;
        if (c.CustomizedMetricSpecification is { } custom)
        {
            (ns, name, statistic, unit) = (custom.Namespace!, custom.MetricName!, custom.Statistic!, custom.Unit);
            dimensions = (custom.Dimensions ?? []).Select(d => (d.Name ?? "", d.Value ?? "")).ToList();
        }
        else
        {
            (ns, name, statistic) = ("AWS/SageMaker", "InvocationsPerInstance", "Sum");
            dimensions = [("EndpointName", parts[1]), ("VariantName", parts[3])];
        }
        var description = $"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {policy.PolicyARN}.";
        var target = c.TargetValue!.Value;
        List<ScalingAlarm> alarms =
        [
            new($"TargetTracking-{policy.ResourceId}-AlarmHigh-{id}", description, ns, name, dimensions, statistic, unit, 3, target, "GreaterThanThreshold", policy.PolicyARN),
        ];
        if (c.DisableScaleIn != true)
            alarms.Add(new($"TargetTracking-{policy.ResourceId}-AlarmLow-{id}", description, ns, name, dimensions, statistic, unit, 15, Math.Round(target * 0.9, 6), "LessThanThreshold", policy.PolicyARN));
        return alarms;
    }
}
