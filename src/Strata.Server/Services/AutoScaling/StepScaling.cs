using System.Globalization;

namespace Strata.Server.Services.AutoScaling;

/// <summary>One step of a step-scaling policy: the interval of (metric − threshold) it covers, and its adjustment.</summary>
public sealed record StepRow(double? MetricIntervalLowerBound, double? MetricIntervalUpperBound, int ScalingAdjustment);

/// <summary>A step-scaling policy's configuration as kept in the state store.</summary>
public sealed record StepConfigRow(string AdjustmentType, List<StepRow> StepAdjustments, int? MinAdjustmentMagnitude, int? Cooldown,
    string? MetricAggregationType);

/// <summary>What one invocation of a step-scaling policy sees: the capacity, its bounds, the alarm's
/// threshold and the datapoints that breached it, and when the target last scaled.</summary>
public sealed record StepInput(
    int Current, int Min, int Max, double Threshold, IReadOnlyList<double> Datapoints,
    DateTimeOffset Now, DateTimeOffset? LastScaleOut, DateTimeOffset? LastScaling, int? ScaleOutBase,
    string ComparisonOperator = "GreaterThanOrEqualToThreshold");

/// <summary>
/// Step scaling as Application Auto Scaling does it, pure so a test can drive it with any clock. A
/// CloudWatch alarm whose action names the policy invokes it with its datapoints; they are
/// aggregated (MetricAggregationType, Average by default) and the step whose interval holds
/// (aggregate − threshold) gives the adjustment: lower bound inclusive above the threshold,
/// upper bound inclusive below it. ChangeInCapacity adds, ExactCapacity sets, PercentChangeInCapacity
/// adds that percentage of the capacity, rounded as AWS rounds it (toward zero, but at least 1 either
/// way) and at least MinAdjustmentMagnitude. Within the Cooldown after a scale-out, a further scale-out
/// counts from the capacity before that one (what it added is part of the new one), and no scale-in
/// happens within the Cooldown after any scaling.
/// </summary>
public static class StepScaling
{
    public const int DefaultCooldownSeconds = 300;

    /// <summary>AWS's rules for a policy's steps; the message of the first one broken, or null.</summary>
    public static string? Refusal(StepConfigRow c)
    {
        if (c.StepAdjustments.Count == 0) return "StepAdjustments must contain at least one step adjustment.";
        if (c.StepAdjustments.Any(s => s.MetricIntervalLowerBound is null && s.MetricIntervalUpperBound is null))
            return "The upper and lower bound of a step adjustment cannot both be null.";
        if (c.StepAdjustments.Count(s => s.MetricIntervalLowerBound is null) > 1) return "At most one step adjustment can have a null lower bound.";
        if (c.StepAdjustments.Count(s => s.MetricIntervalUpperBound is null) > 1) return "At most one step adjustment can have a null upper bound.";
        foreach (var s in c.StepAdjustments)
            if (s.MetricIntervalLowerBound is { } lo && s.MetricIntervalUpperBound is { } hi && lo >= hi)
                return $"The lower bound ({Number(lo)}) of a step adjustment must be less than its upper bound ({Number(hi)}).";
        if (c.StepAdjustments.Any(s => s.MetricIntervalLowerBound < 0) && !c.StepAdjustments.Any(s => s.MetricIntervalLowerBound is null))
            return "A step adjustment has a negative lower bound, so one step adjustment must have a null lower bound.";
        if (c.StepAdjustments.Any(s => s.MetricIntervalUpperBound > 0) && !c.StepAdjustments.Any(s => s.MetricIntervalUpperBound is null))
            return "A step adjustment has a positive upper bound, so one step adjustment must have a null upper bound.";
        // In order of their lower bounds, each step must begin where the one before it ends.
        var ordered = c.StepAdjustments.OrderBy(s => s.MetricIntervalLowerBound ?? double.NegativeInfinity).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            var end = ordered[i - 1].MetricIntervalUpperBound ?? double.PositiveInfinity;
            var start = ordered[i].MetricIntervalLowerBound ?? double.NegativeInfinity;
            if (start < end) return "The step adjustments' intervals must not overlap.";
            if (start > end) return "The step adjustments' intervals must not have a gap between them.";
        }
        if (c.AdjustmentType == "ExactCapacity" && c.StepAdjustments.Any(s => s.ScalingAdjustment < 0))
            return "For ExactCapacity, the scaling adjustment must not be negative.";
        if (c.MinAdjustmentMagnitude is not null && c.AdjustmentType != "PercentChangeInCapacity")
            return "MinAdjustmentMagnitude may only be specified when AdjustmentType is PercentChangeInCapacity.";
        if (c.MinAdjustmentMagnitude is < 1) return "MinAdjustmentMagnitude must be at least 1.";
        if (c.Cooldown is < 0) return "Cooldown must not be negative.";
        return null;
    }

    public static TrackingDecision Evaluate(StepConfigRow c, StepInput i)
    {
        if (i.Datapoints.Count == 0) return new(i.Current, "the alarm gave no datapoint");
        var aggregate = c.MetricAggregationType switch
        {
            "Minimum" => i.Datapoints.Min(),
            "Maximum" => i.Datapoints.Max(),
            _ => i.Datapoints.Average(),
        };
        var delta = aggregate - i.Threshold;
        // Which bound is inclusive follows the side the alarm breaches on (metric ≥ threshold: the
        // lower; ≤: the upper), so a metric exactly at the threshold falls in the breaching step.
        var above = i.ComparisonOperator.StartsWith("Greater", StringComparison.Ordinal) ? delta >= 0 : delta > 0;
        var step = c.StepAdjustments.FirstOrDefault(s => above
            ? (s.MetricIntervalLowerBound ?? double.NegativeInfinity) <= delta && delta < (s.MetricIntervalUpperBound ?? double.PositiveInfinity)
            : (s.MetricIntervalLowerBound ?? double.NegativeInfinity) < delta && delta <= (s.MetricIntervalUpperBound ?? double.PositiveInfinity));
        var metric = $"metric {Number(aggregate)} against threshold {Number(i.Threshold)}";
        if (step is null) return new(i.Current, $"{metric}: no step adjustment covers a difference of {Number(delta)}");

        var cooldown = TimeSpan.FromSeconds(c.Cooldown ?? DefaultCooldownSeconds);
        var coolingOut = i.LastScaleOut is { } lastOut && i.Now - lastOut < cooldown;
        // What a scale-out in its cooldown counts from: the capacity before the scale-out that began it.
        // In long, clamped to the bounds: a huge adjustment never wraps around into a scale-in.
        int From(int capacity) => (int)Math.Clamp(c.AdjustmentType == "ExactCapacity" ? step.ScalingAdjustment : (long)capacity + Change(c, step.ScalingAdjustment, capacity),
            i.Min, i.Max);
        var desired = From(i.Current);
        if (desired > i.Current && coolingOut && i.ScaleOutBase is { } before)
        {
            var counted = From(before);
            if (counted <= i.Current)
                return new(i.Current, $"{metric}: the step asks for {counted} counting from {before} (the capacity before the scale-out whose cooldown runs), which {i.Current} instances already meet");
            desired = counted;
        }
        if (desired < i.Current && i.LastScaling is { } last && i.Now - last < cooldown)
            return new(i.Current, $"{metric} would allow {desired} but the cooldown ({cooldown.TotalSeconds:0} s) has {(cooldown - (i.Now - last)).TotalSeconds:0} s to go");
        if (desired == i.Current) return new(i.Current, $"{metric}: {i.Current} instances are right");
        return new(desired, $"{metric} is {(delta >= 0 ? "above" : "below")} it by {Number(Math.Abs(delta))}: {i.Current} → {desired} instances");
    }

    /// <summary>The change a step makes to <paramref name="capacity"/> (ChangeInCapacity, PercentChangeInCapacity).</summary>
    static long Change(StepConfigRow c, int adjustment, int capacity)
    {
        if (c.AdjustmentType != "PercentChangeInCapacity") return adjustment;
        var exact = (double)capacity * adjustment / 100.0;
        // AWS's rounding: toward zero, but a change between -1 and 1 (not 0) is one instance.
        var change = exact switch { > 0 and < 1 => 1L, < 0 and > -1 => -1L, _ => (long)Math.Clamp(Math.Truncate(exact), -1e12, 1e12) };
        if (c.MinAdjustmentMagnitude is { } least && change != 0 && Math.Abs(change) < least) change = Math.Sign(change) * least;
        return change;
    }

    static string Number(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
}
