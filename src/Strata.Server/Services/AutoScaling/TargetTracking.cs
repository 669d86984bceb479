namespace Strata.Server.Services.AutoScaling;

/// <summary>What one evaluation of a target-tracking policy sees.</summary>
public sealed record TrackingInput(
    int Current, int Min, int Max, double Metric, double Target,
    TimeSpan ScaleOutCooldown, TimeSpan ScaleInCooldown, bool DisableScaleIn,
    DateTimeOffset Now, DateTimeOffset? LastScaleOut, DateTimeOffset? LastScaling);

/// <summary>The decision: the capacity to set (equal to Current when nothing changes), and why.</summary>
public sealed record TrackingDecision(int Desired, string Reason)
{
    public bool Changes(int current) => Desired != current;
}

/// <summary>
/// Target tracking as Application Auto Scaling does it, pure so a test can drive it with any
/// clock: capacity proportional to how far the metric is from its target (ceil(current × metric
/// / target)), kept within [Min, Max]; a scale-out waits for ScaleOutCooldown after the last
/// scale-out, a scale-in for ScaleInCooldown after the last scaling of either kind, and never
/// happens with DisableScaleIn. A capacity outside [Min, Max] is brought to the nearest bound
/// regardless of the metric.
/// </summary>
public static class TargetTracking
{
    public static TrackingDecision Evaluate(TrackingInput i)
    {
        if (i.Current < i.Min) return new(i.Min, $"capacity {i.Current} is below the minimum {i.Min}");
        if (i.Current > i.Max) return new(i.Max, $"capacity {i.Current} is above the maximum {i.Max}");
        // From no instance (an asynchronous endpoint scaled to zero) proportion gives nothing: any
        // backlog asks for one instance, and the next evaluations take it from there.
        var wanted = i.Target <= 0 ? i.Current
            : i.Current == 0 ? (i.Metric > 0 ? 1 : 0)
            : (int)Math.Ceiling(Math.Round(i.Current * i.Metric / i.Target, 6));
        var desired = Math.Clamp(Math.Max(wanted, Math.Min(i.Min, 1)), i.Min, i.Max);
        var metric = $"metric {i.Metric:0.##} against target {i.Target:0.##}";
        if (desired > i.Current)
        {
            if (i.LastScaleOut is { } last && i.Now - last < i.ScaleOutCooldown)
                return new(i.Current, $"{metric} asks for {desired} but the scale-out cooldown ({i.ScaleOutCooldown.TotalSeconds:0} s) has {(i.ScaleOutCooldown - (i.Now - last)).TotalSeconds:0} s to go");
            return new(desired, $"{metric} is above it: {i.Current} → {desired} instances");
        }
        if (desired < i.Current)
        {
            if (i.DisableScaleIn) return new(i.Current, $"{metric} would allow {desired}, but scale-in is disabled");
            if (i.LastScaling is { } last && i.Now - last < i.ScaleInCooldown)
                return new(i.Current, $"{metric} would allow {desired} but the scale-in cooldown ({i.ScaleInCooldown.TotalSeconds:0} s) has {(i.ScaleInCooldown - (i.Now - last)).TotalSeconds:0} s to go");
            return new(desired, $"{metric} is below it: {i.Current} → {desired} instances");
        }
        return new(i.Current, $"{metric}: {i.Current} instances are right");
    }
}
