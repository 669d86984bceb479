using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Strata.Server.Jobs.Delivery;

namespace Strata.Server.Services.Events;

/// <summary>The target does not exist, or the rule's account may not use it: asking again will
/// not help, so the delivery fails at once (AWS does not retry such errors either).</summary>
public sealed class EventTargetUnavailable(string errorCode, string message) : Exception(message)
{
    public string ErrorCode { get; } = errorCode;
}

/// <summary>The target cannot take the event yet (an API destination over its rate): the delivery
/// waits <see cref="Wait"/> and is tried again without counting an attempt.</summary>
public sealed class EventTargetThrottled(TimeSpan wait, string message) : Exception(message)
{
    public TimeSpan Wait { get; } = wait;
}

/// <summary>
/// The other services EventBridge delivers to, as the composition root provides them: SNS topics
/// and CloudWatch Logs groups. A method throws <see cref="EventTargetUnavailable"/> for a target
/// that cannot take the event and any other exception for a failure worth retrying.
/// </summary>
public interface IEventTargets
{
    Task PublishAsync(string account, string topicArn, string message, CancellationToken ct);

    Task PutLogEventAsync(string account, string logGroupArn, string logStream, DateTimeOffset timestamp, string message, CancellationToken ct);

    /// <summary>Keeps the record of a delivery that failed for good (what AWS would send to a
    /// dead-letter queue) where the account can read it.</summary>
    void RecordFailedDelivery(string account, DateTimeOffset at, string record);
}

/// <summary>
/// Delivers what rules matched (<see cref="EventDeliveryRow"/>s) on the shared
/// <see cref="DeliveryLoop{T}"/>: each due delivery on its own task, so one failing target never
/// holds up another nor the request that put the event. A failed attempt is retried with
/// exponential backoff until the target's RetryPolicy runs out (MaximumRetryAttempts,
/// MaximumEventAgeInSeconds; by default 185 retries within 24 hours); a delivery that fails for
/// good counts in FailedInvocations and is recorded with AWS's dead-letter attributes.
/// </summary>
public sealed class EventsDeliveryService(EventsService events, EventsStore store, IEventTargets targets, TimeProvider clock, ILogger<EventsDeliveryService> log)
    : DeliveryLoop<EventDeliveryRow>(clock, log)
{
    /// <summary>How long one attempt may take before it counts as failed.</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(15);

    /// <summary>The longest wait between two attempts.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(10);

    /// <summary>AWS gives an API destination's endpoint 5 seconds to answer.</summary>
    public static readonly TimeSpan ApiDestinationTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The client API destinations' requests go through (a test may give its own handler).</summary>
    public HttpMessageInvoker Http { get; init; } = OutboundHttp.Create(DecompressionMethods.None);

    /// <summary>Each API destination's rate limit, by ARN: in memory, so a restart starts each
    /// bucket full (at most one second's burst more than the rate).</summary>
    readonly ConcurrentDictionary<string, TokenBucket> _buckets = new(StringComparer.Ordinal);

    protected override string What => "EventBridge deliveries";

    protected override IReadOnlyList<EventDeliveryRow> Next(int limit) => store.NextDeliveries(limit);

    protected override string IdOf(EventDeliveryRow row) => row.Id;

    protected override DateTimeOffset DueOf(EventDeliveryRow row) => row.DueAt;

    /// <summary>The wait before retry number <paramref name="retry"/> (1, 2, …): doubling from
    /// one second up to <see cref="MaxBackoff"/>, with jitter so that many deliveries failing
    /// together do not all come back at once.</summary>
    public static TimeSpan Backoff(int retry)
    {
        var seconds = Math.Min(Math.Pow(2, Math.Min(retry - 1, 20)), MaxBackoff.TotalSeconds);
        return TimeSpan.FromSeconds(seconds * (0.75 + Random.Shared.NextDouble() * 0.25));
    }

    protected override async Task AttemptAsync(EventDeliveryRow d, CancellationToken stopping)
    {
        string? errorCode = null, errorMessage = null;
        var retryable = false;
        using (var timeout = new CancellationTokenSource(AttemptTimeout, Clock))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stopping))
        {
            try
            {
                await SendAsync(d, linked.Token);
            }
            catch (EventTargetUnavailable e)
            {
                (errorCode, errorMessage) = (e.ErrorCode, e.Message);
            }
            catch (EventTargetThrottled e)
            {
                // Over the destination's rate: the event waits for its turn without using an
                // attempt, unless that would take it past its maximum age.
                var due = Clock.GetUtcNow() + e.Wait;
                if (due <= d.IngestedAt.AddSeconds(d.MaximumEventAgeInSeconds))
                {
                    store.Reschedule(d, d with { DueAt = due });
                    return;
                }
                (errorCode, errorMessage) = ("ThrottlingException", e.Message);
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                (errorCode, errorMessage, retryable) = (e is OperationCanceledException ? "Timeout" : "InternalError", e.Message, true);
            }
        }
        if (stopping.IsCancellationRequested) return;
        events.Count(d.Account, d.RuleArn, "Invocations", 1);
        if (errorCode is null)
        {
            Log.LogDebug("Event {EventId} delivered to {Target} (rule {Rule}, attempt {Attempt})", d.EventId, d.TargetArn, d.RuleArn, d.Attempts + 1);
            store.Reschedule(d, null);
            return;
        }
        var now = Clock.GetUtcNow();
        var retry = d.Attempts + 1;
        var next = now + Backoff(retry);
        if (retryable && retry <= d.MaximumRetryAttempts && next <= d.IngestedAt.AddSeconds(d.MaximumEventAgeInSeconds))
        {
            Log.LogInformation("Delivery of event {EventId} to {Target} failed (attempt {Attempt}): {Error}; retrying at {Next:O}", d.EventId, d.TargetArn, retry, errorMessage, next);
            store.Reschedule(d, d with { Attempts = retry, DueAt = next });
            return;
        }
        Log.LogWarning("EventBridge gave up delivering event {EventId} to {Target} (rule {Rule}) after {Attempts} attempts: {Code} {Error}",
            d.EventId, d.TargetArn, d.RuleArn, retry, errorCode, errorMessage);
        events.Count(d.Account, d.RuleArn, "FailedInvocations", 1);
        targets.RecordFailedDelivery(d.Account, now, FailureRecord(d, errorCode!, errorMessage!));
        store.Reschedule(d, null);
    }

    Task SendAsync(EventDeliveryRow d, CancellationToken ct)
    {
        if (d.TargetArn.StartsWith("arn:aws:sns:", StringComparison.Ordinal)) return targets.PublishAsync(d.Account, d.TargetArn, d.Payload, ct);
        if (d.TargetArn.StartsWith("arn:aws:logs:", StringComparison.Ordinal))
        {
            // AWS writes each event to a log stream named by the event's id, stamped with its time.
            var time = JsonNode.Parse(d.Payload) is JsonObject o && o["time"]?.GetValue<string>() is { } t && DateTimeOffset.TryParse(t, out var parsed) ? parsed : d.IngestedAt;
            return targets.PutLogEventAsync(d.Account, d.TargetArn, d.EventId, time, d.Payload, ct);
        }
        if (d.TargetArn.StartsWith("arn:aws:events:", StringComparison.Ordinal) && d.TargetArn.Contains(":api-destination/", StringComparison.Ordinal))
            return InvokeApiDestinationAsync(d, ct);
        if (d.TargetArn.StartsWith("arn:aws:events:", StringComparison.Ordinal))
        {
            events.Forward(d.Account, d.TargetArn, d.Payload, Clock.GetUtcNow(), d.Hops);
            return Task.CompletedTask;
        }
        throw new EventTargetUnavailable("InvalidTarget", $"Strata cannot deliver to {d.TargetArn}.");
    }

    /// <summary>One request to an API destination, within its rate limit and AWS's 5 seconds. A 2xx
    /// answer delivers the event; 401, 407, 409, 429, 5xx and no answer are retried; any other
    /// status fails the delivery for good, as AWS does.</summary>
    async Task InvokeApiDestinationAsync(EventDeliveryRow d, CancellationToken ct)
    {
        var (destination, connection) = events.ApiDestinationFor(d.Account, d.TargetArn);
        var now = Clock.GetUtcNow();
        var bucket = _buckets.AddOrUpdate(destination.Arn, _ => new TokenBucket(destination.InvocationRateLimitPerSecond, now),
            (_, b) => b.RatePerSecond == destination.InvocationRateLimitPerSecond ? b : new TokenBucket(destination.InvocationRateLimitPerSecond, now));
        if (!bucket.TryTake(now, out var wait))
            throw new EventTargetThrottled(wait, $"API destination {destination.Name} is over its rate of {destination.InvocationRateLimitPerSecond} invocations per second.");
        var target = store.TargetsOf(d.Account, RuleBus(d.RuleArn), RuleName(d.RuleArn)).FirstOrDefault(t => t.Id == d.TargetId);
        using var request = ApiDestinationRequest.Build(destination, connection, target?.HttpParameters, d.Payload);
        using var timeout = new CancellationTokenSource(ApiDestinationTimeout, Clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, ct);
        using var response = await Http.SendAsync(request, linked.Token);
        var status = (int)response.StatusCode;
        if (status is >= 200 and <= 299) return;
        var message = $"Unable to invoke ApiDestination endpoint: the endpoint answered {status} {response.ReasonPhrase}.";
        if (ApiDestinationRequest.IsRetryable(status)) throw new HttpRequestException(message, null, response.StatusCode);
        throw new EventTargetUnavailable("SDK_CLIENT_ERROR", message);
    }

    /// <summary>The bus and name of a rule from its ARN (rule/NAME on the default bus, rule/BUS/NAME on others).</summary>
    static string RuleBus(string ruleArn)
    {
        var path = ruleArn[(ruleArn.IndexOf(":rule/", StringComparison.Ordinal) + ":rule/".Length)..];
        return path.LastIndexOf('/') is var slash and > 0 ? path[..slash] : EventsService.DefaultBus;
    }

    static string RuleName(string ruleArn) => ruleArn[(ruleArn.LastIndexOf('/') + 1)..];

    /// <summary>What AWS attaches to an event it sends to a dead-letter queue, with the event.</summary>
    static string FailureRecord(EventDeliveryRow d, string errorCode, string errorMessage)
    {
        var record = new JsonObject
        {
            ["RULE_ARN"] = d.RuleArn,
            ["TARGET_ARN"] = d.TargetArn,
            ["ERROR_CODE"] = errorCode,
            ["ERROR_MESSAGE"] = errorMessage,
            ["RETRY_ATTEMPTS"] = d.Attempts,
            ["EVENT_ID"] = d.EventId,
        };
        try { record["message"] = JsonNode.Parse(d.Payload); }
        catch (JsonException) { record["message"] = d.Payload; }
        return record.ToJsonString();
    }
}
