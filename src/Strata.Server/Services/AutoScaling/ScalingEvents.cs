using System.Globalization;
using System.Text.Json.Nodes;
using Strata.Server.Jobs.Delivery;

namespace Strata.Server.Services.AutoScaling;

/// <summary>
/// What Application Auto Scaling puts on the default event bus about scaling activities. AWS
/// documents one event only ("Monitor Application Auto Scaling events using Amazon EventBridge":
/// "Only events that are specific to scaled to max … are currently available"): source
/// <c>aws.application-autoscaling</c>, detail-type "Application Auto Scaling Scaling Activity
/// State Change", sent when a scale-out brings a target to its maximum capacity, with no
/// resources and a detail naming the target, the capacities and the activity's times. Other
/// activities (scale-in, a scale-out that stays below the maximum, a failed one) send nothing.
/// </summary>
public static class ScalingEvents
{
    public const string Source = "aws.application-autoscaling";
    public const string ActivityStateChangeType = "Application Auto Scaling Scaling Activity State Change";

    /// <summary>The event of a successful activity that scaled <paramref name="target"/> out from
    /// <paramref name="oldCapacity"/> to its maximum capacity; null for any other activity.</summary>
    public static ServiceEvent? ScaledToMax(string account, ScalableTargetRow target, ScalingActivityRow activity, int oldCapacity, int newCapacity)
    {
        if (activity.StatusCode != "Successful" || newCapacity <= oldCapacity || newCapacity != target.MaxCapacity || activity.EndTime is not { } end) return null;
        var detail = new JsonObject
        {
            ["startTime"] = Time(activity.StartTime),
            ["endTime"] = Time(end),
            ["newDesiredCapacity"] = newCapacity,
            ["oldDesiredCapacity"] = oldCapacity,
            ["minCapacity"] = target.MinCapacity,
            ["maxCapacity"] = target.MaxCapacity,
            ["resourceId"] = target.ResourceId,
            ["scalableDimension"] = target.ScalableDimension,
            ["serviceNamespace"] = target.ServiceNamespace,
            ["statusCode"] = activity.StatusCode,
            ["scaledToMax"] = true,
            ["direction"] = "scale-out",
        };
        return new ServiceEvent(account, Source, ActivityStateChangeType, [], detail, end);
    }

    static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
