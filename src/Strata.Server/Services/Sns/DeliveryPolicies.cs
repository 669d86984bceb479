using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Server.Protocol;

namespace Strata.Server.Services.Sns;

/// <summary>
/// HTTP/S delivery policies: what AWS accepts in a topic's and a subscription's DeliveryPolicy,
/// the effective policy it reports, and when each retry of a failed delivery is due. AWS's
/// default: 3 retries, 20 s apart (linear backoff between a 20 s minimum and maximum).
/// </summary>
public static class DeliveryPolicies
{
    public const string DefaultHealthyRetryPolicy =
        """{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"}""";

    static readonly string[] RetryKeys = ["minDelayTarget", "maxDelayTarget", "numRetries", "numMaxDelayRetries", "numNoDelayRetries", "numMinDelayRetries", "backoffFunction"];

    static AwsException Invalid(string reason) => SnsErrors.InvalidParameterException($"Invalid parameter: DeliveryPolicy: {reason}");

    static JsonObject ParseObject(string json)
    {
        try
        {
            return JsonNode.Parse(json) as JsonObject ?? throw Invalid("Delivery policy must be a JSON object");
        }
        catch (JsonException)
        {
            throw Invalid("Delivery policy must be valid JSON");
        }
    }

    /// <summary>A topic's: <c>{"http": {"defaultHealthyRetryPolicy": …, "disableSubscriptionOverrides": …, …}}</c>.</summary>
    public static void CheckTopicPolicy(string json)
    {
        var policy = ParseObject(json);
        foreach (var (key, value) in policy)
        {
            if (key != "http") throw Invalid($"Unsupported delivery protocol [{key}]; Strata delivers http and https");
            if (value is not JsonObject http) throw Invalid("http must be an object");
            foreach (var (name, v) in http)
                switch (name)
                {
                    case "defaultHealthyRetryPolicy": CheckRetryPolicy(v); break;
                    case "disableSubscriptionOverrides" when v?.GetValueKind() is JsonValueKind.True or JsonValueKind.False: break;
                    case "defaultThrottlePolicy" or "defaultRequestPolicy" or "defaultSicklyRetryPolicy": break;
                    default: throw Invalid($"Unknown http delivery policy key [{name}]");
                }
        }
    }

    /// <summary>A subscription's: <c>{"healthyRetryPolicy": …, "throttlePolicy": …, "requestPolicy": …}</c>.</summary>
    public static void CheckSubscriptionPolicy(string json)
    {
        foreach (var (name, v) in ParseObject(json))
            switch (name)
            {
                case "healthyRetryPolicy": CheckRetryPolicy(v); break;
                case "throttlePolicy" or "requestPolicy" or "sicklyRetryPolicy" or "guaranteed": break;
                default: throw Invalid($"Unknown delivery policy key [{name}]");
            }
    }

    static void CheckRetryPolicy(JsonNode? node)
    {
        if (node is not JsonObject policy) throw Invalid("healthyRetryPolicy must be an object");
        foreach (var (key, value) in policy)
        {
            if (!RetryKeys.Contains(key)) throw Invalid($"Unknown retry policy key [{key}]");
            if (key == "backoffFunction")
            {
                if (value?.GetValueKind() != JsonValueKind.String || value.GetValue<string>() is not ("linear" or "arithmetic" or "geometric" or "exponential"))
                    throw Invalid("backoffFunction must be one of linear, arithmetic, geometric, exponential");
            }
            else if (value?.GetValueKind() != JsonValueKind.Number || value.GetValue<double>() is < 0 or > 3600 || value.GetValue<double>() % 1 != 0)
                throw Invalid($"{key} must be a whole number from 0 to 3600");
        }
        var r = RetryPolicy.Of(policy);
        if (r.NumRetries > 100) throw Invalid("numRetries must be at most 100");
        if (r.MinDelay > r.MaxDelay) throw Invalid("minDelayTarget must be less than or equal to maxDelayTarget");
        if (r.NoDelay + r.MinDelayRetries + r.MaxDelayRetries > r.NumRetries)
            throw Invalid("numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries must not exceed numRetries");
    }

    public static string EffectiveTopicPolicy(string? topicPolicy)
    {
        var http = (topicPolicy is null ? null : JsonNode.Parse(topicPolicy)?["http"]?.DeepClone() as JsonObject) ?? [];
        var retry = http["defaultHealthyRetryPolicy"] as JsonObject;
        http["defaultHealthyRetryPolicy"] = Complete(retry);
        http["disableSubscriptionOverrides"] ??= false;
        http["defaultRequestPolicy"] ??= new JsonObject { ["headerContentType"] = "text/plain; charset=UTF-8" };
        return new JsonObject { ["http"] = http }.ToJsonString();
    }

    public static string EffectiveSubscriptionPolicy(string? subscriptionPolicy, string? topicPolicy)
    {
        var retry = JsonNode.Parse(RetryPolicyFor(subscriptionPolicy, topicPolicy));
        var sub = subscriptionPolicy is null ? null : JsonNode.Parse(subscriptionPolicy) as JsonObject;
        return new JsonObject
        {
            ["healthyRetryPolicy"] = retry,
            ["sicklyRetryPolicy"] = null,
            ["throttlePolicy"] = sub?["throttlePolicy"]?.DeepClone(),
            ["requestPolicy"] = sub?["requestPolicy"]?.DeepClone(),
            ["guaranteed"] = false,
        }.ToJsonString();
    }

    /// <summary>The retry policy a delivery follows: the subscription's (unless the topic
    /// disables overrides), else the topic's default, else AWS's; missing keys as AWS's default.</summary>
    public static string RetryPolicyFor(string? subscriptionPolicy, string? topicPolicy)
    {
        var topicHttp = topicPolicy is null ? null : JsonNode.Parse(topicPolicy)?["http"] as JsonObject;
        var overridesDisabled = topicHttp?["disableSubscriptionOverrides"]?.GetValueKind() == JsonValueKind.True;
        var fromSubscription = overridesDisabled || subscriptionPolicy is null ? null : JsonNode.Parse(subscriptionPolicy)?["healthyRetryPolicy"] as JsonObject;
        return Complete(fromSubscription ?? topicHttp?["defaultHealthyRetryPolicy"] as JsonObject).ToJsonString();
    }

    static JsonObject Complete(JsonObject? policy)
    {
        var result = JsonNode.Parse(DefaultHealthyRetryPolicy)!.AsObject();
        foreach (var (key, value) in policy ?? []) result[key] = value?.DeepClone();
        return result;
    }

    /// <summary>When retry number <paramref name="retry"/> (1-based) is due after a failure, or
    /// null when the policy's retries are spent. The phases are AWS's: immediate retries, retries
    /// at the minimum delay, a backoff phase from the minimum to the maximum, retries at the maximum.</summary>
    public static TimeSpan? RetryDelay(string? policyJson, int retry)
    {
        var p = RetryPolicy.Of(JsonNode.Parse(policyJson ?? DefaultHealthyRetryPolicy) as JsonObject ?? []);
        if (retry > p.NumRetries) return null;
        if (retry <= p.NoDelay) return TimeSpan.Zero;
        if (retry <= p.NoDelay + p.MinDelayRetries) return TimeSpan.FromSeconds(p.MinDelay);
        var backoffRetries = p.NumRetries - p.NoDelay - p.MinDelayRetries - p.MaxDelayRetries;
        var step = retry - p.NoDelay - p.MinDelayRetries;
        if (step > backoffRetries) return TimeSpan.FromSeconds(p.MaxDelay);
        if (backoffRetries <= 1 || p.MaxDelay == p.MinDelay) return TimeSpan.FromSeconds(p.MinDelay);
        var fraction = (step - 1) / (double)(backoffRetries - 1);
        var shaped = p.Backoff switch
        {
            "arithmetic" => fraction * fraction,
            "geometric" => Math.Pow(fraction, 3),
            "exponential" => (Math.Pow(2, fraction * 10) - 1) / 1023,
            _ => fraction,
        };
        return TimeSpan.FromSeconds(Math.Round(p.MinDelay + (p.MaxDelay - p.MinDelay) * shaped));
    }

    readonly record struct RetryPolicy(int MinDelay, int MaxDelay, int NumRetries, int MaxDelayRetries, int NoDelay, int MinDelayRetries, string Backoff)
    {
        public static RetryPolicy Of(JsonObject o)
        {
            int Int(string key, int fallback) => o[key] is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? (int)v.GetValue<double>() : fallback;
            return new(Int("minDelayTarget", 20), Int("maxDelayTarget", 20), Int("numRetries", 3), Int("numMaxDelayRetries", 0), Int("numNoDelayRetries", 0),
                Int("numMinDelayRetries", 0), o["backoffFunction"] is JsonValue b && b.GetValueKind() == JsonValueKind.String ? b.GetValue<string>() : "linear");
        }
    }
}
