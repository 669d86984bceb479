using Strata.Server.Hosting;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Services.CloudWatch;
using Strata.Server.Services.SageMaker;
using Strata.Server.Storage;

namespace Strata.Server.Services.AutoScaling;

/// <summary>
/// Applies target-tracking policies: every evaluation period it reads each scalable variant's
/// metric over exactly that period from the metrics store (two readings of the series' totals),
/// decides with <see cref="TargetTracking"/> (the largest capacity any policy asks for), changes the
/// variant's instance count through the same path as UpdateEndpointWeightsAndCapacities, and
/// records every change as a scaling activity whose cause says why. It reaches hosting only
/// through <see cref="IVariantScaling"/>: a variant's desired instance count, read and set.
/// </summary>
public sealed class Scaler(AutoScalingStore store, SageMakerStore sageMaker, IVariantScaling variants, MetricsStore metrics, TimeProvider clock,
    TimeSpan period, ILogger<Scaler> log) : BackgroundService
{
    readonly Dictionary<(string Account, string ResourceId, string Policy), (long Count, double Sum, DateTimeOffset At)> _readings = [];

    /// <summary>One evaluation at a time: the periodic one and those a policy's alarm asks for.</summary>
    readonly SemaphoreSlim _gate = new(1, 1);

    public TimeSpan Period => period;

    /// <summary>Where a scale-out that reaches a target's maximum is put as AWS's "scaled to max"
    /// event (the account's default event bus).</summary>
    public IServiceEvents Events { get; init; } = NoServiceEvents.Instance;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(period, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // Off the timer's thread, ticks that fall due meanwhile counting once (see PeriodicService).
                await Task.Yield();
                try { await EvaluateAllAsync(stoppingToken); }
                catch (Exception e) when (e is not OperationCanceledException) { log.LogError(e, "autoscaling evaluation failed"); }
            }
        }
        catch (OperationCanceledException) { }
    }

    public async Task EvaluateAllAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            foreach (var (account, target) in store.AllTargets())
                await EvaluateAsync(account, target, ct);
        }
        finally { _gate.Release(); }
    }

    /// <summary>A policy's alarm invoked it (its action names the policy). A target-tracking policy's
    /// target is evaluated now, as Application Auto Scaling does when CloudWatch invokes the policy,
    /// rather than at the next period (an alarm that stays in ALARM adds nothing: the periods do).
    /// A step-scaling policy applies the step its alarm's datapoints fall in.</summary>
    public async Task ExecutePolicyAsync(string account, string policyArn, AlarmBreach breach, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var (target, policy) = store.AllTargets().Where(t => t.Account == account).Select(t => t.Target)
                .SelectMany(t => store.PoliciesOf(account, t.ResourceId).Where(p => p.PolicyARN == policyArn).Select(p => (t, p)))
                .FirstOrDefault();
            if (target is null || policy is null) throw new InvalidOperationException($"No scaling policy {policyArn} exists.");
            if (policy.StepScalingPolicyConfiguration is { } step) await StepAsync(account, target, policy, step, breach);
            else if (!breach.Repeated) await EvaluateAsync(account, target, ct);
        }
        finally { _gate.Release(); }
    }

    /// <summary>The variant's endpoint and current capacity, when it can scale now (its endpoint InService).</summary>
    (string Endpoint, string Variant, int Current)? Scalable(string account, ScalableTargetRow target)
    {
        var parts = target.ResourceId.Split('/');
        var (endpointName, variantName) = (parts[1], parts[3]);
        var desired = variants.DesiredInstanceCount(account, endpointName, variantName);
        return sageMaker.GetEndpoint(account, endpointName)?.EndpointStatus == "InService" && desired is { } current ? (endpointName, variantName, current) : null;
    }

    async Task StepAsync(string account, ScalableTargetRow target, ScalingPolicyRow policy, StepConfigRow step, AlarmBreach breach)
    {
        if (Scalable(account, target) is not (_, _, var current)) return;
        var now = clock.GetUtcNow();
        var state = store.GetState(account, target.ResourceId);
        var d = StepScaling.Evaluate(step, new StepInput(current, target.MinCapacity, target.MaxCapacity, breach.Threshold, breach.Datapoints, now,
            state.LastScaleOut, state.LastScaling, state.ScaleOutBase, breach.ComparisonOperator));
        await ApplyAsync(account, target, current, d with { Reason = $"monitor alarm {breach.AlarmName} in state ALARM triggered policy {policy.PolicyName}: {d.Reason}" },
            now, state, TimeSpan.FromSeconds(step.Cooldown ?? StepScaling.DefaultCooldownSeconds));
    }

    async Task EvaluateAsync(string account, ScalableTargetRow target, CancellationToken ct)
    {
        if (Scalable(account, target) is not var (endpointName, variantName, current)) return;
        var now = clock.GetUtcNow();
        var state = store.GetState(account, target.ResourceId);

        TrackingDecision? decision = null;
        var policies = store.PoliciesOf(account, target.ResourceId);
        foreach (var policy in policies)
        {
            // Step policies act when their alarms invoke them (ExecutePolicyAsync), not on the period.
            if (policy.TargetTrackingScalingPolicyConfiguration is not { } c) continue;
            if (Measure(account, endpointName, variantName, c, policy.PolicyName, now) is not { } metric) continue;
            var d = TargetTracking.Evaluate(new TrackingInput(current, target.MinCapacity, target.MaxCapacity, metric, c.TargetValue!.Value,
                TimeSpan.FromSeconds(c.ScaleOutCooldown ?? 300), TimeSpan.FromSeconds(c.ScaleInCooldown ?? 300), c.DisableScaleIn ?? false,
                now, state.LastScaleOut, state.LastScaling));
            d = d with { Reason = $"policy {policy.PolicyName}: {d.Reason}" };
            if (decision is null || d.Desired > decision.Desired) decision = d;
        }
        // Without a policy (or a metric yet), only the capacity bounds apply.
        if (decision is null && (current < target.MinCapacity || current > target.MaxCapacity))
            decision = new TrackingDecision(Math.Clamp(current, target.MinCapacity, target.MaxCapacity),
                $"capacity {current} is outside the registered bounds [{target.MinCapacity}, {target.MaxCapacity}]");
        if (decision is not null) await ApplyAsync(account, target, current, decision, now, state);
    }

    /// <summary>Sets the capacity a policy decided on (unless scaling that way is suspended), recording
    /// the scaling activity and, for a scale-out, the capacity it started from.</summary>
    /// <param name="cooldown">A step policy's cooldown: a scale-out within it of the last one keeps that one's starting capacity.</param>
    async Task ApplyAsync(string account, ScalableTargetRow target, int current, TrackingDecision decision, DateTimeOffset now, ScalingState state,
        TimeSpan? cooldown = null)
    {
        if (!decision.Changes(current)) return;
        var parts = target.ResourceId.Split('/');
        var (endpointName, variantName) = (parts[1], parts[3]);
        var suspended = target.SuspendedState;
        if (decision.Desired > current && suspended?.DynamicScalingOutSuspended == true) return;
        if (decision.Desired < current && suspended?.DynamicScalingInSuspended == true) return;

        var activity = new ScalingActivityRow
        {
            ActivityId = Guid.NewGuid().ToString(),
            ServiceNamespace = target.ServiceNamespace,
            ResourceId = target.ResourceId,
            ScalableDimension = target.ScalableDimension,
            Description = $"Setting desired instance count to {decision.Desired}.",
            Cause = $"At {now:yyyy-MM-ddTHH:mm:ssZ} {decision.Reason}",
            StartTime = now,
            StatusCode = "InProgress",
        };
        // Visible at once as InProgress; the same activity is rewritten with how it ended.
        store.AddActivity(account, activity);
        sageMaker.UpdateEndpoint(account, endpointName, e => e with { EndpointStatus = "Updating", LastModifiedTime = now });
        try
        {
            await variants.SetDesiredInstanceCountAsync(account, endpointName, variantName, decision.Desired);
            activity = activity with { StatusCode = "Successful", EndTime = clock.GetUtcNow(), StatusMessage = $"Successfully set desired instance count to {decision.Desired}. Change successfully fulfilled by sagemaker." };
            // A scale-out outside the cooldown of the one before it is counted from the capacity it started from.
            var coolingOut = cooldown is { } c && state.LastScaleOut is { } lastOut && state.ScaleOutBase is not null && now - lastOut < c;
            store.PutState(account, target.ResourceId, decision.Desired > current
                ? new ScalingState(now, now, coolingOut ? state.ScaleOutBase : current)
                : state with { LastScaling = now });
        }
        catch (Exception e) when (e is HostingException or OperationCanceledException)
        {
            sageMaker.UpdateEndpoint(account, endpointName, rec => rec with { EndpointStatus = "InService", LastModifiedTime = clock.GetUtcNow() });
            activity = activity with { StatusCode = "Failed", EndTime = clock.GetUtcNow(), StatusMessage = e.Message };
        }
        store.AddActivity(account, activity);
        if (ScalingEvents.ScaledToMax(account, target, activity, current, decision.Desired) is { } scaledToMax) Events.Put(scaledToMax);
        log.LogInformation("autoscaling {Resource}: {Description} {Cause}", target.ResourceId, activity.Description, activity.Cause);
    }

    /// <summary>The policy's metric over the time since the last reading: InvocationsPerInstance
    /// per minute for the predefined metric; a customized metric by its statistic. Null at the
    /// first reading.</summary>
    double? Measure(string account, string endpoint, string variant, TargetTrackingConfigRow c, string policyName, DateTimeOffset now)
    {
        string ns, name, statistic;
        List<KeyValuePair<string, string>> dimensions;
        if (c.CustomizedMetricSpecification is { } custom)
        {
            (ns, name, statistic) = (custom.Namespace!, custom.MetricName!, custom.Statistic!);
            dimensions = (custom.Dimensions ?? []).Select(d => new KeyValuePair<string, string>(d.Name ?? "", d.Value ?? "")).ToList();
        }
        else
        {
            (ns, name, statistic) = ("AWS/SageMaker", "InvocationsPerInstance", "Sum");
            dimensions = [new("EndpointName", endpoint), new("VariantName", variant)];
        }
        var (count, sum) = metrics.Totals(account, ns, name, dimensions);
        var key = (account, $"endpoint/{endpoint}/variant/{variant}", policyName);
        var first = !_readings.TryGetValue(key, out var before);
        _readings[key] = (count, sum, now);
        if (first) return null;
        var minutes = Math.Max((now - before.At).TotalMinutes, 1e-6);
        var (dCount, dSum) = (count - before.Count, sum - before.Sum);
        return statistic switch
        {
            "Average" => dCount == 0 ? 0 : dSum / dCount,
            "SampleCount" => dCount / minutes,
            "Minimum" or "Maximum" => metrics.Query(account, ns, name, dimensions, now.AddMinutes(-1), now) is { Count: > 0 } m
                ? statistic == "Minimum" ? m.Min(s => s.Minimum) : m.Max(s => s.Maximum) : 0,
            _ => dSum / minutes, // Sum, per minute (the unit SageMaker's metrics are tracked in)
        };
    }
}
