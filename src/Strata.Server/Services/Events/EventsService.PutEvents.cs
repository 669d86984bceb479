using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Strata.Server.Jobs.Delivery;
using Strata.Server.Protocol;

namespace Strata.Server.Services.Events;

// PutEvents and the one path every event takes onto a bus: from PutEvents, from Strata's own
// services (IServiceEvents), from a rule whose target is another bus, and from schedules.
public sealed partial class EventsService : IServiceEvents
{
    /// <summary>AWS's limit on a PutEvents request's entries, counted as AWS counts them.</summary>
    public const int MaxPutEventsBytes = 256 * 1024;

    /// <summary>AWS's default retry policy: 185 retries within 24 hours.</summary>
    public const int DefaultMaximumRetryAttempts = 185, DefaultMaximumEventAgeInSeconds = 86_400;

    /// <summary>A rule may send an event on to another bus, and that bus's rules on again; an event
    /// that has crossed this many buses is not forwarded further, so that two buses whose rules
    /// target each other do not pass one event back and forth for ever.</summary>
    public const int MaxBusHops = 5;

    /// <summary>Called when deliveries were queued (the delivery loop looks at once).</summary>
    public Action? DeliveriesQueued { get; set; }

    /// <summary>Called when a rule changed (the scheduler recomputes its next times).</summary>
    public Action? RulesChanged { get; set; }

    /// <summary>Where rule metrics (AWS/Events TriggeredRules, Invocations, FailedInvocations) go.</summary>
    public Strata.Server.Storage.MetricsStore? Metrics { get; set; }

    public ILogger? Log { get; set; }

    /// <summary>Patterns parsed once per text: every event is matched against every rule of its bus.</summary>
    readonly ConcurrentDictionary<string, EventPattern> _patterns = new(StringComparer.Ordinal);

    EventPattern PatternOf(string text)
    {
        if (_patterns.TryGetValue(text, out var pattern)) return pattern;
        if (_patterns.Count > 10_000) _patterns.Clear();
        return _patterns[text] = EventPattern.Parse(text);
    }

    /// <summary>An event as EventBridge delivers it (<see cref="EventEnvelope"/>): the envelope's
    /// members in AWS's order, then the detail (a JSON object's text).</summary>
    public static string EventJson(string id, string detailType, string source, string account, DateTimeOffset time, string region, IEnumerable<string> resources, string detail)
    {
        using var parsed = JsonDocument.Parse(detail);
        var envelope = new EventEnvelope("0", id, detailType, source, account,
            time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture), region, [.. resources], parsed.RootElement);
        return JsonSerializer.Serialize(envelope, EventEnvelopeJson.Default.EventEnvelope);
    }

    // ---- PutEvents ----

    PutEventsResponse PutEvents(PutEventsRequest r, RequestContext ctx)
    {
        var account = ctx.Principal.AccountId;
        if (r.EndpointId is not null)
            throw EventsErrors.ValidationException("Global endpoints are not supported by Strata: put events without EndpointId.");
        if (r.Entries!.Sum(EntrySize) > MaxPutEventsBytes)
            throw EventsErrors.ValidationException("Total size of the entries in the request is over the limit.");
        // The request was authorized for its first entry's bus; every other bus it names is too
        // (another account's, named by its ARN, through that bus's policy).
        foreach (var busArn in r.Entries!.Select(e => EntryBusArn(account, e.EventBusName)).Distinct().Skip(1))
            ctx.Authorize("events:PutEvents", busArn);
        var now = clock.GetUtcNow();
        var results = new List<PutEventsResultEntry>();
        foreach (var entry in r.Entries!)
        {
            var (code, message) = Problem(entry);
            if (code is not null)
            {
                results.Add(new() { ErrorCode = code, ErrorMessage = message });
                continue;
            }
            var (owner, busName) = EntryBus(account, entry.EventBusName);
            if (store.GetBus(owner, busName) is null && busName != DefaultBus)
            {
                results.Add(new() { ErrorCode = "ResourceNotFoundException", ErrorMessage = $"Event bus {busName} does not exist." });
                continue;
            }
            var id = Guid.NewGuid().ToString();
            // The event's account is the sender's, on whichever account's bus it lands.
            var json = EventJson(id, entry.DetailType!, entry.Source!, account, entry.Time ?? now, region, entry.Resources ?? [], entry.Detail!);
            Ingest(owner, busName, json, now, hops: 0);
            results.Add(new() { EventId = id });
        }
        return new() { FailedEntryCount = results.Count(e => e.ErrorCode is not null), Entries = results };
    }

    /// <summary>An entry's size as AWS counts it toward the 256 KB limit.</summary>
    static int EntrySize(PutEventsRequestEntry e)
        => (e.Time is null ? 0 : 14) + Utf8(e.Source) + Utf8(e.DetailType) + Utf8(e.Detail) + (e.Resources ?? []).Sum(Utf8);

    static int Utf8(string? s) => s is null ? 0 : Encoding.UTF8.GetByteCount(s);

    /// <summary>Why AWS would refuse one entry (the rest of the request still goes in).</summary>
    static (string? Code, string? Message) Problem(PutEventsRequestEntry e)
    {
        if (string.IsNullOrEmpty(e.Source)) return ("InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument.");
        if (string.IsNullOrEmpty(e.DetailType)) return ("InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument.");
        if (string.IsNullOrEmpty(e.Detail)) return ("InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument.");
        // The aws. sources are AWS's own services' (Strata's, here): nobody may pose as them.
        if (e.Source.StartsWith("aws.", StringComparison.Ordinal)) return ("NotAuthorizedForSourceException", "Not authorized for the source.");
        try
        {
            using var detail = JsonDocument.Parse(e.Detail);
            if (detail.RootElement.ValueKind != JsonValueKind.Object) return ("MalformedDetail", "Detail is malformed.");
        }
        catch (JsonException) { return ("MalformedDetail", "Detail is malformed."); }
        return (null, null);
    }

    // ---- Strata's own events ----

    /// <summary>A service's event onto its account's default bus. Never throws: the change that
    /// caused the event has happened whatever becomes of it.</summary>
    public void Put(ServiceEvent e)
    {
        try
        {
            var json = EventJson(Guid.NewGuid().ToString(), e.DetailType, e.Source, e.Account, e.Time, region, e.Resources, e.Detail.ToJsonString());
            Ingest(e.Account, DefaultBus, json, clock.GetUtcNow(), hops: 0);
        }
        catch (Exception error)
        {
            Log?.LogError(error, "The {DetailType} event from {Source} could not be put on the default event bus", e.DetailType, e.Source);
        }
    }

    /// <summary>A rule's target is a bus: the event goes onto it as it is. Throws
    /// <see cref="EventTargetUnavailable"/> for a bus that does not exist, or that is another
    /// account's whose policy does not let the rule's account put events onto it.</summary>
    internal void Forward(string account, string busArn, string eventJson, DateTimeOffset now, int hops)
    {
        if (ParseBusArn(busArn) is not { } target)
            throw new EventTargetUnavailable("ResourceNotFoundException", $"Event bus {busArn} does not exist.");
        var (owner, busName) = target;
        var bus = store.GetBus(owner, busName);
        if (owner != account)
        {
            if (bus is null || !AllowsForward(account, bus, owner))
                throw new EventTargetUnavailable("AccessDeniedException", $"The policy of event bus {busArn} does not allow account {account} to put events onto it.");
        }
        else if (bus is null && busName != DefaultBus)
            throw new EventTargetUnavailable("ResourceNotFoundException", $"Event bus {busName} does not exist.");
        Ingest(owner, busName, eventJson, now, hops);
    }

    // ---- matching ----

    /// <summary>Matches an event against the enabled pattern rules of a bus and queues one delivery
    /// per target of each rule that matches, in one transaction.</summary>
    internal void Ingest(string account, string busName, string eventJson, DateTimeOffset ingested, int hops)
    {
        var deliveries = new List<EventDeliveryRow>();
        using (var document = JsonDocument.Parse(eventJson))
        {
            foreach (var rule in store.RulesOf(account, busName))
            {
                if (rule.State != "ENABLED" || rule.EventPattern is null) continue;
                bool matched;
                try { matched = PatternOf(rule.EventPattern).Matches(document.RootElement); }
                catch (InvalidEventPatternException) { continue; }
                if (matched) deliveries.AddRange(DeliveriesFor(account, rule, eventJson, ingested, hops));
            }
        }
        Queue(deliveries);
    }

    /// <summary>The deliveries of one event to a rule's targets (a matched pattern, or a schedule firing).</summary>
    internal List<EventDeliveryRow> DeliveriesFor(string account, RuleRow rule, string eventJson, DateTimeOffset ingested, int hops)
    {
        Count(account, rule, "TriggeredRules", 1);
        var eventId = JsonNode.Parse(eventJson)?["id"]?.GetValue<string>() ?? "";
        var deliveries = new List<EventDeliveryRow>();
        foreach (var t in store.TargetsOf(account, rule.EventBusName, rule.Name))
        {
            var toBus = t.Arn.StartsWith("arn:aws:events:", StringComparison.Ordinal) && t.Arn.Contains(":event-bus/", StringComparison.Ordinal);
            if (toBus && hops + 1 >= MaxBusHops)
            {
                Log?.LogWarning("Event {EventId} has crossed {Hops} event buses: rule {Rule} does not forward it to {Target}", eventId, hops + 1, rule.Arn, t.Arn);
                continue;
            }
            string payload;
            try
            {
                // An event forwarded to another bus travels as it is; other targets get what
                // their Input, InputPath or InputTransformer make of it.
                payload = toBus ? eventJson : EventInput.For(eventJson, t.Input, t.InputPath, t.InputPathsMap, t.InputTemplate, rule.Arn, rule.Name, ingested);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or InvalidEventInputException)
            {
                Log?.LogWarning("Rule {Rule} could not render the input of target {Target} for event {EventId}: {Error}", rule.Arn, t.Id, eventId, e.Message);
                Count(account, rule, "FailedInvocations", 1);
                continue;
            }
            deliveries.Add(new EventDeliveryRow
            {
                Id = Guid.NewGuid().ToString("N"),
                Account = account,
                EventId = eventId,
                RuleArn = rule.Arn,
                TargetId = t.Id,
                TargetArn = t.Arn,
                Payload = payload,
                IngestedAt = ingested,
                MaximumRetryAttempts = t.MaximumRetryAttempts ?? DefaultMaximumRetryAttempts,
                MaximumEventAgeInSeconds = t.MaximumEventAgeInSeconds ?? DefaultMaximumEventAgeInSeconds,
                Hops = hops + (toBus ? 1 : 0),
                DueAt = ingested,
            });
        }
        return deliveries;
    }

    internal void Queue(IReadOnlyCollection<EventDeliveryRow> deliveries)
    {
        if (deliveries.Count == 0) return;
        store.QueueDeliveries(deliveries);
        DeliveriesQueued?.Invoke();
    }

    /// <summary>Adds to one of AWS/Events' per-rule metrics.</summary>
    internal void Count(string account, RuleRow rule, string metric, double value)
        => Metrics?.Record(account, "AWS/Events", metric, "Count", value, ("RuleName", rule.Name));

    internal void Count(string account, string ruleArn, string metric, double value)
        => Metrics?.Record(account, "AWS/Events", metric, "Count", value, ("RuleName", ruleArn[(ruleArn.LastIndexOf('/') + 1)..]));
}

/// <summary>The event EventBridge hands to rules and targets. Not an API shape (the service
/// model has none for it), so its members are named here, in the order AWS writes them.</summary>
public sealed record EventEnvelope(
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("detail-type")] string DetailType,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("account")] string Account,
    [property: JsonPropertyName("time")] string Time,
    [property: JsonPropertyName("region")] string Region,
    [property: JsonPropertyName("resources")] List<string> Resources,
    [property: JsonPropertyName("detail")] JsonElement Detail);

[JsonSerializable(typeof(EventEnvelope))]
internal sealed partial class EventEnvelopeJson : JsonSerializerContext;
